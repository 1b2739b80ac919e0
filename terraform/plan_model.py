"""One model of a Terraform plan, parsed from `terraform show -json` (format_version 0.x and 1.x).

The safety policies, the cost report and the CLI read plans only through this model, whether
the plan came from Terraform or from the offline preview. Parsing is strict where a mistake
would mislead a reviewer: an unsupported major version, malformed actions, or a change to an
existing object that the plan's own prior state does not contain are refused with a clear
`TerraformInputError`. Unknown extra keys (new minor versions) are tolerated, as the format
promises additive minor bumps.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from terraform.errors import TerraformInputError

SUPPORTED_MAJORS = (0, 1)
VALID_ACTIONS = {("no-op",), ("create",), ("read",), ("update",), ("delete",),
                 ("delete", "create"), ("create", "delete"), ("forget",)}
_ADDRESS = re.compile(r"^(module\.[A-Za-z_][\w-]*(\[[^\]]+\])?\.)*(data\.)?[A-Za-z_][\w-]*\.[A-Za-z_][\w-]*(\[[^\]]+\])?$")


@dataclass(frozen=True)
class ResourceChange:
    address: str
    type: str
    name: str
    actions: tuple[str, ...]
    mode: str = "managed"
    module_address: str | None = None
    index: Any = None
    provider_name: str | None = None
    before: Any = None
    after: Any = None
    after_unknown: Any = None
    before_sensitive: Any = None
    after_sensitive: Any = None
    action_reason: str | None = None
    replace_paths: tuple = ()
    deposed: str | None = None
    previous_address: str | None = None

    @property
    def action(self) -> str:
        """One word: create, update, delete, replace, read, no-op, forget."""
        return "replace" if len(self.actions) == 2 else self.actions[0]

    @property
    def deletes(self) -> bool:
        """True for deletes and both replace orders: the docs say "scan the list for delete"."""
        return "delete" in self.actions

    @property
    def changes(self) -> bool:
        return self.actions not in (("no-op",), ("read",))

    def is_unknown(self, key: str) -> bool:
        return isinstance(self.after_unknown, dict) and bool(self.after_unknown.get(key))

    def to_dict(self) -> dict[str, Any]:
        return {"address": self.address, "type": self.type, "name": self.name,
                "module_address": self.module_address, "actions": list(self.actions),
                "action": self.action, "action_reason": self.action_reason}


@dataclass
class Plan:
    format_version: str
    changes: list[ResourceChange]
    terraform_version: str | None = None
    source: str = "terraform"
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, path: str | Path) -> Plan:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TerraformInputError(f"{path}: cannot read plan JSON ({exc})") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TerraformInputError(f"{path}: not valid JSON ({exc})") from None
        try:
            return cls.parse(data)
        except TerraformInputError as exc:
            raise TerraformInputError(f"{path}: {exc}") from None

    @classmethod
    def parse(cls, data: Any) -> Plan:
        if not isinstance(data, dict):
            raise TerraformInputError("plan JSON must be an object (the output of `terraform show -json PLAN`)")
        version = data.get("format_version")
        match = re.fullmatch(r"(\d+)\.(\d+)(\.\d+)?", str(version)) if isinstance(version, str) else None
        if not match:
            raise TerraformInputError(f"format_version {version!r} is missing or malformed; expected e.g. '1.2'")
        if int(match.group(1)) not in SUPPORTED_MAJORS:
            raise TerraformInputError(
                f"unsupported plan format_version {version} (major {match.group(1)}); "
                "marlform reads 0.x and 1.x"
            )
        raw_changes = data.get("resource_changes", [])
        if not isinstance(raw_changes, list):
            raise TerraformInputError("resource_changes must be a list")
        existing = _prior_addresses(data)
        changes = [_parse_change(i, rc, existing) for i, rc in enumerate(raw_changes)]
        return cls(format_version=version, changes=changes, terraform_version=data.get("terraform_version"),
                   source=str(data.get("source", "terraform")), raw=data)

    # views -----------------------------------------------------------------
    def changed(self) -> list[ResourceChange]:
        return [c for c in self.changes if c.changes]

    def by_address(self) -> dict[str, ResourceChange]:
        return {c.address: c for c in self.changes if c.deposed is None}

    def action_pairs(self, include_noop: bool = False) -> set[tuple[str, str]]:
        """{(address, action)}: how previews are compared with real plans."""
        return {(c.address, c.action) for c in self.changes if include_noop or c.changes}

    def summary(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for c in self.changes:
            counts[c.action] = counts.get(c.action, 0) + 1
        return counts


def _prior_addresses(data: dict[str, Any]) -> set[str] | None:
    """Addresses in the plan's prior state, or None when the plan carries no prior state."""
    prior = data.get("prior_state")
    if not isinstance(prior, dict) or not isinstance(prior.get("values"), dict):
        return None
    found: set[str] = set()
    stack = [prior["values"].get("root_module") or {}]
    while stack:
        module = stack.pop()
        found.update(r.get("address", "") for r in module.get("resources", []) or [])
        stack.extend(module.get("child_modules", []) or [])
    return found


def _parse_change(i: int, rc: Any, existing: set[str] | None) -> ResourceChange:
    where = f"resource_changes[{i}]"
    if not isinstance(rc, dict) or not isinstance(rc.get("change"), dict):
        raise TerraformInputError(f"{where}: each resource change needs an object 'change'")
    address = rc.get("address")
    if not isinstance(address, str) or not _ADDRESS.match(address):
        raise TerraformInputError(f"{where}: malformed resource address {address!r}")
    change = rc["change"]
    actions = change.get("actions")
    if not isinstance(actions, list) or tuple(actions) not in VALID_ACTIONS:
        raise TerraformInputError(f"{where} ({address}): invalid actions {actions!r}")
    mode = rc.get("mode", "managed")
    needs_existing = tuple(actions) != ("create",) and mode == "managed" and rc.get("deposed") is None
    known = address in (existing or ()) or rc.get("previous_address") in (existing or ())
    if existing is not None and needs_existing and not known:
        raise TerraformInputError(
            f"{where}: {address} plans {actions} on an object that the plan's prior_state does not "
            "contain (a plan referencing a missing resource)"
        )
    return ResourceChange(
        address=address, type=str(rc.get("type", "")), name=str(rc.get("name", "")),
        actions=tuple(actions), mode=mode, module_address=rc.get("module_address"),
        index=rc.get("index"), provider_name=rc.get("provider_name"),
        before=change.get("before"), after=change.get("after"), after_unknown=change.get("after_unknown"),
        before_sensitive=change.get("before_sensitive"), after_sensitive=change.get("after_sensitive"),
        action_reason=rc.get("action_reason"),
        replace_paths=tuple(tuple(p) for p in change.get("replace_paths", []) or []),
        deposed=rc.get("deposed"), previous_address=rc.get("previous_address"),
    )
