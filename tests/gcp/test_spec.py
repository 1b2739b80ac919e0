"""DeploymentSpec validation follows GCP's rules and names the field path and rule of each error."""

from __future__ import annotations

import copy

import pytest
import yaml

from gcp.errors import SpecError
from gcp.spec import DeploymentSpec, load_spec

EXAMPLES = ("web-app", "batch-pipeline", "ml-system")


@pytest.fixture()
def web(example_path) -> dict:
    return yaml.safe_load(example_path("web-app").read_text())


def _issues(data: dict) -> list:
    with pytest.raises(SpecError) as exc:
        DeploymentSpec.from_data(data)
    return exc.value.issues


def _only(data: dict, path: str, rule: str):
    issues = _issues(data)
    assert any(i.path == path and i.rule == rule for i in issues), issues
    return issues


@pytest.mark.parametrize("example", EXAMPLES)
def test_examples_are_valid_and_have_dependency_graphs(example, example_path):
    spec = load_spec(example_path(example))
    assert spec.dependencies and spec.services and spec.buckets and spec.databases


@pytest.mark.parametrize("example", EXAMPLES)
def test_json_and_yaml_round_trip(example, example_path):
    spec = load_spec(example_path(example))
    assert DeploymentSpec.from_json(spec.to_json()) == spec
    assert DeploymentSpec.from_yaml(spec.to_yaml()) == spec
    assert DeploymentSpec.from_json(spec.to_json()).to_json() == spec.to_json()


@pytest.mark.parametrize(
    "name",
    ["Frontend", "1api", "api-", "api_v2", "a" * 41, "api;rm -rf", "${var.x}", ""],
)
def test_bad_service_names(web, name):
    web["services"][0]["name"] = name
    _only(web, "services[0].name", "name.rfc1035")


@pytest.mark.parametrize(
    "name",
    ["ab", "Upper-case", "goog-assets", "my-google-bucket", "192.168.1.1", "-start", "end-", "a" * 64],
)
def test_bad_bucket_names(web, name):
    web["buckets"][0]["name"] = name
    _only(web, "buckets[0].name", "name.bucket")


def test_sql_instance_name_length_counts_the_project(web):
    web["databases"][0]["name"] = "d" + "b" * 85  # 86 + len("acme-shop-prod") + 1 > 98
    _only(web, "databases[0].name", "name.sql_instance")


def test_overlapping_cidrs(web):
    web["network"]["subnets"][1]["cidr"] = "10.10.8.0/24"
    issues = _only(web, "network.subnets[1].cidr", "cidr.overlap")
    assert "10.10.0.0/20" in str(issues[0])


@pytest.mark.parametrize("cidr", ["10.10.0.0/33", "10.10.0.1/20", "300.1.0.0/16", "10.0.0.0/30"])
def test_invalid_cidrs(web, cidr):
    web["network"]["subnets"][0]["cidr"] = cidr
    _only(web, "network.subnets[0].cidr", "cidr.invalid")


def test_unknown_machine_type(web):
    web["services"][1]["machine_type"] = "n9-mega-128"
    _only(web, "services[1].machine_type", "catalog.machine_type")


def test_unknown_sql_tier_and_storage_class(web):
    web["databases"][0]["tier"] = "db-custom-3-1"
    web["buckets"][0]["storage_class"] = "GLACIER"
    issues = _issues(web)
    assert {(i.path, i.rule) for i in issues} >= {
        ("databases[0].tier", "catalog.sql_tier"),
        ("buckets[0].storage_class", "catalog.storage_class"),
    }


def test_min_greater_than_max(web):
    web["services"][0]["replicas"] = {"min": 5, "target": 5, "max": 3}
    _only(web, "services[0].replicas", "replicas.order")


def test_target_outside_min_max(web):
    web["services"][0]["replicas"] = {"min": 2, "target": 11, "max": 10}
    _only(web, "services[0].replicas.target", "replicas.order")


def test_dangling_dependency(web):
    web["dependencies"].append({"source": "api", "target": "payments"})
    _only(web, f"dependencies[{len(web['dependencies']) - 1}].target", "dependency.dangling")


def test_dependency_cycle(web):
    web["dependencies"].append({"source": "shop-db", "target": "frontend"})
    issues = _only(web, f"dependencies[{len(web['dependencies']) - 1}]", "dependency.cycle")
    assert "frontend -> api -> shop-db -> frontend" in issues[0].message


def test_self_dependency(web):
    web["dependencies"].append({"source": "api", "target": "api"})
    _only(web, f"dependencies[{len(web['dependencies']) - 1}]", "dependency.cycle")


def test_duplicate_names_across_kinds(web):
    web["buckets"][0]["name"] = "frontend"
    _only(web, "buckets[0].name", "name.duplicate")


def test_load_balancer_backend_must_exist(web):
    web["network"]["load_balancer"]["backends"] = ["ghost"]
    _only(web, "network.load_balancer.backends[0]", "dependency.dangling")


def test_zone_outside_region(web):
    web["services"][0]["zones"] = ["us-central1-a", "europe-west1-b"]
    _only(web, "services[0].zones[1]", "zone.region")


def test_cpu_quota(web):
    web["quotas"] = {}
    _only(web, "services", "quota.cpus")  # 34 vCPUs running against the default 24


def test_public_access_prevention_is_always_enforced(web):
    web["buckets"][0]["public_access_prevention"] = "inherited"
    _only(web, "buckets[0].public_access_prevention", "schema.literal_error")


def test_unknown_fields_are_refused(web):
    web["services"][0]["provisioner"] = "local-exec"
    _only(web, "services[0].provisioner", "schema.extra_forbidden")


def test_bad_labels(web):
    web["labels"]["Team"] = "x"
    _only(web, "labels.Team", "name.label")


def test_every_issue_is_reported_at_once(web):
    broken = copy.deepcopy(web)
    broken["services"][0]["machine_type"] = "nope"
    broken["services"][1]["name"] = "Bad"
    assert len(_issues(broken)) >= 2


def test_syntax_errors_are_spec_errors():
    with pytest.raises(SpecError) as exc:
        DeploymentSpec.from_yaml("name: [unclosed")
    assert exc.value.issues[0].rule == "syntax.yaml"
    with pytest.raises(SpecError):
        DeploymentSpec.from_json("{")
