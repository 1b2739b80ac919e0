"""Where an approved plan lands: the simulator, or real infrastructure through Terraform.

- `SimTarget`: the deployment's state is the spec recorded in the store; applying
  sets it, and validation runs the simulator from the new spec over the plan's
  scenario and checks health (error rate, SLO violations) against the
  deployment's validation limits.
- `TerraformTarget`: applies the saved plan from the bundle in the deployment's
  Terraform folder; validation re-plans the spec and requires no changes (what
  exists matches what was planned); rollback plans and applies the previous spec.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gcp.spec import DeploymentSpec
from marlform.apply import Validation
from marlform.config import ValidationLimits
from marlform.planner import PLAN_FILE, render, runner
from marlform.store import Store


@dataclass
class SimTarget:
    store: Store
    deployment: str
    scenario: str
    limits: ValidationLimits
    seed: int = 0
    name: str = "simulator"

    def current_spec(self) -> DeploymentSpec:
        spec = self.store.deployment_spec(self.deployment)
        assert spec is not None, "a planned deployment is always recorded"
        return spec

    def apply(self, bundle: Path, after: DeploymentSpec, resume: bool) -> dict[str, Any]:
        with self.store.transaction() as tx:
            self.store.put_deployment(tx, after, safe=False)
        return {"simulator": "spec set", "resume": resume}

    def validate(self, spec: DeploymentSpec) -> Validation:
        from marlform.observe import health

        return health(spec, self.scenario, self.limits, self.seed)

    def restore(self, before: DeploymentSpec) -> dict[str, Any]:
        with self.store.transaction() as tx:
            self.store.put_deployment(tx, before, safe=True)
        return {"simulator": "previous spec restored"}


@dataclass
class TerraformTarget:
    store: Store
    deployment: str
    workdir: Path
    target: str  # google | aws
    name: str = "terraform"

    def current_spec(self) -> DeploymentSpec:
        spec = self.store.deployment_spec(self.deployment)
        assert spec is not None, "a planned deployment is always recorded"
        return spec

    def apply(self, bundle: Path, after: DeploymentSpec, resume: bool) -> dict[str, Any]:
        if resume:  # a crash mid-apply may have changed the state: converge on the spec instead
            return {"converged": self._converge(after)}
        saved = self.workdir / f"{PLAN_FILE}.approved"
        shutil.copyfile(bundle / PLAN_FILE, saved)
        runner(self.workdir).apply(saved.name)
        return {"applied": "saved plan from the bundle"}

    def validate(self, spec: DeploymentSpec) -> Validation:
        from terraform.render import write_config

        write_config(self.workdir, render(spec, self.target))
        tf = runner(self.workdir)
        changes = tf.plan(out="validate.tfplan")
        drift = []
        if changes:
            drift = [c["address"] for c in tf.show_json("validate.tfplan")["resource_changes"]
                     if c["change"]["actions"] not in (["no-op"], ["read"])]
        return Validation(not drift, [{"name": "matches-spec", "ok": not drift,
                                       "detail": drift or "a fresh plan shows no changes"}])

    def restore(self, before: DeploymentSpec) -> dict[str, Any]:
        return {"converged": self._converge(before)}

    def _converge(self, spec: DeploymentSpec) -> bool:
        from terraform.render import write_config

        write_config(self.workdir, render(spec, self.target))
        tf = runner(self.workdir)
        tf.init()
        changed = tf.plan(out=f"{PLAN_FILE}.converge")
        if changed:
            tf.apply(f"{PLAN_FILE}.converge")
        return changed


def target_for(ws, record, scenario: str | None = None):
    """The target a recorded plan applies to: Terraform when the bundle holds a saved plan,
    the simulator for simulator plans; a preview of a live project cannot be applied."""
    import json

    from marlform.errors import RefusedError

    bundle = ws.bundle_path(record.bundle_uri)
    try:
        request = json.loads((bundle / "request.json").read_text())
    except (OSError, ValueError):
        request = {}  # unreadable: the integrity check in apply refuses this bundle
    if (bundle / PLAN_FILE).exists():
        return TerraformTarget(ws.store, record.deployment, ws.home.terraform_dir(record.deployment),
                               request.get("target", "google"))
    if record.observe == "sim":
        return SimTarget(ws.store, record.deployment, scenario or request.get("scenario", "steady"),
                         ws.config(record.deployment).validation, int(request.get("seed", 0)))
    raise RefusedError(f"plan {record.id} is an offline preview of a live project; only a plan made "
                       "by real Terraform can be applied to it (make the plan where Terraform and "
                       "the provider are available)")
