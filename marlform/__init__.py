"""marlform: the CLI, the plan pipeline, rollout stages, approvals and the audit log."""

__version__ = "0.1.0"
