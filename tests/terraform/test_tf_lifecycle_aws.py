"""The real Terraform lifecycle on the aws twin against a local moto server.

One `terraform init` (plugin cache shared), `plan -out`, `show -json`, `apply` of the saved plan,
then a second plan with no changes. Then a sequence of spec changes (scale, resize, class change,
add, remove, replace) is planned by Terraform from the applied state and by the offline preview
from the specs: the sets of (address, action) pairs must agree. Skips only where terraform or
the provider mirror is absent.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gcp.spec import DeploymentSpec
from terraform.plan_model import Plan
from terraform.preview import preview_plan
from terraform.render import render_full, write_config
from terraform.render_aws import AwsOptions
from terraform.runner import TerraformRunner

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]
#: Steps whose real plan JSON is kept as a fixture for the plan-model and `tf check` tests.
FIXTURE_STEPS = ("scale", "add", "remove", "replace")
PASSWORD = "marlform-test-password"  # a moto-only value; the real one comes from TF_VAR_...


def base_spec(web: DeploymentSpec) -> DeploymentSpec:
    """web-app trimmed to what a CI run can apply quickly: no read replica (a second RDS
    create would double the apply time), api half on spot (two ASGs)."""
    data = web.model_dump(mode="json")
    data["databases"][0]["read_replicas"] = 0
    data["services"] = [s for s in data["services"] if s["name"] in ("frontend", "api", "cache")]
    data["services"][1]["spot_fraction"] = 0.5
    data["dependencies"] = [d for d in data["dependencies"] if "queue-worker" not in (d["source"], d["target"])]
    return DeploymentSpec.from_data(data)


def _changes(spec: DeploymentSpec) -> dict[str, DeploymentSpec]:
    def edit(fn) -> DeploymentSpec:
        data = spec.model_dump(mode="json")
        fn(data)
        return DeploymentSpec.from_data(data)

    def scale(d):
        d["services"][0]["replicas"]["target"] = 5

    def resize(d):
        d["services"][1]["machine_type"] = "n2-standard-8"

    def class_change(d):
        d["databases"][0]["tier"] = "db-custom-8-30720"
        d["services"][2]["machine_type"] = "n2-highcpu-8"

    def add(d):
        d["services"].append({"name": "reports", "machine_type": "e2-standard-2",
                              "replicas": {"min": 1, "target": 1, "max": 2}})
        d["buckets"].append({"name": "acme-shop-reports", "versioning": True})

    def remove(d):
        d["services"] = [s for s in d["services"] if s["name"] != "cache"]
        d["dependencies"] = [e for e in d["dependencies"] if "cache" not in (e["source"], e["target"])]

    def replace(d):
        d["network"]["subnets"][1]["cidr"] = "10.10.32.0/20"

    return {f.__name__: edit(f) for f in (scale, resize, class_change, add, remove, replace)}


@pytest.fixture(scope="module")
def applied(terraform_and_mirror, moto_endpoint, tmp_path_factory, example_path):
    from gcp.spec import load_spec

    spec = base_spec(load_spec(example_path("web-app")))
    options = AwsOptions(endpoint=moto_endpoint)
    workdir = tmp_path_factory.mktemp("tf-aws")
    runner = TerraformRunner(workdir, plugin_mirror=terraform_and_mirror,
                             plugin_cache=tmp_path_factory.mktemp("plugin-cache"), timeout=300,
                             env={"TF_VAR_db_master_password": PASSWORD})
    write_config(workdir, render_full(spec, "aws", options))
    runner.init()
    assert runner.plan("tfplan") is True
    first = runner.show_json("tfplan")
    runner.apply("tfplan")
    return {"spec": spec, "options": options, "runner": runner, "workdir": workdir, "first": first}


def test_first_plan_matches_preview_and_apply_converges(applied):
    first = Plan.parse(applied["first"])
    assert first.format_version.startswith("1.")
    assert {c.action for c in first.changes} == {"create"}
    preview = Plan.parse(preview_plan(None, applied["spec"], "aws", applied["options"]))
    assert preview.source == "preview"
    assert preview.action_pairs() == first.action_pairs()
    # sensitive values are reported as such (the DB password variable)
    db = first.by_address()["aws_db_instance.shop-db"]
    assert db.after_sensitive.get("password") is True
    # the second plan after apply has nothing to do
    runner = applied["runner"]
    assert runner.plan("again.tfplan") is False
    again = Plan.parse(runner.show_json("again.tfplan"))
    assert again.changed() == [] and len(again.changes) == len(first.changes)


@pytest.mark.parametrize("step", ["scale", "resize", "class_change", "add", "remove", "replace"])
def test_preview_agrees_with_real_plan(applied, step):
    spec_after = _changes(applied["spec"])[step]
    runner, workdir = applied["runner"], applied["workdir"]
    write_config(workdir, render_full(spec_after, "aws", applied["options"]))
    try:
        runner.plan(f"{step}.tfplan", refresh=False)  # the state was just refreshed by the apply
        real_json = runner.show_json(f"{step}.tfplan")
    finally:
        write_config(workdir, render_full(applied["spec"], "aws", applied["options"]))
    real = Plan.parse(real_json)
    preview = Plan.parse(preview_plan(applied["spec"], spec_after, "aws", applied["options"]))
    assert real.changed(), f"{step}: the real plan has no changes"
    assert preview.action_pairs() == real.action_pairs(), step
    if os.environ.get("MARLFORM_REFRESH_FIXTURES") and step in FIXTURE_STEPS:
        out = Path(__file__).parent / "fixtures" / f"aws_{step}.plan.json"
        out.write_text(json.dumps(real_json, sort_keys=True, separators=(",", ":")) + "\n")
