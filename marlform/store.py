"""The embedded database: plans, approvals, deployments, stages, controls and the audit log.

SQLite in WAL mode with `synchronous=FULL`: a killed process loses at most the
transaction it was in, never corrupts the file. Every state change goes
through `Store.transaction()` (BEGIN IMMEDIATE, so concurrent writers queue on
the busy timeout rather than fail), and writes its audit entries in that same
transaction. All SQL lives here so the rest of the package reads as rules.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from gcp.spec import DeploymentSpec
from marlform import audit
from marlform.crashpoints import crash_point
from marlform.errors import NotFoundError
from marlform.home import Home

SCHEMA = """
CREATE TABLE IF NOT EXISTS deployments (
    name TEXT PRIMARY KEY, spec TEXT NOT NULL, spec_hash TEXT NOT NULL,
    safe_spec TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS plans (
    id TEXT PRIMARY KEY, deployment TEXT NOT NULL, created_at TEXT NOT NULL,
    status TEXT NOT NULL, outcome TEXT NOT NULL, stage TEXT NOT NULL,
    plan_hash TEXT NOT NULL, before_hash TEXT NOT NULL, after_hash TEXT NOT NULL,
    policy_version TEXT NOT NULL, observe TEXT NOT NULL, bundle_uri TEXT NOT NULL,
    impact TEXT NOT NULL, shadow TEXT, updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS plans_by_deployment ON plans (deployment, created_at);
CREATE TABLE IF NOT EXISTS approvals (
    id INTEGER PRIMARY KEY, plan_id TEXT NOT NULL REFERENCES plans(id), approver TEXT NOT NULL,
    decision TEXT NOT NULL, comment TEXT, plan_hash TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stages (
    deployment TEXT NOT NULL, service TEXT NOT NULL, stage TEXT NOT NULL, updated_at TEXT NOT NULL,
    PRIMARY KEY (deployment, service));
CREATE TABLE IF NOT EXISTS promotions (
    id TEXT PRIMARY KEY, deployment TEXT NOT NULL, service TEXT NOT NULL,
    from_stage TEXT NOT NULL, to_stage TEXT NOT NULL, requested_by TEXT NOT NULL,
    evidence TEXT NOT NULL, status TEXT NOT NULL, approvers TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS controls (
    deployment TEXT PRIMARY KEY, paused INTEGER NOT NULL, by TEXT NOT NULL, reason TEXT,
    at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS overrides (
    deployment TEXT NOT NULL, path TEXT NOT NULL, value TEXT NOT NULL, by TEXT NOT NULL,
    reason TEXT, at TEXT NOT NULL, PRIMARY KEY (deployment, path));
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY, ts TEXT NOT NULL, actor TEXT NOT NULL, kind TEXT NOT NULL,
    deployment TEXT NOT NULL, plan_id TEXT, policy_version TEXT, action_hash TEXT, value REAL,
    exploration INTEGER NOT NULL, payload TEXT NOT NULL, prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_by_kind ON audit (deployment, kind, ts);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""

#: Plan statuses. `applying` survives a crash mid-apply; a rerun of apply resumes it.
PLAN_STATUSES = ("planned", "rejected", "applying", "applied", "rolled_back", "superseded")


def spec_hash(spec: DeploymentSpec) -> str:
    return audit.sha256(spec.to_json().encode())


@dataclass
class PlanRecord:
    id: str
    deployment: str
    created_at: str
    status: str
    outcome: str  # no_changes | changes | denied
    stage: str
    plan_hash: str
    before_hash: str
    after_hash: str
    policy_version: str
    observe: str
    bundle_uri: str
    impact: dict[str, Any]
    shadow: dict[str, Any] | None = None
    updated_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Approval:
    approver: str
    decision: str  # approve | reject
    comment: str | None
    plan_hash: str
    at: str


@dataclass
class Tx:
    """An open transaction: SQL plus audit appends that share its fate."""

    conn: sqlite3.Connection
    anchor: tuple[int, str] | None = field(default=None)

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    def audit(self, entry: audit.Entry) -> int:
        self.anchor = audit.append(self.conn, entry)
        return self.anchor[0]


class Store:
    def __init__(self, home: Home):
        self.home = home
        self.conn = sqlite3.connect(home.db, isolation_level=None, timeout=30.0)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.conn.executescript(SCHEMA)

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        tx = Tx(self.conn)
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield tx
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")
        if tx.anchor:
            crash_point("audit.before_anchor")
            audit.write_anchor(self.home.audit_anchor, *tx.anchor)

    def integrity_ok(self) -> bool:
        return self.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    # deployments -----------------------------------------------------------
    def deployment_spec(self, name: str) -> DeploymentSpec | None:
        row = self.conn.execute("SELECT spec FROM deployments WHERE name = ?", (name,)).fetchone()
        return DeploymentSpec.from_json(row["spec"], f"store:{name}") if row else None

    def safe_spec(self, name: str) -> DeploymentSpec | None:
        row = self.conn.execute("SELECT safe_spec FROM deployments WHERE name = ?", (name,)).fetchone()
        return DeploymentSpec.from_json(row["safe_spec"], f"store:{name}:safe") if row else None

    def put_deployment(self, tx: Tx, spec: DeploymentSpec, safe: bool = True) -> None:
        """Record what is deployed now; `safe` also makes it the last known safe spec."""
        text = spec.to_json()
        tx.execute(
            "INSERT INTO deployments (name, spec, spec_hash, safe_spec, updated_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET spec = excluded.spec, "
            "spec_hash = excluded.spec_hash, updated_at = excluded.updated_at"
            + (", safe_spec = excluded.safe_spec" if safe else ""),
            (spec.name, text, spec_hash(spec), text, audit.now()),
        )

    # plans -------------------------------------------------------------------
    def insert_plan(self, tx: Tx, plan: PlanRecord) -> None:
        data = plan.to_dict()
        data["impact"] = json.dumps(plan.impact, sort_keys=True)
        data["shadow"] = json.dumps(plan.shadow, sort_keys=True) if plan.shadow else None
        data["updated_at"] = plan.created_at
        tx.execute(
            f"INSERT INTO plans ({', '.join(data)}) VALUES ({', '.join('?' * len(data))})",
            list(data.values()),
        )

    def plan(self, plan_id: str) -> PlanRecord:
        row = self.conn.execute("SELECT * FROM plans WHERE id = ?", (plan_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no plan {plan_id!r} in {self.home.db} (see `marlform plans list`)")
        return _plan(row)

    def plans(self, deployment: str | None = None, limit: int = 50) -> list[PlanRecord]:
        sql, args = "SELECT * FROM plans", []
        if deployment:
            sql, args = sql + " WHERE deployment = ?", [deployment]
        rows = self.conn.execute(sql + " ORDER BY created_at DESC LIMIT ?", [*args, limit])
        return [_plan(r) for r in rows]

    def set_plan_status(self, tx: Tx, plan_id: str, status: str) -> None:
        assert status in PLAN_STATUSES, status
        tx.execute("UPDATE plans SET status = ?, updated_at = ? WHERE id = ?",
                   (status, audit.now(), plan_id))

    # approvals -------------------------------------------------------------
    def add_approval(self, tx: Tx, plan_id: str, approval: Approval) -> None:
        tx.execute(
            "INSERT INTO approvals (plan_id, approver, decision, comment, plan_hash, at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (plan_id, approval.approver, approval.decision, approval.comment, approval.plan_hash,
             approval.at),
        )

    def approvals(self, plan_id: str) -> list[Approval]:
        rows = self.conn.execute(
            "SELECT approver, decision, comment, plan_hash, at FROM approvals WHERE plan_id = ? "
            "ORDER BY id", (plan_id,))
        return [Approval(**dict(r)) for r in rows]

    # stages ------------------------------------------------------------------
    def stages(self, deployment: str) -> dict[str, str]:
        """Stage per service; the key "*" is the deployment's own stage."""
        rows = self.conn.execute("SELECT service, stage FROM stages WHERE deployment = ?",
                                 (deployment,))
        return {r["service"]: r["stage"] for r in rows}

    def set_stage(self, tx: Tx, deployment: str, service: str, stage: str) -> None:
        tx.execute(
            "INSERT INTO stages (deployment, service, stage, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(deployment, service) DO UPDATE SET stage = excluded.stage, "
            "updated_at = excluded.updated_at",
            (deployment, service, stage, audit.now()),
        )

    def insert_promotion(self, tx: Tx, row: dict[str, Any]) -> None:
        row = {**row, "evidence": json.dumps(row["evidence"], sort_keys=True),
               "approvers": json.dumps(row["approvers"])}
        tx.execute(f"INSERT INTO promotions ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                   list(row.values()))

    def promotion(self, promotion_id: str) -> dict[str, Any]:
        row = self.conn.execute("SELECT * FROM promotions WHERE id = ?", (promotion_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no promotion request {promotion_id!r}")
        return {**dict(row), "evidence": json.loads(row["evidence"]),
                "approvers": json.loads(row["approvers"])}

    def promotions(self, deployment: str) -> list[dict[str, Any]]:
        ids = self.conn.execute("SELECT id FROM promotions WHERE deployment = ? ORDER BY at",
                                (deployment,))
        return [self.promotion(r["id"]) for r in ids]

    def update_promotion(self, tx: Tx, promotion_id: str, status: str, approvers: list[str]) -> None:
        tx.execute("UPDATE promotions SET status = ?, approvers = ? WHERE id = ?",
                   (status, json.dumps(approvers), promotion_id))

    # controls ----------------------------------------------------------------
    def pause_state(self, deployment: str) -> dict[str, Any] | None:
        """The pause in force for this deployment, or the global one ("*"), or None."""
        row = self.conn.execute(
            "SELECT * FROM controls WHERE deployment IN (?, '*') AND paused = 1 "
            "ORDER BY deployment = '*' DESC LIMIT 1", (deployment,)).fetchone()
        return dict(row) if row else None

    def set_paused(self, tx: Tx, deployment: str, paused: bool, by: str, reason: str | None) -> None:
        tx.execute(
            "INSERT INTO controls (deployment, paused, by, reason, at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(deployment) DO UPDATE SET paused = excluded.paused, by = excluded.by, "
            "reason = excluded.reason, at = excluded.at",
            (deployment, int(paused), by, reason, audit.now()),
        )

    def overrides(self, deployment: str) -> dict[str, dict[str, Any]]:
        rows = self.conn.execute("SELECT * FROM overrides WHERE deployment = ? ORDER BY path",
                                 (deployment,))
        return {r["path"]: {**dict(r), "value": json.loads(r["value"])} for r in rows}

    def set_override(self, tx: Tx, deployment: str, path: str, value: Any, by: str,
                     reason: str | None) -> None:
        tx.execute(
            "INSERT INTO overrides (deployment, path, value, by, reason, at) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(deployment, path) DO UPDATE SET value = excluded.value, by = excluded.by, "
            "reason = excluded.reason, at = excluded.at",
            (deployment, path, json.dumps(value), by, reason, audit.now()),
        )

    def release_override(self, tx: Tx, deployment: str, path: str) -> bool:
        cur = tx.execute("DELETE FROM overrides WHERE deployment = ? AND path = ?", (deployment, path))
        return cur.rowcount > 0

    # audit -------------------------------------------------------------------
    def audit_entries(self, deployment: str | None = None, kind: str | None = None,
                      limit: int = 100) -> list[dict[str, Any]]:
        sql, args = "SELECT * FROM audit WHERE 1 = 1", []
        if deployment:
            sql, args = sql + " AND deployment = ?", [*args, deployment]
        if kind:
            sql, args = sql + " AND kind = ?", [*args, kind]
        rows = self.conn.execute(sql + " ORDER BY seq DESC LIMIT ?", [*args, limit]).fetchall()
        return [{**dict(r), "payload": json.loads(r["payload"])} for r in reversed(rows)]

    def count_audit(self, deployment: str, kinds: tuple[str, ...], since: str,
                    actor_prefix: str = "") -> int:
        marks = ", ".join("?" * len(kinds))
        row = self.conn.execute(
            f"SELECT COUNT(DISTINCT COALESCE(plan_id, seq)) FROM audit WHERE deployment = ? "
            f"AND kind IN ({marks}) AND ts >= ? AND actor LIKE ?",
            (deployment, *kinds, since, actor_prefix + "%"),
        ).fetchone()
        return int(row[0])

    def verify_audit(self) -> audit.VerifyReport:
        return audit.verify(self.conn, self.home.audit_anchor)


def _plan(row: sqlite3.Row) -> PlanRecord:
    data = dict(row)
    data["impact"] = json.loads(data["impact"])
    data["shadow"] = json.loads(data["shadow"]) if data["shadow"] else None
    return PlanRecord(**data)
