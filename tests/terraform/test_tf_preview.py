"""The offline preview: create/update/delete/replace from the spec before and after."""

from __future__ import annotations

from gcp.spec import DeploymentSpec
from terraform.plan_model import Plan
from terraform.preview import force_new_rules, preview_plan


def edit(spec: DeploymentSpec, fn) -> DeploymentSpec:
    data = spec.model_dump(mode="json")
    fn(data)
    return DeploymentSpec.from_data(data)


def pairs(before, after, target="google") -> set[tuple[str, str]]:
    return Plan.parse(preview_plan(before, after, target)).action_pairs()


def test_no_change_is_all_no_op(web):
    assert pairs(web, web) == set()


def test_resize_replaces_the_template_create_before_destroy(web):
    after = edit(web, lambda d: d["services"][0].update(machine_type="n2-standard-8"))
    plan = Plan.parse(preview_plan(web, after))
    tpl = plan.by_address()["google_compute_instance_template.frontend"]
    assert tpl.actions == ("create", "delete")  # lifecycle.create_before_destroy
    assert plan.action_pairs() == {("google_compute_instance_template.frontend", "replace"),
                                   ("google_compute_region_instance_group_manager.frontend", "update")}


def test_bucket_location_forces_replace_destroy_first(web):
    after = edit(web, lambda d: d["buckets"][0].update(location="US"))
    change = Plan.parse(preview_plan(web, after)).by_address()["google_storage_bucket.acme-shop-static-assets"]
    assert change.actions == ("delete", "create") and change.replace_paths == (("location",),)


def test_add_and_remove(web):
    def grow(d):
        d["buckets"].append({"name": "acme-new-bucket"})
        d["services"] = [s for s in d["services"] if s["name"] != "cache"]
        d["dependencies"] = [e for e in d["dependencies"] if "cache" not in (e["source"], e["target"])]

    got = pairs(web, edit(web, grow))
    assert ("google_storage_bucket.acme-new-bucket", "create") in got
    assert {("google_compute_instance_template.cache", "delete"),
            ("google_compute_region_instance_group_manager.cache", "delete"),
            ("google_compute_region_autoscaler.cache", "delete")} <= got


def test_spot_split_adds_a_spot_group(web):
    after = edit(web, lambda d: d["services"][1].update(spot_fraction=0.5))
    assert {("google_compute_instance_template.api-spot", "create"),
            ("google_compute_region_instance_group_manager.api-spot", "create"),
            ("google_compute_region_autoscaler.api-spot", "create")} <= pairs(web, after)


def test_force_new_rules_come_from_the_vendored_facts():
    google = force_new_rules("google")
    assert "*" in google["google_compute_instance_template"]
    assert {"name", "location"} <= google["google_storage_bucket"]
    assert "cidr_block" in force_new_rules("aws")["aws_subnet"]
