"""Crash safety through the real CLI: a subprocess dies at each injected point (os._exit, like
SIGKILL); afterwards the database is intact, the audit chain verifies, no half-written bundle is
visible, and rerunning the same command finishes the job."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from marlform.bundle import STAGING, verify_bundle
from marlform.crashpoints import EXIT_CODE
from marlform.workspace import Workspace
from tests.marlform.conftest import record_plan

BIN = Path(sys.executable).parent / "marlform"


def cli(home: Path, *args: str, crash: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "MARLFORM_HOME": str(home), "COLUMNS": "200"}
    env.pop("MARLFORM_CRASH_AT", None)
    if crash:
        env["MARLFORM_CRASH_AT"] = crash
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, timeout=120, env=env)


def assert_consistent(home: Path) -> Workspace:
    """The invariants after any crash: DB ok, chain ok, bundles whole."""
    conn = sqlite3.connect(home / "marlform.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    ws = Workspace.open(home)  # opening recovers
    assert ws.store.verify_audit().ok, ws.store.verify_audit().problems
    assert not any((ws.home.plans / STAGING).glob("*"))
    for plan in ws.store.plans():
        assert verify_bundle(ws.bundle_path(plan.bundle_uri), plan.plan_hash) == []
    return ws


@pytest.mark.parametrize("point", ["approve.before_commit", "approve.committed",
                                   "audit.before_anchor"])
def test_crash_during_approve(home, point):
    ws = Workspace.open(home)
    plan = record_plan(ws)
    ws.close()
    out = cli(home, "approve", plan.id, "--by", "alice", crash=point)
    assert out.returncode == EXIT_CODE, out.stderr
    ws = assert_consistent(home)
    approvals = ws.store.approvals(plan.id)
    assert len(approvals) == (0 if point == "approve.before_commit" else 1)
    if point == "audit.before_anchor":
        assert ws.store.verify_audit().anchor_lag == 1  # behind, never ahead; still valid
    out = cli(home, "approve", plan.id, "--by", "alice", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["satisfied"] is True
    assert_consistent(home)


def test_audit_verify_cli_fails_on_an_edited_entry(home):
    ws = Workspace.open(home)
    record_plan(ws)
    assert cli(home, "audit", "verify").returncode == 0
    conn = sqlite3.connect(home / "marlform.db", isolation_level=None)
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute("UPDATE audit SET actor = 'user:mallory' WHERE seq = 1")
    out = cli(home, "audit", "verify", "--json")
    report = json.loads(out.stdout)
    assert out.returncode == 1 and not report["ok"]
    assert report["problems"][0].startswith("entry 1: content does not match")


def test_refusals_are_clean_messages_with_exit_5(home):
    ws = Workspace.open(home)
    plan = record_plan(ws)
    out = cli(home, "apply", plan.id)
    assert out.returncode == 5 and "not approved" in out.stderr and "Traceback" not in out.stderr
    out = cli(home, "apply", "no-such-plan")
    assert out.returncode == 2 and "no plan 'no-such-plan'" in out.stderr
