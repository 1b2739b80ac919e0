"""Safety policies over plans and specs, with repair and fallback (see docs/terraform.md)."""

from terraform.safety.fallback import Attempt, SafetyReport, evaluate, revert
from terraform.safety.model import (
    STATEFUL_TYPES,
    Finding,
    SafetyConfig,
    policies,
    register_policy,
    run_policies,
    unregister_policy,
)

__all__ = ["STATEFUL_TYPES", "Attempt", "Finding", "SafetyConfig", "SafetyReport", "evaluate", "policies",
           "register_policy", "revert", "run_policies", "unregister_policy"]
