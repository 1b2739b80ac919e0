"""Rendering: schema validity of every example, golden files, determinism, injection refusal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gcp.errors import MarlformError
from gcp.spec import DeploymentSpec, load_spec
from marlform.cli.main import app
from terraform.errors import SchemaError, TerraformInputError
from terraform.render import render, render_bytes, render_full, write_config
from terraform.schema import validate_google

GOLDEN = Path(__file__).parent / "golden"
EXAMPLES = ("web-app", "batch-pipeline", "ml-system")


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_validates_against_the_schema_facts(example_path, name):
    spec = load_spec(example_path(name))
    doc = render(spec, "google")  # raises SchemaError on any problem
    assert validate_google(doc) == []
    assert doc["terraform"]["required_providers"]["google"]["version"] == "6.50.0"
    render(spec, "aws")


@pytest.mark.parametrize("target", ["google", "aws"])
def test_web_app_matches_golden_file(example_path, target):
    data = render_bytes(load_spec(example_path("web-app")), target)
    golden = GOLDEN / f"web-app.{target}.tf.json"
    assert data == golden.read_bytes(), f"rendering changed; review and refresh {golden}"


def test_rendering_is_deterministic(example_path):
    spec = load_spec(example_path("ml-system"))
    again = DeploymentSpec.from_json(spec.to_json())
    assert render_bytes(spec) == render_bytes(again) == render_bytes(spec)


def test_google_rendering_has_the_required_shape(web):
    res = render(web)["resource"]
    tpl = res["google_compute_instance_template"]
    assert tpl["frontend"]["lifecycle"] == {"create_before_destroy": True}
    assert tpl["frontend"]["name_prefix"] == "frontend-tpl-"
    assert tpl["queue-worker-spot"]["scheduling"][0]["provisioning_model"] == "SPOT"
    assert tpl["queue-worker"]["scheduling"][0]["provisioning_model"] == "STANDARD"
    mig = res["google_compute_region_instance_group_manager"]["frontend"]
    assert mig["version"][0]["instance_template"] == "${google_compute_instance_template.frontend.id}"
    assert "target_size" not in mig  # an autoscaler owns the size
    assert res["google_compute_region_autoscaler"]["frontend"]["autoscaling_policy"][0]["min_replicas"] == 2
    assert res["google_compute_backend_service"]["shop-web"]["enable_cdn"] is True
    bucket = res["google_storage_bucket"]["acme-shop-static-assets"]
    assert bucket["public_access_prevention"] == "enforced" and bucket["uniform_bucket_level_access"]
    db = res["google_sql_database_instance"]
    assert db["shop-db"]["settings"][0]["availability_type"] == "REGIONAL"
    assert db["shop-db"]["deletion_protection"] and db["shop-db"]["settings"][0]["deletion_protection_enabled"]
    assert db["shop-db-replica-0"]["master_instance_name"] == "${google_sql_database_instance.shop-db.name}"
    assert bucket["labels"]["marlform-deployment"] == "shop-web"


def _mutate(doc: dict, rtype: str, name: str, fn) -> dict:
    doc = json.loads(json.dumps(doc))
    fn(doc["resource"][rtype][name])
    return doc


@pytest.mark.parametrize("rtype, name, edit, rule, path", [
    ("google_storage_bucket", "acme-shop-static-assets", lambda b: b.update(colour="red"),
     "schema.unknown_argument", "google_storage_bucket.acme-shop-static-assets.colour"),
    ("google_compute_firewall", "allow-internal", lambda b: b.pop("network"),
     "schema.required", "google_compute_firewall.allow-internal.network"),
    ("google_compute_region_autoscaler", "api", lambda b: b["autoscaling_policy"][0].update(max_replicas="ten"),
     "schema.type", "google_compute_region_autoscaler.api.autoscaling_policy[0].max_replicas"),
    ("google_sql_database_instance", "shop-db", lambda b: b["settings"][0].update(availability_type="GLOBAL"),
     "schema.enum", "google_sql_database_instance.shop-db.settings[0].availability_type"),
    ("google_compute_region_autoscaler", "api",
     lambda b: b["autoscaling_policy"][0]["cpu_utilization"][0].update(target=1.5),
     "schema.range", "google_compute_region_autoscaler.api.autoscaling_policy[0].cpu_utilization[0].target"),
    ("google_compute_network", "shop-vpc", lambda b: b.update(name="Shop_VPC"),
     "schema.pattern", "google_compute_network.shop-vpc.name"),
    ("google_compute_instance_template", "api", lambda b: b.pop("disk"),
     "schema.required", "google_compute_instance_template.api.disk"),
])
def test_schema_errors_name_address_and_path(web, rtype, name, edit, rule, path):
    issues = validate_google(_mutate(render(web), rtype, name, edit))
    assert [(i.rule, i.path) for i in issues] == [(rule, path)]


def hostile(web: DeploymentSpec, name: str) -> DeploymentSpec:
    """Bypass pydantic validation, as a buggy or hostile caller could."""
    svc = web.services[0].model_construct(**{**web.services[0].__dict__, "name": name})
    return web.model_construct(**{**web.__dict__, "services": [svc, *web.services[1:]]})


@pytest.mark.parametrize("name", ['x${file("/etc/passwd")}', "x%{ if true }y%{ endif }", 'a"}, "evil": {"x'])
def test_injection_is_refused_and_nothing_written(web, tmp_path, name):
    with pytest.raises(TerraformInputError):
        rendered = render_full(hostile(web, name))
        write_config(tmp_path, rendered)
    assert list(tmp_path.iterdir()) == []


def test_cli_refuses_injected_names_in_a_spec_file(tmp_path, example_path):
    text = example_path("web-app").read_text().replace("name: frontend", 'name: "fe${var.x}"', 1)
    spec_file = tmp_path / "evil.yaml"
    spec_file.write_text(text)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["tf", "render", str(spec_file), "--out", str(out)])
    # the console entry point maps MarlformError to exit 2 (tests/terraform/test_tf_cli.py runs it)
    assert isinstance(result.exception, MarlformError) and result.exception.exit_code == 2
    assert "services[0].name" in str(result.exception) and not out.exists()


def test_cli_render_writes_atomically_and_reports_json(tmp_path, example_path):
    result = CliRunner().invoke(app, ["tf", "render", str(example_path("batch-pipeline")), "--out",
                                      str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    written = json.loads((tmp_path / "main.tf.json").read_text())
    assert summary["resources"] == sum(len(v) for v in written["resource"].values())
    assert (tmp_path / "main.tf.json").read_bytes() == render_bytes(load_spec(example_path("batch-pipeline")))


def test_schema_error_is_raised_on_render(web, monkeypatch):
    import terraform.render as module

    monkeypatch.setattr(module, "validate_google", lambda doc: validate_google(
        _mutate(doc, "google_compute_network", "shop-vpc", lambda b: b.update(bogus=1))))
    with pytest.raises(SchemaError, match=r"google_compute_network\.shop-vpc\.bogus"):
        module.render(web)
