"""Terraform JSON expressions, built safely.

In `.tf.json` every string is a template: `${...}` and `%{...}` are evaluated. The renderers
therefore never write a reference as a plain string: they use `Ref`, and `finalize` turns
Refs into `"${...}"` while refusing any other string that contains a template sequence.
Spec names are validated upstream, but this is the last line: nothing hostile is written.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from terraform.errors import TerraformInputError

#: Terraform identifiers: a letter or underscore, then letters, digits, underscores, hyphens.
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_TEMPLATE = ("${", "%{")


@dataclass(frozen=True)
class Ref:
    """A reference `<type>.<name>.<attribute>` to another resource's attribute."""

    type: str
    name: str
    attribute: str

    def __post_init__(self) -> None:
        for part in (self.type, self.name, *self.attribute.split(".")):
            if not _IDENT.match(part):
                raise TerraformInputError(f"refusing reference part {part!r}: not a Terraform identifier")

    def to(self, attribute: str) -> Ref:
        """The same resource, another attribute."""
        return Ref(self.type, self.name, attribute)

    @property
    def address(self) -> str:
        return f"{self.type}.{self.name}"

    def __str__(self) -> str:
        return "${" + f"{self.type}.{self.name}.{self.attribute}" + "}"


@dataclass(frozen=True)
class Var:
    """A reference `var.<name>` to an input variable."""

    name: str

    def __post_init__(self) -> None:
        if not _IDENT.match(self.name):
            raise TerraformInputError(f"refusing variable name {self.name!r}: not a Terraform identifier")

    def __str__(self) -> str:
        return "${var." + self.name + "}"


def address_name(name: str) -> str:
    """Resource block name for a spec name: bucket dots become `__`, a leading digit gets `_`."""
    out = name.replace(".", "__")
    if out[:1].isdigit():
        out = "_" + out
    if not _IDENT.match(out):
        raise TerraformInputError(f"refusing name {name!r}: it cannot be a Terraform resource name")
    return out


def finalize(doc: Any, path: str = "") -> Any:
    """Turn Refs into `${...}` strings; refuse strings that would be evaluated as templates."""
    if isinstance(doc, (Ref, Var)):
        return str(doc)
    if isinstance(doc, dict):
        out = {}
        for key, value in doc.items():
            if not isinstance(key, str) or any(t in key for t in _TEMPLATE):
                raise TerraformInputError(f"refusing key {key!r} at {path or '<root>'}: template syntax")
            out[key] = finalize(value, f"{path}.{key}" if path else key)
        return out
    if isinstance(doc, (list, tuple)):
        return [finalize(v, f"{path}[{i}]") for i, v in enumerate(doc)]
    if isinstance(doc, str) and any(t in doc for t in _TEMPLATE):
        raise TerraformInputError(
            f"refusing value {doc!r} at {path}: it contains Terraform template syntax "
            "('${' or '%{'), which would be evaluated; nothing was written"
        )
    return doc


def to_bytes(doc: dict) -> bytes:
    """Deterministic bytes: sorted keys, two-space indent, trailing newline."""
    return (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=True) + "\n").encode("utf-8")


def references(value: Any) -> list[tuple[str, str]]:
    """(address, attribute) of every `${type.name.attr}` reference inside a finalized value."""
    found: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for v in value.values():
            found.extend(references(v))
    elif isinstance(value, list):
        for v in value:
            found.extend(references(v))
    elif isinstance(value, str):
        for m in re.finditer(r"\$\{([A-Za-z_][\w-]*)\.([A-Za-z_][\w-]*)\.([\w.-]+)\}", value):
            found.append((f"{m.group(1)}.{m.group(2)}", m.group(3)))
    return found


class ConfigBuilder:
    """Collects resource blocks and remembers which spec resource owns each address.

    The owner map ("service/api", "bucket/x", ...) is what lets the safety fallback revert
    exactly the part of a spec behind a denied resource change.
    """

    def __init__(self) -> None:
        self.root: dict[str, Any] = {}
        self.owners: dict[str, str] = {}

    def resource(self, rtype: str, name: str, body: dict[str, Any], owner: str) -> Ref:
        """Add `resource.<rtype>.<name>`; return a Ref factory base (its `.id`)."""
        name = address_name(name)
        block = self.root.setdefault("resource", {}).setdefault(rtype, {})
        if name in block:
            raise TerraformInputError(f"two resources render to the same address {rtype}.{name}")
        block[name] = body
        self.owners[f"{rtype}.{name}"] = owner
        return Ref(rtype, name, "id")
