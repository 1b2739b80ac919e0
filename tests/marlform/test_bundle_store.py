"""Bundles: sealed by the manifest, published whole, and checked byte for byte."""

from __future__ import annotations

import json

from marlform.bundle import MANIFEST, ORPHANS, STAGING, stage_bundle, verify_bundle
from tests.marlform.conftest import record_plan


def test_recorded_bundle_verifies_against_its_hash(ws):
    plan = record_plan(ws)
    folder = ws.bundle_path(plan.bundle_uri)
    assert sorted(p.name for p in folder.iterdir())[:3] == ["actions.json", "explanation.md",
                                                            "main.tf.json"]
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["plan_hash"] == plan.plan_hash and len(manifest["files"]) == 10
    assert verify_bundle(folder, plan.plan_hash) == []
    assert not (ws.home.plans / STAGING / plan.id).exists()


def test_one_changed_byte_is_caught(ws):
    plan = record_plan(ws)
    folder = ws.bundle_path(plan.bundle_uri)
    path = folder / "spec.after.json"
    path.write_text(path.read_text().replace("\"target\": 4", "\"target\": 5", 1))
    problems = verify_bundle(folder, plan.plan_hash)
    assert len(problems) == 1 and problems[0].startswith("spec.after.json changed")


def test_a_rewritten_manifest_still_fails_against_the_recorded_hash(ws):
    from gcp.files import sha256_file as file_digest
    from marlform.bundle import plan_hash

    plan = record_plan(ws)
    folder = ws.bundle_path(plan.bundle_uri)
    (folder / "main.tf.json").write_text("{}\n")
    files = {p.name: file_digest(p) for p in folder.iterdir() if p.name != MANIFEST}
    (folder / MANIFEST).write_text(json.dumps({"files": files, "plan_hash": plan_hash(files)}))
    assert verify_bundle(folder) == []  # self-consistent forgery...
    assert any("differs from the one recorded" in p for p in verify_bundle(folder, plan.plan_hash))


def test_added_and_deleted_files_are_caught(ws):
    plan = record_plan(ws)
    folder = ws.bundle_path(plan.bundle_uri)
    (folder / "extra.sh").write_text("rm -rf /\n")
    (folder / "safety.json").unlink()
    problems = verify_bundle(folder, plan.plan_hash)
    assert "safety.json is missing" in problems and "extra.sh was added to the bundle" in problems


def test_recovery_removes_staging_and_sets_orphans_aside(ws):
    plan = record_plan(ws)
    stage_bundle(ws.home.plans, "half-written", {"summary.md": "x", **{
        n: {} for n in ("request.json", "observation.json", "actions.json", "spec.before.json",
                        "spec.after.json", "main.tf.json", "plan.json", "safety.json")},
        "explanation.md": "x"})
    unrecorded = ws.home.plans / "shop-web-unrecorded"
    (ws.home.plans / STAGING / "half-written").rename(unrecorded)
    stage_bundle(ws.home.plans, "still-staging", {n: "x" for n in (
        "summary.md", "request.json", "observation.json", "actions.json", "spec.before.json",
        "spec.after.json", "main.tf.json", "plan.json", "safety.json", "explanation.md")})
    actions = ws.recover()
    assert len(actions) == 2
    assert not (ws.home.plans / STAGING / "still-staging").exists()
    assert (ws.home.plans / ORPHANS / "shop-web-unrecorded").is_dir()
    assert (ws.home.plans / plan.id).is_dir()
    assert ws.store.audit_entries(kind="recovery")[-1]["payload"]["actions"] == actions
    assert ws.recover() == []
