"""The append-only, hash-chained audit log: its entry format, hashing and verification.

Each entry carries the hash of the previous entry, and its own hash covers all
its fields plus that link, so editing, reordering or deleting any entry breaks
the chain from that point on. Entries are written in the same SQLite
transaction as the state change they record, so a crash leaves both or
neither. Truncating the tail of the log would leave a valid chain, so after
every commit the newest (seq, hash) is also written, atomically, to an anchor
file outside the database (`audit.head`); `verify` checks the database still
reaches it. A crash between commit and anchor leaves the anchor behind the
log, never ahead, which `verify` accepts and the next append repairs.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gcp.files import atomic_write_json

GENESIS = "0" * 64

#: Kinds of entries; `marlform audit log --kind` filters by these.
KINDS = (
    "decision",  # the policy acted (one per agent action, with confidence and value estimate)
    "exploration",  # an action the policy took to explore rather than exploit
    "plan",  # a plan bundle was recorded
    "fallback",  # safety dropped actions or fell back to the last safe spec
    "shadow",  # a shadow-stage plan compared with the current autoscaler
    "rate_limited",  # an agent decision refused by the rate limit
    "approval",  # approve / reject
    "approval.refused",  # someone not allowed tried to approve
    "apply.started",
    "apply.succeeded",
    "apply.refused",
    "rollback",
    "recovery",  # a rerun found and repaired the leftovers of a crash
    "promotion.requested",
    "promotion.approved",
    "stage.demoted",
    "pause",
    "resume",
    "override.set",
    "override.released",
)

COLUMNS = (
    "seq", "ts", "actor", "kind", "deployment", "plan_id", "policy_version",
    "action_hash", "value", "exploration", "payload", "prev_hash",
)


@dataclass
class Entry:
    kind: str
    actor: str  # "agent:<policy>" or "user:<name>" or "system"
    deployment: str
    plan_id: str | None = None
    policy_version: str | None = None
    action_hash: str | None = None
    #: The reward or value estimate behind a decision, where there is one.
    value: float | None = None
    exploration: bool = False
    payload: dict[str, Any] = field(default_factory=dict)


def canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def entry_hash(row: dict[str, Any]) -> str:
    """The hash of one stored row: every column but the hash itself."""
    return sha256(canonical({c: row[c] for c in COLUMNS}))


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def append(conn: sqlite3.Connection, entry: Entry) -> tuple[int, str]:
    """Append inside the caller's open transaction; returns (seq, hash) for the anchor."""
    assert entry.kind in KINDS, entry.kind
    last = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    row = {
        **asdict(entry),
        "seq": seq,
        "ts": now(),
        "exploration": int(entry.exploration),
        "payload": canonical(entry.payload).decode(),
        "prev_hash": prev,
    }
    row["hash"] = entry_hash(row)
    names = (*COLUMNS, "hash")
    conn.execute(
        f"INSERT INTO audit ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
        [row[n] for n in names],
    )
    return seq, row["hash"]


def write_anchor(path: Path, seq: int, digest: str) -> None:
    atomic_write_json(path, {"seq": seq, "hash": digest})


@dataclass
class VerifyReport:
    ok: bool
    entries: int
    problems: list[str]
    anchor_lag: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def verify(conn: sqlite3.Connection, anchor: Path) -> VerifyReport:
    """Walk the chain in seq order; report every break, and check the anchor."""
    conn.row_factory = sqlite3.Row
    problems: list[str] = []
    prev, expected_seq, count, hashes = GENESIS, 1, 0, {}
    for raw in conn.execute("SELECT * FROM audit ORDER BY seq"):
        row = dict(raw)
        count += 1
        seq = row["seq"]
        if seq != expected_seq:
            problems.append(f"entry {seq}: expected seq {expected_seq} (entries deleted)")
        if row["prev_hash"] != prev:
            problems.append(f"entry {seq}: previous-hash link broken (an entry before it was "
                            "edited, deleted or reordered)")
        if entry_hash(row) != row["hash"]:
            problems.append(f"entry {seq}: content does not match its hash (edited)")
        prev, expected_seq, hashes[seq] = row["hash"], seq + 1, row["hash"]
    lag = 0
    if anchor.exists():
        head = json.loads(anchor.read_text())
        last = expected_seq - 1
        if head["seq"] > last:
            problems.append(f"log ends at entry {last} but the anchor records entry {head['seq']} "
                            "(entries deleted from the end)")
        elif hashes.get(head["seq"]) != head["hash"]:
            problems.append(f"entry {head['seq']}: hash differs from the anchor (edited or replaced)")
        lag = max(0, last - head["seq"])
    elif count:
        problems.append(f"anchor {anchor} is missing while the log has {count} entries")
    return VerifyReport(ok=not problems, entries=count, problems=problems, anchor_lag=lag)
