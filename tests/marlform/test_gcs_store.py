"""Plan bundles in a GCS bucket (`--store gs://...`), against gcp-storage-emulator on 127.0.0.1."""

from __future__ import annotations

import socket

import pytest

from marlform.approvals import decide
from marlform.bundle import verify_bundle
from marlform.errors import RefusedError
from marlform.workspace import Workspace
from tests.marlform.conftest import record_plan

BUCKET = "marlform-plans"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gcs(monkeypatch):
    """A real emulator on loopback; the google-cloud-storage client finds it through the env."""
    from gcp_storage_emulator.server import create_server

    port = free_port()
    server = create_server("127.0.0.1", port, in_memory=True, default_bucket=BUCKET)
    server.start()
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{port}")
    yield f"gs://{BUCKET}/bundles"
    server.stop()


def bucket():
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    return storage.Client(project="t", credentials=AnonymousCredentials()).bucket(BUCKET)


def test_bundle_round_trips_through_the_bucket(home, gcs):
    ws = Workspace.open(home, store_url=gcs)
    plan = record_plan(ws)
    assert plan.bundle_uri == f"{gcs}/{plan.id}"
    names = sorted(b.name for b in bucket().list_blobs(prefix=f"bundles/{plan.id}/"))
    assert len(names) == 11 and f"bundles/{plan.id}/manifest.json" in names
    assert not any((ws.home.plans).glob(f"{plan.id}*"))  # nothing published locally
    assert verify_bundle(ws.bundle_path(plan.bundle_uri), plan.plan_hash) == []
    assert decide(ws, plan.id, "alice", "approve").satisfied


def test_a_file_changed_in_the_bucket_is_caught(home, gcs):
    ws = Workspace.open(home, store_url=gcs)
    plan = record_plan(ws)
    bucket().blob(f"bundles/{plan.id}/spec.after.json").upload_from_string(b"{}")
    with pytest.raises(RefusedError, match=r"spec\.after\.json changed"):
        decide(ws, plan.id, "alice", "approve")


def test_recovery_deletes_unfinished_uploads_and_sets_unrecorded_aside(home, gcs):
    ws = Workspace.open(home, store_url=gcs)
    kept = record_plan(ws)
    bucket().blob("bundles/half/summary.md").upload_from_string(b"# half")
    bucket().blob("bundles/whole/summary.md").upload_from_string(b"# whole")
    bucket().blob("bundles/whole/manifest.json").upload_from_string(b"{}")
    actions = Workspace.open(home, store_url=gcs).recover() or ws.store.audit_entries(
        kind="recovery")[-1]["payload"]["actions"]
    assert any("deleted unfinished bundle half" in a for a in actions)
    assert any("moved unrecorded bundle whole" in a for a in actions)
    left = sorted(b.name for b in bucket().list_blobs(prefix="bundles/"))
    assert "bundles/half/summary.md" not in left
    assert "bundles/.orphans/whole/manifest.json" in left
    assert f"bundles/{kept.id}/manifest.json" in left
