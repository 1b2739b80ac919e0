"""The plan model on plan JSON written by Terraform itself (fixtures from the moto lifecycle run,
Terraform 1.11.4, format_version 1.2) and on 0.x-shaped plans derived from them; preview shape."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from terraform.errors import TerraformInputError
from terraform.plan_model import Plan
from terraform.preview import preview_plan

FIXTURES = Path(__file__).parent / "fixtures"


def real(name: str) -> dict:
    return json.loads((FIXTURES / f"aws_{name}.plan.json").read_text())


def as_format_0(plan: dict) -> dict:
    """The documented 0.x shape (Terraform 0.12-0.15): no action_reason, relevant_attributes,
    timestamp, applyable/complete/errored."""
    old = copy.deepcopy(plan)
    old["format_version"] = "0.2"
    old["terraform_version"] = "0.15.5"
    for key in ("relevant_attributes", "timestamp", "applyable", "complete", "errored", "checks"):
        old.pop(key, None)
    for rc in old["resource_changes"]:
        rc.pop("action_reason", None)
        rc["change"].pop("replace_paths", None)
    return old


def test_real_plan_with_replace_and_update():
    plan = Plan.parse(real("replace"))
    assert plan.format_version == "1.2" and plan.terraform_version.startswith("1.")
    subnet = plan.by_address()["aws_subnet.shop-data-subnet"]
    assert subnet.actions == ("delete", "create") and subnet.action == "replace" and subnet.deletes
    assert subnet.action_reason == "replace_because_cannot_update"
    assert ["cidr_block"] in [list(p) for p in subnet.replace_paths]
    assert subnet.is_unknown("id")
    assert any(c.action == "update" for c in plan.changed())
    assert all(c.action == "no-op" for c in plan.changes if c not in plan.changed())


def test_real_plan_with_creates_and_sensitive_values():
    plan = Plan.parse(real("add"))
    created = {c.address for c in plan.changed() if c.action == "create"}
    assert {"aws_launch_template.reports", "aws_autoscaling_group.reports", "aws_s3_bucket.acme-shop-reports"} <= created
    db = plan.by_address()["aws_db_instance.shop-db"]
    assert db.before_sensitive.get("password") is True


def test_format_0_parses_the_same_changes():
    new, old = Plan.parse(real("replace")), Plan.parse(as_format_0(real("replace")))
    assert old.format_version == "0.2"
    assert old.action_pairs(include_noop=True) == new.action_pairs(include_noop=True)


def test_module_addresses_and_create_before_destroy_order():
    data = as_format_0(real("replace"))
    rc = next(r for r in data["resource_changes"] if r["address"] == "aws_subnet.shop-data-subnet")
    rc.update(address="module.net.aws_subnet.shop-data-subnet", module_address="module.net")
    rc["change"]["actions"] = ["create", "delete"]
    for res in data["prior_state"]["values"]["root_module"]["resources"]:
        if res["address"] == "aws_subnet.shop-data-subnet":
            res["address"] = "module.net.aws_subnet.shop-data-subnet"
    plan = Plan.parse(data)
    change = plan.by_address()["module.net.aws_subnet.shop-data-subnet"]
    assert change.module_address == "module.net" and change.action == "replace" and change.deletes


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.update(format_version="2.0"), "unsupported plan format_version 2.0"),
    (lambda d: d.update(format_version="banana"), "missing or malformed"),
    (lambda d: d["resource_changes"][0]["change"].update(actions=["explode"]), "invalid actions"),
    (lambda d: d["resource_changes"][0].update(address="aws_vpc.${evil}"), "malformed resource address"),
    (lambda d: d["resource_changes"].append({**d["resource_changes"][0], "address": "aws_vpc.ghost",
                                             "name": "ghost", "change": {"actions": ["update"]}}),
     "missing resource"),
])
def test_malformed_plans_are_refused(mutate, message):
    data = real("replace")
    mutate(data)
    with pytest.raises(TerraformInputError, match=message):
        Plan.parse(data)


def test_invalid_json_file_is_refused(tmp_path):
    bad = tmp_path / "plan.json"
    bad.write_text("{not json")
    with pytest.raises(TerraformInputError, match="not valid JSON"):
        Plan.load(bad)


def test_preview_has_the_plan_json_shape(web):
    data = preview_plan(web, web.model_copy(update={"labels": {**web.labels, "tier": "gold"}}))
    assert data["source"] == "preview"
    plan = Plan.parse(data)
    assert plan.source == "preview"
    assert {c.action for c in plan.changes} == {"update", "no-op", "replace"}
    # labels are ForceNew on immutable instance templates, in place everywhere else
    assert {c.type for c in plan.changes if c.action == "replace"} == {"google_compute_instance_template"}
    bucket = plan.by_address()["google_storage_bucket.acme-shop-static-assets"]
    assert bucket.action == "update" and bucket.after["labels"]["tier"] == "gold"
