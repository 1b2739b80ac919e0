"""Per-deployment rollout configuration: who approves, what needs approval, stages, limits.

A deployment's config lives in `$MARLFORM_HOME/config/<deployment>.yaml`; a
deployment without one gets the defaults below, which are deliberately
conservative (every plan needs one human approval; destructive or expensive
changes need two; new deployments start in the `approve` stage). Stages in the
file are only the *initial* stages: after that, stages move by audited,
approved promotion (`marlform stage promote`), never by editing the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gcp.errors import Issue
from marlform.errors import ConfigError

Stage = Literal["shadow", "recommend", "approve", "autonomous"]
STAGES: tuple[Stage, ...] = ("shadow", "recommend", "approve", "autonomous")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RuleCondition(_Model):
    """A rule matches when ANY condition that is set holds."""

    destructive: bool | None = None
    cost_delta_over_usd: float | None = Field(default=None, ge=0)
    warnings: bool | None = None


class ApprovalRule(_Model):
    name: str
    when: RuleCondition
    approvers: int = Field(ge=1, le=10)


class ApprovalPolicy(_Model):
    #: Who may approve or reject; empty means anyone who gives a name (fine for a demo only).
    approvers: list[str] = Field(default_factory=list)
    #: Distinct approvals every applied plan needs unless a rule asks for more.
    min_approvers: int = Field(default=1, ge=1, le=10)
    rules: list[ApprovalRule] = Field(
        default_factory=lambda: [
            ApprovalRule(
                name="destructive-or-expensive",
                when=RuleCondition(destructive=True, cost_delta_over_usd=500.0),
                approvers=2,
            )
        ]
    )


class StageConfig(_Model):
    #: Initial stage of the deployment and of services not listed below.
    default: Stage = "approve"
    services: dict[str, Stage] = Field(default_factory=dict)


class AutonomousLimits(_Model):
    """What 'low impact' means: only such plans apply themselves in the autonomous stage."""

    max_cost_delta_usd: float = Field(default=50.0, ge=0)
    allow_destructive: Literal[False] = False
    allow_warnings: bool = True


class PromotionEvidence(_Model):
    """Evidence needed before moving *into* a stage, counted over the current stage's plans."""

    min_plans: int = Field(default=5, ge=0)
    #: Shadow plans: mean agreement with what the current autoscaler did.
    min_agreement: float = Field(default=0.5, ge=0, le=1)
    #: Plans applied (approve stage) without a rollback.
    min_applied: int = Field(default=0, ge=0)
    max_rollbacks: int = Field(default=0, ge=0)
    #: Distinct approvers of the promotion itself (the requester never counts).
    approvers: int = Field(default=1, ge=1, le=10)


def _default_promotion() -> dict[str, PromotionEvidence]:
    return {
        "recommend": PromotionEvidence(min_plans=5, min_agreement=0.5),
        "approve": PromotionEvidence(min_plans=5, min_agreement=0.0),
        "autonomous": PromotionEvidence(min_plans=10, min_agreement=0.0, min_applied=5),
    }


class RateLimits(_Model):
    """Caps on agent decisions, counted from the audit log over a sliding hour."""

    plans_per_hour: int = Field(default=12, ge=1)
    autonomous_applies_per_hour: int = Field(default=4, ge=0)


class ValidationLimits(_Model):
    """What a healthy deployment looks like after an apply (on the simulator)."""

    steps: int = Field(default=12, ge=1, le=2016)
    max_error_rate: float = Field(default=0.02, ge=0, le=1)
    #: Share of steps where some service's p99 latency may exceed its SLO.
    max_slo_violation_share: float = Field(default=0.25, ge=0, le=1)


class TerraformConfig(_Model):
    """How plans are made: `google` (the real target) or `aws` (tests against moto)."""

    target: Literal["google", "aws"] = "google"
    #: Run real Terraform when the binary and provider are available; else the offline preview.
    real: bool = True


class DeploymentConfig(_Model):
    approval: ApprovalPolicy = Field(default_factory=ApprovalPolicy)
    stages: StageConfig = Field(default_factory=StageConfig)
    autonomous: AutonomousLimits = Field(default_factory=AutonomousLimits)
    promotion: dict[Stage, PromotionEvidence] = Field(default_factory=_default_promotion)
    rate_limits: RateLimits = Field(default_factory=RateLimits)
    validation: ValidationLimits = Field(default_factory=ValidationLimits)
    terraform: TerraformConfig = Field(default_factory=TerraformConfig)

    def evidence_for(self, stage: Stage) -> PromotionEvidence:
        return self.promotion.get(stage, PromotionEvidence())


def load_config(path: Path) -> DeploymentConfig:
    """Read a deployment config; a missing file means the defaults."""
    if not path.exists():
        return DeploymentConfig()
    source = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return DeploymentConfig.model_validate(data)
    except yaml.YAMLError as exc:
        raise ConfigError([Issue("", "syntax.yaml", f"not valid YAML: {exc}")], source) from None
    except ValidationError as exc:
        issues = [
            Issue(".".join(str(p) for p in e["loc"]), f"config.{e['type']}", e["msg"])
            for e in exc.errors(include_url=False)
        ]
        raise ConfigError(issues, source) from None
