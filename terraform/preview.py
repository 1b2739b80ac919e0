"""Offline plan preview: the resource changes Terraform would plan, computed from two specs.

Used where Terraform or a provider is missing (and by the safety fallback, which re-plans many
candidate specs). Both specs are rendered for the target and compared resource by resource:
- only in after → create; only in before → delete; equal → no-op;
- an argument that differs, or that references an attribute of a replaced/created resource
  which is not set in that resource's config (so "known after apply"), makes a change;
- the change is a replace when a changed argument forces a new resource (google: ForceNew facts
  in terraform/data/google_facts.json, instance templates entirely; aws: data/aws_force_new.json),
  ordered ["create","delete"] under lifecycle.create_before_destroy, else ["delete","create"].
The result has the `terraform show -json` shape and says `"source": "preview"`.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from gcp.spec import DeploymentSpec
from terraform.expr import references
from terraform.render import render_cached
from terraform.render_aws import AwsOptions
from terraform.schema import META_ARGUMENTS, facts

PREVIEW_FORMAT_VERSION = "1.2"
_PROVIDERS = {"google": "registry.terraform.io/hashicorp/google", "aws": "registry.terraform.io/hashicorp/aws"}


@cache
def force_new_rules(target: str) -> dict[str, frozenset[str]]:
    """Per resource type, the argument paths (dotted, no indices) whose change forces a replace;
    "*" means every argument."""
    if target == "aws":
        text = resources.files("terraform").joinpath("data/aws_force_new.json").read_text(encoding="utf-8")
        data = json.loads(text)
        return {k: frozenset(v) for k, v in data.items() if not k.startswith("_")}
    rules: dict[str, frozenset[str]] = {}
    for rtype, entries in facts().items():
        if rtype.startswith(("_", "common")) or not isinstance(entries, dict):
            continue
        paths = {path for path, rule in entries.items() if isinstance(rule, dict) and rule.get("force_new")}
        if "immutability" in entries:  # instance templates: every argument is ForceNew
            paths.add("*")
        rules[rtype] = frozenset(paths)
    return rules


def _diff_paths(before: Any, after: Any, path: str = "") -> set[str]:
    if isinstance(before, dict) and isinstance(after, dict):
        out: set[str] = set()
        for key in sorted(set(before) | set(after)):
            if not path and key in META_ARGUMENTS:
                continue
            out |= _diff_paths(before.get(key), after.get(key), f"{path}.{key}" if path else key)
        return out
    if (isinstance(before, list) and isinstance(after, list) and len(before) == len(after)
            and all(isinstance(v, dict) for v in before + after)):
        out = set()
        for b, a in zip(before, after, strict=True):
            out |= _diff_paths(b, a, path)
        return out
    return set() if before == after else {path}


def _unknown_paths(body: Any, pending: dict[str, dict], path: str = "") -> set[str]:
    """Paths whose value references an attribute that the pending (new) objects only know after apply."""
    if isinstance(body, dict):
        out: set[str] = set()
        for key, value in body.items():
            if not path and key in META_ARGUMENTS:
                continue
            out |= _unknown_paths(value, pending, f"{path}.{key}" if path else key)
        return out
    if isinstance(body, list) and all(isinstance(v, dict) for v in body) and body:
        return set().union(*(_unknown_paths(v, pending, path) for v in body))
    for address, attribute in references(body):
        if address in pending and attribute.split(".")[0] not in pending[address]:
            return {path}
    return set()


def _forces_new(rtype: str, paths: set[str], rules: dict[str, frozenset[str]]) -> list[str]:
    forcing = rules.get(rtype, frozenset())
    if "*" in forcing:
        return sorted(paths)
    hits = []
    for path in paths:
        parts = path.split(".")
        if any(".".join(parts[: i + 1]) in forcing for i in range(len(parts))):
            hits.append(path)
    return sorted(hits)


def _flatten(doc: dict[str, Any]) -> dict[str, tuple[str, str, dict]]:
    return {f"{rtype}.{name}": (rtype, name, body)
            for rtype, named in doc.get("resource", {}).items() for name, body in named.items()}


def _values(body: dict | None) -> dict | None:
    return None if body is None else {k: v for k, v in body.items() if k not in META_ARGUMENTS}


def _marks(body: dict | None, predicate) -> dict:
    return {} if body is None else {k: True for k, v in _values(body).items() if predicate(v)}


def preview_configs(before_doc: dict | None, after_doc: dict, target: str) -> dict[str, Any]:
    """Plan-JSON-shaped changes between two finalized configurations of the same target."""
    before, after = _flatten(before_doc or {}), _flatten(after_doc)
    rules = force_new_rules(target)
    created = {a for a in after if a not in before}
    pending = {a: _values(after[a][2]) for a in created}  # objects whose computed values are unknown
    decided: dict[str, tuple[tuple[str, ...], list[str]]] = {}
    changed = True
    while changed:  # replacements make references unknown, which can force further replacements
        changed = False
        for address in sorted(set(before) & set(after)):
            rtype, _, old = before[address]
            new = after[address][2]
            paths = _diff_paths(old, new) | _unknown_paths(new, pending)
            forcing = _forces_new(rtype, paths, rules)
            if forcing:
                cbd = bool(new.get("lifecycle", {}).get("create_before_destroy"))
                result = (("create", "delete") if cbd else ("delete", "create"), forcing)
                pending[address] = _values(new)
            else:
                result = (("update",) if paths else ("no-op",), [])
            if decided.get(address) != result:
                decided[address] = result
                changed = True
    changes = []
    for address in sorted(set(before) | set(after)):
        rtype, name, _ = after.get(address) or before[address]
        old = _values(before[address][2]) if address in before else None
        new = _values(after[address][2]) if address in after else None
        if address not in before:
            actions, forcing = ("create",), []
        elif address not in after:
            actions, forcing = ("delete",), []
        else:
            actions, forcing = decided[address]
        rc: dict[str, Any] = {
            "address": address, "mode": "managed", "type": rtype, "name": name,
            "provider_name": _PROVIDERS[target],
            "change": {
                "actions": list(actions), "before": old, "after": new,
                "after_unknown": _marks(new, lambda v: bool(references(v))),
                "before_sensitive": _marks(old, lambda v: "${var." in json.dumps(v)),
                "after_sensitive": _marks(new, lambda v: "${var." in json.dumps(v)),
            },
        }
        if forcing:
            rc["change"]["replace_paths"] = [p.split(".") for p in forcing]
            rc["action_reason"] = "replace_because_cannot_update"
        elif actions == ("delete",):
            rc["action_reason"] = "delete_because_no_resource_config"
        changes.append(rc)
    return {"format_version": PREVIEW_FORMAT_VERSION, "source": "preview", "target": target,
            "note": "offline preview computed by marlform from the spec before and after; "
                    "not produced by Terraform",
            "resource_changes": changes}


def preview_plan(spec_before: DeploymentSpec | None, spec_after: DeploymentSpec, target: str = "google",
                 aws: AwsOptions | None = None) -> dict[str, Any]:
    """Offline plan (plan-JSON shape, `"source": "preview"`) from `spec_before` to `spec_after`.
    `spec_before=None` previews a first deployment (everything is created)."""
    before = render_cached(spec_before, target, aws).doc if spec_before is not None else None
    return preview_configs(before, render_cached(spec_after, target, aws).doc, target)
