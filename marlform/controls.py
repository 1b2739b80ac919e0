"""Operator controls: the kill switch, manual overrides, and rate limits on agent decisions.

- `pause` stops agents from planning and stops every apply, for one deployment
  or for all ("*"), until `resume`.
- An override pins one field of the spec (`services[api].replicas.min = 4`):
  every plan sets that field to the pinned value whatever the agents chose,
  until the override is released.
- Rate limits count agent decisions in the audit log over the last hour, so
  they hold across processes and restarts.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import yaml

from gcp.errors import Issue, SpecError
from gcp.spec import DeploymentSpec
from marlform import audit
from marlform.errors import RefusedError
from marlform.workspace import Workspace

ALL = "*"
_SEGMENT = re.compile(r"^(?P<field>[a-z_]+)(?:\[(?P<key>[^\]]+)\])?$")


def pause(ws: Workspace, deployment: str, by: str, reason: str | None, paused: bool = True) -> None:
    with ws.store.transaction() as tx:
        ws.store.set_paused(tx, deployment, paused, by, reason)
        tx.audit(audit.Entry("pause" if paused else "resume", f"user:{by}", deployment,
                             payload={"reason": reason}))


def ensure_running(ws: Workspace, deployment: str, what: str) -> None:
    state = ws.store.pause_state(deployment)
    if state:
        scope = "all deployments are" if state["deployment"] == ALL else f"{deployment!r} is"
        raise RefusedError(f"{scope} paused by {state['by']} since {state['at']}"
                           f"{' (' + state['reason'] + ')' if state['reason'] else ''}; "
                           f"no {what} until `marlform resume {state['deployment']}`")


def parse_path(path: str) -> list[tuple[str, str | None]]:
    """`services[api].replicas.min` → [("services", "api"), ("replicas", None), ("min", None)]."""
    parts = []
    for segment in path.split("."):
        match = _SEGMENT.match(segment)
        if not match:
            raise SpecError([Issue(path, "override.path", f"bad segment {segment!r}; write e.g. "
                                   "services[api].replicas.min or network.tier")])
        parts.append((match["field"], match["key"]))
    return parts


def _set(data: dict[str, Any], path: str, value: Any) -> Any:
    """Set a field in a spec dict, addressing list items by name; returns the old value."""
    node: Any = data
    parts = parse_path(path)
    for i, (name, key) in enumerate(parts):
        last = i == len(parts) - 1
        if not isinstance(node, dict) or name not in node:
            raise SpecError([Issue(path, "override.path", f"{name!r} is not a field here")])
        if key is None and last:
            old, node[name] = node[name], value
            return old
        node = node[name]
        if key is not None:
            items = [item for item in node if isinstance(item, dict) and item.get("name") == key]
            if not items:
                raise SpecError([Issue(path, "override.path", f"no {name} item named {key!r}")])
            if last:
                raise SpecError([Issue(path, "override.path", "name a field of the item")])
            node = items[0]
    raise AssertionError("unreachable")


def apply_overrides(spec: DeploymentSpec, overrides: dict[str, Any]) -> tuple[DeploymentSpec, list]:
    """The spec with every override in force; and which of them changed what the agents chose."""
    data = spec.model_dump(mode="json")
    changed = []
    for path, value in sorted(overrides.items()):
        old = _set(data, path, value)
        if old != value:
            changed.append({"path": path, "agents_chose": old, "override": value})
    for service in data["services"]:  # a pinned bound moves the running target inside it
        replicas = service["replicas"]
        replicas["target"] = min(max(replicas["target"], replicas["min"]), replicas["max"])
    return DeploymentSpec.from_data(data, "spec with overrides"), changed


def set_override(ws: Workspace, spec: DeploymentSpec, path: str, raw_value: str, by: str,
                 reason: str | None) -> Any:
    value = yaml.safe_load(raw_value)
    pinned = {p: o["value"] for p, o in ws.store.overrides(spec.name).items()}
    apply_overrides(spec, {**pinned, path: value})  # the path, and the spec with every override
    with ws.store.transaction() as tx:
        ws.store.set_override(tx, spec.name, path, value, by, reason)
        tx.audit(audit.Entry("override.set", f"user:{by}", spec.name,
                             payload={"path": path, "value": value, "reason": reason}))
    return value


def release_override(ws: Workspace, deployment: str, path: str, by: str) -> None:
    with ws.store.transaction() as tx:
        if not ws.store.release_override(tx, deployment, path):
            raise RefusedError(f"no override on {path!r} for {deployment!r}")
        tx.audit(audit.Entry("override.released", f"user:{by}", deployment, payload={"path": path}))


def check_rate(ws: Workspace, deployment: str, kinds: tuple[str, ...], limit: int,
               what: str, actor: str) -> None:
    """Refuse (and audit the refusal) when agents made `limit` decisions of `kinds` in an hour."""
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="microseconds")
    used = ws.store.count_audit(deployment, kinds, since, actor_prefix="agent:")
    if used >= limit:
        message = (f"rate limit: {used} {what} for {deployment!r} in the last hour, limit {limit} "
                   "(rate_limits in the deployment config)")
        with ws.store.transaction() as tx:
            tx.audit(audit.Entry("rate_limited", actor, deployment, payload={"reason": message}))
        raise RefusedError(message)
