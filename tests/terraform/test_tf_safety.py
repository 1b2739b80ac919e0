"""Safety policies: each rule alone, the repair/fallback chain, user policies, and a generated
corpus of risky changes (every one denied or repaired, none slips) and benign ones (false-deny
rate reported)."""

from __future__ import annotations

import json
import random

import pytest

from gcp.catalog import load_catalog
from gcp.pricing import price_spec
from gcp.spec import DeploymentSpec, load_spec
from terraform.plan_model import Plan
from terraform.preview import preview_plan
from terraform.safety import (
    SafetyConfig,
    evaluate,
    register_policy,
    run_policies,
    unregister_policy,
)
from terraform.safety.model import Finding

EXAMPLES = ("web-app", "batch-pipeline", "ml-system")


def half_load(spec: DeploymentSpec) -> dict[str, float]:
    """An observed load that keeps every service at 50 % CPU now."""
    cat = load_catalog()
    return {s.name: 0.5 * cat.machine_type(s.machine_type).vcpu * s.replicas.target * 1000 / s.cpu_ms_per_request
            for s in spec.services if s.replicas.target}


def edit(spec: DeploymentSpec, fn, validate: bool = True) -> DeploymentSpec:
    data = spec.model_dump(mode="json")
    fn(data)
    if validate:
        return DeploymentSpec.from_data(data)
    return DeploymentSpec.model_validate(data)  # field rules only: what a buggy agent could emit


def check(before: DeploymentSpec, after: DeploymentSpec, **config):
    cfg = SafetyConfig(load_rps=half_load(before), **config)
    report = evaluate(Plan.parse(preview_plan(before, after)), before, after, cfg)
    return report, cfg


# --------------------------------------------------------------------------- single rules
def test_deleting_a_database_is_denied_then_repaired(web):
    after = edit(web, lambda d: (d.update(databases=[]), d.update(
        dependencies=[e for e in d["dependencies"] if e["target"] != "shop-db"])))
    report, _ = check(web, after)
    assert {f.rule_id for f in report.findings if f.severity == "deny"} == {"stateful.destroy"}
    assert report.decision == "repaired"
    assert report.final_spec.databases == web.databases
    assert report.fallbacks[0]["reverted"] == ["database/shop-db"]
    json.dumps(report.to_dict())  # safety.json is plain JSON


def test_allowed_destroy_passes(web):
    after = edit(web, lambda d: d["buckets"][0].update(location="US"))
    report, _ = check(web, after, allow_destroy=frozenset({"google_storage_bucket.acme-shop-static-assets"}))
    assert report.decision == "accept"


def test_ssh_to_the_world_is_denied(web):
    after = edit(web, lambda d: d["network"]["firewall_rules"][2].update(source_ranges=["0.0.0.0/0"]))
    report, _ = check(web, after)
    deny = [f for f in report.findings if f.severity == "deny"]
    assert [(f.rule_id, f.address) for f in deny] == [
        ("security.world_admin_port", "google_compute_firewall.allow-iap-ssh")]
    assert report.decision == "repaired"


def test_change_rate_without_owner_falls_back_to_last_safe(web):
    def many(d):
        d["network"]["firewall_rules"] += [{"name": f"allow-extra-{i}", "protocol": "tcp", "ports": [str(8000 + i)],
                                            "source_ranges": ["10.10.0.0/16"]} for i in range(31)]
    report, _ = check(web, edit(web, many))
    assert report.decision == "fallback" and report.final_spec == web
    assert [fb["kind"] for fb in report.fallbacks] == ["drop_denied", "last_safe"]


def test_user_policy_can_be_registered(web):
    @register_policy("team.no_n1")
    def no_n1(plan, before, after, config):
        return [Finding("team.no_n1", "deny", f"service/{s.name}", "n1 is retired", owner=f"service/{s.name}")
                for s in (after.services if after else []) if s.machine_type.startswith("n1-")]

    try:
        after = edit(web, lambda d: d["services"][2].update(machine_type="n1-standard-2"))
        report, _ = check(web, after)
        assert ("team.no_n1", "deny") in {(f.rule_id, f.severity) for f in report.findings}
        assert report.decision == "repaired" and report.final_spec.services[2].machine_type == "e2-highmem-2"
    finally:
        unregister_policy("team.no_n1")


def test_plan_only_rules_work_without_specs(web):
    plan = Plan.parse(preview_plan(web, edit(web, lambda d: d["databases"][0].update(deletion_protection=False))))
    findings = run_policies(plan, None, None, SafetyConfig())
    assert {f.rule_id for f in findings if f.severity == "deny"} == {"security.deletion_protection"}


# --------------------------------------------------------------------------- corpus
def _risky(spec: DeploymentSpec, kind: str, rng: random.Random) -> DeploymentSpec:
    names = [s.name for s in spec.services]
    depended = sorted({d.target for d in spec.dependencies} & set(names)
                      | set(spec.network.load_balancer.backends if spec.network.load_balancer.enabled else []))
    cat = load_catalog()

    def f(d):
        if kind == "delete_db":
            d["databases"].pop(rng.randrange(len(d["databases"])))
            left = {x["name"] for x in d["databases"]}
            d["dependencies"] = [e for e in d["dependencies"]
                                 if e["target"] in left or e["target"] not in {x.name for x in spec.databases}]
        elif kind == "rename_db":
            db = d["databases"][0]
            db["name"] = f"{db['name']}-v{rng.randrange(2, 9)}"
            d["dependencies"] = [e for e in d["dependencies"] if e["target"] != spec.databases[0].name]
        elif kind == "db_protection_off":
            d["databases"][0]["deletion_protection"] = False
        elif kind == "admin_port_world":
            port = rng.choice([["22"], ["3389"], ["20-30"], ["3000-4000"], [], ["22", "443"]])
            d["network"]["firewall_rules"].append({"name": f"open-{rng.randrange(1000)}", "protocol":
                                                   rng.choice(["tcp", "all"]), "ports": port,
                                                   "source_ranges": ["0.0.0.0/0"]})
        elif kind == "depended_to_zero":
            pick = rng.choice(depended)
            svc = next(s for s in d["services"] if s["name"] == pick)
            svc["replicas"].update(min=0, target=0)
        elif kind == "scale_in_cliff":
            svc = rng.choice(d["services"])
            svc["replicas"].update(min=1, target=max(svc["replicas"]["target"], 4) + 4, max=40)
            d.update(budget_monthly_usd=1e6, quotas={**d["quotas"], "CPUS": 10000})
        elif kind == "budget_blow":
            svc = rng.choice(d["services"])
            svc["machine_type"] = rng.choice(["n2-standard-32", "c2-standard-60", "n2-highmem-16"])
            while price_spec(DeploymentSpec.model_validate(d)).total <= spec.budget_monthly_usd:
                svc["replicas"].update(target=svc["replicas"]["target"] + 1,
                                       max=max(svc["replicas"]["max"], svc["replicas"]["target"] + 1))
        elif kind == "quota_exceed":
            svc = rng.choice(d["services"])
            per_vm = cat.machine_type(svc["machine_type"]).vcpu
            target = int(spec.quota("CPUS") / per_vm) + rng.randrange(1, 5)
            svc["replicas"].update(target=target, max=max(target, svc["replicas"]["max"]))
        elif kind == "bucket_replace":
            d["buckets"][rng.randrange(len(d["buckets"]))]["location"] = rng.choice(["US", "EU", "ASIA"])
        elif kind == "bucket_delete":
            gone = d["buckets"].pop(rng.randrange(len(d["buckets"])))["name"]
            d["dependencies"] = [e for e in d["dependencies"] if gone not in (e["source"], e["target"])]
        elif kind == "cost_jump":
            for svc in d["services"]:
                svc["replicas"].update(target=svc["replicas"]["target"] * 2 + 1,
                                       max=max(svc["replicas"]["max"], svc["replicas"]["target"] * 2 + 1))
        elif kind == "overload":
            svc = next(s for s in d["services"] if s["name"] in half_load(spec) and s["replicas"]["target"] >= 2)
            svc["replicas"].update(min=1, target=1)
        elif kind == "dangling_dependency":
            d["dependencies"].append({"source": rng.choice(names), "target": f"ghost-{rng.randrange(100)}"})
        elif kind == "remove_depended_service":
            gone = rng.choice(depended)
            d["services"] = [s for s in d["services"] if s["name"] != gone]
        elif kind == "mass_change":
            d["network"]["firewall_rules"] += [{"name": f"bulk-{i}", "protocol": "tcp", "ports": [str(9000 + i)],
                                                "source_ranges": ["10.0.0.0/8"]} for i in range(32)]
    if kind == "scale_in_cliff":  # first grow, then the risky step is the cliff back to 1
        return edit(spec, f), "cliff"
    return edit(spec, f, validate=False), None


RISKY = ("delete_db", "rename_db", "db_protection_off", "admin_port_world", "depended_to_zero",
         "scale_in_cliff", "budget_blow", "quota_exceed", "bucket_replace", "bucket_delete", "cost_jump",
         "overload", "dangling_dependency", "remove_depended_service", "mass_change")


def risky_corpus(seed: int = 7, per_kind: int = 5):
    rng = random.Random(seed)
    for example in EXAMPLES:
        spec = load_spec(f"examples/{example}.yaml")
        for kind in RISKY:
            for variant in range(per_kind):
                after, mode = _risky(spec, kind, rng)
                if mode == "cliff":  # before = the grown spec, after = straight back down to 1 replica
                    grown = after
                    name = next(s.name for s in grown.services if s.replicas.target >= 8)
                    after = edit(grown, lambda d, n=name: next(
                        s for s in d["services"] if s["name"] == n)["replicas"].update(target=1))
                    yield f"{example}/{kind}/{variant}", grown, after
                else:
                    yield f"{example}/{kind}/{variant}", spec, after


def benign_corpus(seed: int = 11):
    rng = random.Random(seed)
    for example in EXAMPLES:
        spec = load_spec(f"examples/{example}.yaml")
        for variant in range(4):
            svc_i = rng.randrange(len(spec.services))
            edits = {
                "scale_out_one": lambda d, i=svc_i: d["services"][i]["replicas"].update(
                    target=d["services"][i]["replicas"]["target"] + 1,
                    max=max(d["services"][i]["replicas"]["max"], d["services"][i]["replicas"]["target"] + 1)),
                "label": lambda d, v=variant: d["labels"].update({"release": f"r{v}"}),
                "versioning": lambda d: d["buckets"][0].update(versioning=True),
                "lifecycle": lambda d, v=variant: d["buckets"][-1]["lifecycle_rules"].append(
                    {"action": "Delete", "age_days": 400 + v}),
                "autoscaler_target": lambda d, i=svc_i: d["services"][i].update(autoscaler_target_cpu=0.65),
                "db_disk": lambda d: d["databases"][0].update(disk_size_gb=d["databases"][0]["disk_size_gb"] + 10),
                "new_bucket": lambda d, v=variant, e=example: d["buckets"].append({"name": f"acme-new-{e}-{v}"}),
                "internal_rule": lambda d, v=variant: d["network"]["firewall_rules"].append(
                    {"name": f"allow-metrics-{v}", "protocol": "tcp", "ports": ["9100"],
                     "source_ranges": ["10.0.0.0/8"]}),
                "new_small_service": lambda d, v=variant: d["services"].append(
                    {"name": f"sidecar-{v}", "machine_type": "e2-small",
                     "replicas": {"min": 1, "target": 1, "max": 2}}),
                "scale_in_one": lambda d: next(
                    (s for s in d["services"] if s["replicas"]["target"] >= 3), d["services"][0])["replicas"].update(
                    target=max(next((s for s in d["services"] if s["replicas"]["target"] >= 3),
                                    d["services"][0])["replicas"]["target"] - 1, 1)),
                "spot_more": lambda d, i=svc_i: d["services"][i].update(
                    spot_fraction=min(1.0, d["services"][i]["spot_fraction"] + 0.25)),
                "ssh_from_iap": lambda d, v=variant: d["network"]["firewall_rules"].append(
                    {"name": f"iap-ssh-{v}", "protocol": "tcp", "ports": ["22"], "source_ranges": ["35.235.240.0/20"]}),
            }
            for kind, fn in edits.items():
                yield f"{example}/{kind}/{variant}", spec, edit(spec, fn)


def test_risky_corpus_is_always_denied_and_repaired(capsys):
    cases = list(risky_corpus())
    assert len(cases) >= 200
    slipped, outcomes = [], {}
    for case_id, before, after in cases:
        report, cfg = check(before, after)
        final = report.final_spec
        recheck = run_policies(Plan.parse(preview_plan(before, final)), before, final, cfg) if final else []
        if not report.denied or report.decision not in ("repaired", "fallback") or any(
                f.severity == "deny" for f in recheck):
            slipped.append((case_id, report.decision, [f.rule_id for f in report.findings]))
        outcomes[report.decision] = outcomes.get(report.decision, 0) + 1
    with capsys.disabled():
        print(f"\nsafety corpus: {len(cases)} risky changes, outcomes {outcomes}, slipped {len(slipped)}")
    assert slipped == []


def test_benign_changes_are_not_denied(capsys):
    cases = list(benign_corpus())
    denied = []
    for case_id, before, after in cases:
        report, _ = check(before, after)
        if report.denied:
            denied.append((case_id, [(f.rule_id, f.address) for f in report.findings if f.severity == "deny"]))
    rate = len(denied) / len(cases)
    with capsys.disabled():
        print(f"\nsafety corpus: {len(cases)} benign changes, {len(denied)} denied, false-deny rate {rate:.1%}")
        for case in denied:
            print("  false deny:", case)
    assert rate <= 0.05, denied


@pytest.mark.parametrize("kind", RISKY)
def test_each_risky_kind_is_denied_by_its_rule(kind):
    expected = {"delete_db": "stateful.destroy", "rename_db": "stateful.destroy",
                "db_protection_off": "security.deletion_protection", "admin_port_world": "security.world_admin_port",
                "depended_to_zero": "replicas.dependency_min", "scale_in_cliff": "scale.in_limit",
                "budget_blow": "cost.budget", "quota_exceed": "quota.regional", "bucket_replace": "stateful.destroy",
                "bucket_delete": "stateful.destroy", "cost_jump": "cost.delta", "overload": "slo.utilisation",
                "dangling_dependency": "dependency.validity", "remove_depended_service": "dependency.validity",
                "mass_change": "change.rate"}[kind]
    case_id, before, after = next(c for c in risky_corpus(per_kind=1) if c[0].split("/")[1] == kind)
    report, _ = check(before, after)
    assert expected in {f.rule_id for f in report.findings if f.severity == "deny"}, case_id
