"""Validate a rendered google configuration against the vendored provider schema facts.

Facts (terraform/data, see SOURCES.md): the v6.50.0 block schemas (arguments, types, required,
nesting and item counts) plus the provider-source defaults/enums/ranges that the JSON schema
does not carry. Every problem names the resource address and the attribute path, so a bad
renderer change fails in tests rather than at `terraform plan` time.
"""

from __future__ import annotations

import json
import operator
import re
from functools import cache
from importlib import resources
from typing import Any

from gcp.errors import Issue

#: Meta-arguments Terraform accepts on every resource; the provider schema does not list them.
META_ARGUMENTS = {"lifecycle", "depends_on", "count", "for_each", "provider", "//"}
_COMPARE = {"gt": operator.gt, "ge": operator.ge, "le": operator.le, "max_len": operator.le}
_BETWEEN = re.compile(r"int between (-?\d+) and (-?\d+)")


@cache
def _data(name: str) -> dict[str, Any]:
    return json.loads(resources.files("terraform").joinpath(f"data/{name}").read_text(encoding="utf-8"))


def schemas() -> dict[str, Any]:
    return _data("google_schema.json")["resource_schemas"]


def facts() -> dict[str, Any]:
    return _data("google_facts.json")


def _is_expression(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("${") and value.endswith("}")


def _type_ok(value: Any, tftype: Any) -> bool:
    if _is_expression(value):
        return True  # checked by Terraform once the reference is known
    if tftype == "string":
        return isinstance(value, str)
    if tftype == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tftype == "bool":
        return isinstance(value, bool)
    if isinstance(tftype, list) and tftype[0] in ("list", "set"):
        return isinstance(value, list) and all(_type_ok(v, tftype[1]) for v in value)
    if isinstance(tftype, list) and tftype[0] == "map":
        return isinstance(value, dict) and all(_type_ok(v, tftype[1]) for v in value.values())
    return True  # object/dynamic types: accepted


def _rule_issues(rtype: str, dotted: str, value: Any, where: str) -> list[Issue]:
    """Enum / regex / range facts for one attribute (dotted path without indices)."""
    if _is_expression(value):
        return []
    out = []
    rule = facts().get(rtype, {}).get(dotted, {})
    allowed = rule.get("values", rule.get("values_doc"))
    if isinstance(allowed, list) and value not in allowed:
        out.append(Issue(where, "schema.enum", f"{value!r} is not one of {allowed}"))
    check = rule.get("validate", "")
    if check == "gce_name_regex" and not re.match(facts()["common"]["gce_name_regex"], str(value)):
        out.append(Issue(where, "schema.pattern", f"{value!r} is not a valid GCE name"))
    match = _BETWEEN.search(check)
    if match and not int(match.group(1)) <= value <= int(match.group(2)):
        out.append(Issue(where, "schema.range", f"{value} is outside {match.group(1)}..{match.group(2)}"))
    bounds = facts()["_ranges"].get(rtype, {}).get(dotted, {})
    for op, limit in bounds.items():
        measured = len(value) if op == "max_len" else value
        if not _COMPARE[op](measured, limit):
            out.append(Issue(where, "schema.range", f"{value!r} breaks {op} {limit}"))
    return out


def _check_block(rtype: str, block: dict[str, Any], body: dict[str, Any], address: str,
                 prefix: str, dotted: str) -> list[Issue]:
    issues: list[Issue] = []
    attrs, blocks = block.get("attributes", {}), block.get("block_types", {})
    for key, value in body.items():
        where = f"{address}.{prefix}{key}"
        key_dotted = f"{dotted}{key}"
        if not prefix and key in META_ARGUMENTS:
            continue
        if key in attrs:
            spec = attrs[key]
            if spec.get("computed") and not (spec.get("optional") or spec.get("required")):
                issues.append(Issue(where, "schema.read_only", f"{key!r} is computed and cannot be set"))
            elif not _type_ok(value, spec["type"]):
                issues.append(Issue(where, "schema.type", f"{value!r} is not of type {spec['type']}"))
            else:
                issues.extend(_rule_issues(rtype, key_dotted, value, where))
        elif key in blocks:
            issues.extend(_check_nested(rtype, blocks[key], value, where, f"{prefix}{key}", key_dotted, address))
        else:
            issues.append(Issue(where, "schema.unknown_argument", f"{rtype} has no argument or block {key!r}"))
    for key, spec in attrs.items():
        if spec.get("required") and key not in body:
            issues.append(Issue(f"{address}.{prefix}{key}", "schema.required", f"required argument {key!r} is missing"))
    for key, spec in blocks.items():
        if spec.get("min_items", 0) >= 1 and key not in body:
            issues.append(Issue(f"{address}.{prefix}{key}", "schema.required", f"required block {key!r} is missing"))
    return issues


def _check_nested(rtype: str, spec: dict[str, Any], value: Any, where: str, path: str, dotted: str,
                  address: str) -> list[Issue]:
    items = value if isinstance(value, list) else [value]
    if spec["nesting_mode"] == "single" and isinstance(value, list):
        return [Issue(where, "schema.type", "block takes one object, not a list")]
    issues = []
    if len(items) < spec.get("min_items", 0) or len(items) > (spec.get("max_items") or len(items)):
        issues.append(Issue(where, "schema.count",
                            f"{len(items)} block(s); allowed {spec.get('min_items', 0)}..{spec.get('max_items') or 'any'}"))
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            issues.append(Issue(f"{where}[{i}]", "schema.type", "block entries must be objects"))
            continue
        issues.extend(_check_block(rtype, spec["block"], item, address, f"{path}[{i}].", f"{dotted}."))
    return issues


def validate_google(doc: dict[str, Any]) -> list[Issue]:
    """All schema problems of a finalized google `.tf.json` document (empty when valid)."""
    issues = []
    known = schemas()
    for rtype, named in sorted(doc.get("resource", {}).items()):
        if rtype not in known:
            issues.append(Issue(rtype, "schema.unknown_resource", f"no vendored schema for {rtype}"))
            continue
        for name, body in sorted(named.items()):
            issues.extend(_check_block(rtype, known[rtype]["block"], body, f"{rtype}.{name}", "", ""))
    return issues
