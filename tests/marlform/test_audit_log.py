"""The hash chain: verify passes on an honest log and names the entry after each kind of tampering."""

from __future__ import annotations

import sqlite3

import pytest

from marlform.audit import Entry


def fill(ws, n: int = 5) -> None:
    for i in range(n):
        with ws.store.transaction() as tx:
            tx.audit(Entry("decision", "agent:rules:test", "shop-web", value=float(i),
                           payload={"i": i}))


def raw(ws) -> sqlite3.Connection:
    """What an attacker with file access does: drop the append-only triggers first."""
    conn = sqlite3.connect(ws.home.db, isolation_level=None)
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute("DROP TRIGGER audit_no_delete")
    return conn


def test_honest_log_verifies(ws):
    fill(ws)
    report = ws.store.verify_audit()
    assert report.ok and report.entries == 5 and report.anchor_lag == 0


def test_triggers_refuse_update_and_delete(ws):
    fill(ws, 2)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        ws.store.conn.execute("UPDATE audit SET actor = 'user:mallory' WHERE seq = 1")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        ws.store.conn.execute("DELETE FROM audit WHERE seq = 1")


def test_edit_is_detected(ws):
    fill(ws)
    raw(ws).execute("UPDATE audit SET payload = '{\"i\":99}' WHERE seq = 3")
    report = ws.store.verify_audit()
    assert not report.ok
    assert any(p.startswith("entry 3: content does not match") for p in report.problems)


def test_edit_with_rehash_breaks_the_next_link(ws):
    from marlform.audit import entry_hash

    fill(ws)
    conn = raw(ws)
    conn.row_factory = sqlite3.Row
    row = dict(conn.execute("SELECT * FROM audit WHERE seq = 2").fetchone())
    row["actor"] = "user:mallory"
    conn.execute("UPDATE audit SET actor = ?, hash = ? WHERE seq = 2", (row["actor"], entry_hash(row)))
    report = ws.store.verify_audit()
    assert not report.ok and any(p.startswith("entry 3: previous-hash link") for p in report.problems)


def test_reorder_is_detected(ws):
    fill(ws)
    conn = raw(ws)
    conn.execute("UPDATE audit SET seq = 100 WHERE seq = 2")
    conn.execute("UPDATE audit SET seq = 2 WHERE seq = 4")
    conn.execute("UPDATE audit SET seq = 4 WHERE seq = 100")
    report = ws.store.verify_audit()
    assert not report.ok and any("link broken" in p for p in report.problems)


def test_delete_in_the_middle_is_detected(ws):
    fill(ws)
    raw(ws).execute("DELETE FROM audit WHERE seq = 3")
    report = ws.store.verify_audit()
    assert not report.ok and any("expected seq 3" in p for p in report.problems)


def test_truncating_the_tail_is_caught_by_the_anchor(ws):
    fill(ws)
    raw(ws).execute("DELETE FROM audit WHERE seq >= 4")
    report = ws.store.verify_audit()
    assert not report.ok and any("anchor records entry 5" in p for p in report.problems)


def test_missing_anchor_is_reported(ws):
    fill(ws, 2)
    ws.home.audit_anchor.unlink()
    assert not ws.store.verify_audit().ok
