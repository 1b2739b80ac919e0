"""Each stage's custom role covers every API method its code paths really call, and no more."""

from __future__ import annotations

import json

from gcpfakes import metrics

from gcp import iam, observe
from gcp.clients.compute import GroupRef
from gcp.clients.methods import METHODS
from gcp.gcp_backend import GcpBackend

#: What Google documents each method to need (IAM permissions reference), written out
#: independently of gcp.clients.methods so that a wrong registry entry fails here.
DOCUMENTED = {
    "compute.instanceGroupManagers.aggregatedList": "compute.instanceGroupManagers.list",
    "compute.instanceTemplates.aggregatedList": "compute.instanceTemplates.list",
    "compute.autoscalers.aggregatedList": "compute.autoscalers.list",
    "compute.subnetworks.aggregatedList": "compute.subnetworks.list",
    "compute.networks.list": "compute.networks.list",
    "compute.firewalls.list": "compute.firewalls.list",
    "compute.regionInstanceGroupManagers.resize": "compute.instanceGroupManagers.update",
    "compute.regionOperations.wait": "compute.regionOperations.get",
    "monitoring.projects.timeSeries.list": "monitoring.timeSeries.list",
    "storage.buckets.list": "storage.buckets.list",
    "sql.instances.list": "cloudsql.instances.list",
}
NOW = 1_750_000_000.0


def _recorded(cloud, since: int = 0) -> set[str]:
    return set(cloud.faults.calls[since:])


def test_every_called_method_is_covered_by_its_stage_role(cloud):
    metrics.seed(cloud.monitoring, cloud.spec, observe.step_ends(4, NOW))
    session = cloud.session()
    backend = GcpBackend(session, cloud.spec, steps=4)

    backend.raw_telemetry(now_s=NOW)  # the observe stage's code path
    observed = _recorded(cloud)
    mark = len(cloud.faults.calls)
    backend.validate()  # plan: inventory and drift
    planned = _recorded(cloud, mark)
    mark = len(cloud.faults.calls)
    session.compute.resize(GroupRef("api", region=cloud.spec.region), 4)  # apply
    applied = _recorded(cloud, mark)

    for stage, calls in (("observe", observed), ("plan", planned | observed), ("apply", applied)):
        role = set(iam.stage_permissions(stage))
        for method in calls:
            assert method in METHODS, f"{method} bypassed the method registry"
            assert METHODS[method].permission == DOCUMENTED[method]
            assert DOCUMENTED[method] in role, f"{stage} role lacks {DOCUMENTED[method]} for {method}"
    assert "monitoring.projects.timeSeries.list" in observed
    assert {"storage.buckets.list", "sql.instances.list"} <= planned


def test_roles_are_least_privilege_and_cumulative():
    observe_role = set(iam.stage_permissions("observe"))
    plan_role, apply_role = set(iam.stage_permissions("plan")), set(iam.stage_permissions("apply"))
    assert observe_role < plan_role < apply_role
    # observe reads only: Monitoring and Compute lists, nothing that changes anything
    assert all(p.startswith(("monitoring.", "compute.")) and p.endswith((".list", ".get")) for p in observe_role)
    assert not any(p.endswith((".create", ".delete", ".update", ".setIamPolicy")) for p in plan_role)
    assert "compute.instanceGroupManagers.update" in apply_role
    assert not any(p.endswith("setIamPolicy") or p.startswith("resourcemanager.") for p in apply_role)
    # every registry method is used by some stage, and every stage method is registered
    used = {m for s in iam.STAGES for m in iam.stage_methods(s)}
    assert used == set(METHODS)


def test_terraform_json_document():
    doc = iam.custom_role_terraform("apply", "acme-shop-prod")
    role = doc["resource"]["google_project_iam_custom_role"]["marlform_apply"]
    assert role["role_id"] == "marlform_apply" and role["project"] == "acme-shop-prod"
    assert role["permissions"] == sorted(set(role["permissions"]))
    assert role["permissions"] == iam.stage_permissions("apply")


def test_cli_iam_role_writes_the_file(tmp_path):
    out = tmp_path / "iam.tf.json"
    from typer.testing import CliRunner

    from marlform.cli.main import app

    result = CliRunner().invoke(app, ["gcp", "iam-role", "--stage", "plan", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["permissions"] == len(iam.stage_permissions("plan"))
    assert json.loads(out.read_text())["resource"]["google_project_iam_custom_role"]["marlform_plan"]


def test_terraform_table_covers_every_resource_type_the_renderer_emits(web_spec):
    import pytest

    render = pytest.importorskip("terraform.render")
    types = set(render.render(web_spec)["resource"])
    google = {t for t in types if t.startswith("google_")}
    assert google, types
    assert google <= set(iam.TERRAFORM_RESOURCES), google - set(iam.TERRAFORM_RESOURCES)
