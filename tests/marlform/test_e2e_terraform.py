"""plan → approve → apply → validate through real Terraform on the aws target, against a local
moto server, with the aws provider from a filesystem mirror (no network).

The decision step uses a fixed proposal (scale `api` from 2 to 3 replicas) in place of a policy, so
this test pins down the Terraform half of the pipeline: real `plan -out`, safety, the sealed
bundle with its saved `tfplan`, approval, `apply` of exactly that saved plan, and validation
by a fresh plan that must show no changes.
"""

from __future__ import annotations

import pytest

from marlform.apply import apply_plan
from marlform.approvals import decide
from marlform.errors import RefusedError
from marlform.observe import Outcome
from marlform.pipeline import PlanRequest, run_plan
from marlform.targets import TerraformTarget, target_for
from marlform.workspace import Workspace
from tests.marlform.conftest import scaled, write_config

#: Small on purpose: moto answers fast for VPC, launch templates and auto scaling groups,
#: while S3 lifecycle polling and RDS replicas make a full example take minutes.
TINY = """
name: tiny-web
project: acme-tiny
budget_monthly_usd: 500
network:
  vpc_name: tiny-vpc
  subnets: [{name: tiny-subnet, cidr: 10.20.0.0/24}]
  load_balancer: {enabled: false}
services:
  - {name: api, machine_type: e2-standard-2, replicas: {min: 1, target: 2, max: 4}}
  - {name: web, machine_type: e2-standard-2, replicas: {min: 1, target: 4, max: 8}}
"""

@pytest.fixture
def moto(terraform_and_mirror, moto_endpoint, monkeypatch):
    monkeypatch.setenv("MARLFORM_AWS_ENDPOINT", moto_endpoint)
    monkeypatch.setenv("MARLFORM_TF_PLUGIN_MIRROR", str(terraform_and_mirror))
    monkeypatch.setenv("TF_VAR_db_master_password", "marlform-test-password")


def fixed_decision(before, scenario, policy, observe, seed, warmup, backend=None):
    after = scaled(before, "api", 3)
    return Outcome("fixed:api-to-3", after, [{"agent": "compute", "resource": "service/api",
                                              "action": "replicas 2 -> 3", "confidence": 1.0}],
                   {"note": "fixed proposal"})


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_plan_approve_apply_validate_through_terraform(home, moto, monkeypatch):
    import marlform.observe

    monkeypatch.setattr(marlform.observe, "decide", fixed_decision, raising=False)
    spec_file = home.parent / "tiny-web.yaml"
    spec_file.write_text(TINY)
    write_config(home, "tiny-web", {"approval": {"approvers": ["alice", "bob"]},
                                    "terraform": {"target": "aws"}})
    ws = Workspace.open(home)
    result = run_plan(ws, PlanRequest(spec_file))
    plan = result.record
    bundle = ws.bundle_path(plan.bundle_uri)
    assert result.exit_code == 3 and plan.outcome == "changes"
    assert (bundle / "tfplan").exists(), result.notes
    assert '"source": "terraform"' in (bundle / "plan.json").read_text()
    with pytest.raises(RefusedError, match="not approved"):
        apply_plan(ws, plan.id, target_for(ws, plan), "user:alice")
    decide(ws, plan.id, "alice", "approve")
    decide(ws, plan.id, "bob", "approve")
    target = target_for(ws, plan)
    assert isinstance(target, TerraformTarget)
    applied = apply_plan(ws, plan.id, target, "user:alice")
    assert applied["status"] == "applied" and applied["validation"]["ok"]
    assert ws.store.deployment_spec("tiny-web").service("api").replicas.target == 3
    assert ws.store.verify_audit().ok
