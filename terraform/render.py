"""Render a DeploymentSpec for a target provider, validate it, and write it atomically.

`render(spec, target)` is the public entry: a finalized, JSON-ready dict (references as
`${...}`, template syntax refused). `render_bytes` gives the deterministic file content, and
`write_config` writes `main.tf.json` only after every check passed, so a refused spec leaves
nothing on disk.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from gcp.files import atomic_write_bytes
from gcp.spec import DeploymentSpec
from terraform.errors import SchemaError, TerraformInputError
from terraform.expr import finalize, to_bytes
from terraform.render_aws import AwsOptions, render_aws
from terraform.render_google import render_google
from terraform.schema import validate_google

Target = Literal["google", "aws"]
TARGETS: tuple[str, ...] = ("google", "aws")


@dataclass(frozen=True)
class Rendered:
    """A finalized configuration and the spec resource ("service/api", ...) behind each address."""

    target: str
    doc: dict[str, Any]
    owners: dict[str, str]

    def to_bytes(self) -> bytes:
        return to_bytes(self.doc)


def render_full(spec: DeploymentSpec, target: str = "google", aws: AwsOptions | None = None,
                validate: bool = True) -> Rendered:
    if target == "google":
        builder = render_google(spec)
    elif target == "aws":
        builder = render_aws(spec, aws)
    else:
        raise TerraformInputError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")
    doc = finalize(builder.root)
    if validate and target == "google":
        issues = validate_google(doc)
        if issues:
            raise SchemaError(issues)
    return Rendered(target, doc, dict(builder.owners))


_CACHE: OrderedDict[tuple[str, str, str], Rendered] = OrderedDict()
_CACHE_SIZE = 512


def render_cached(spec: DeploymentSpec, target: str = "google", aws: AwsOptions | None = None) -> Rendered:
    """Memoised, unvalidated rendering for previews and the safety fallback, which re-render the
    same specs many times (validity of the renderer's output is covered by the tests). The result
    is shared: treat it as read-only."""
    key = (spec.model_dump_json(), target, repr(aws))
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    rendered = render_full(spec, target, aws, validate=False)
    _CACHE[key] = rendered
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return rendered


def render(spec: DeploymentSpec, target: str = "google", aws: AwsOptions | None = None) -> dict[str, Any]:
    """`main.tf.json` content for `spec` on `target` ("google" or "aws"), schema-checked."""
    return render_full(spec, target, aws).doc


def render_bytes(spec: DeploymentSpec, target: str = "google", aws: AwsOptions | None = None) -> bytes:
    """The same spec always gives the same bytes (sorted keys, fixed indent)."""
    return render_full(spec, target, aws).to_bytes()


def write_config(directory: str | Path, rendered: Rendered) -> Path:
    path = Path(directory) / "main.tf.json"
    atomic_write_bytes(path, rendered.to_bytes())
    return path
