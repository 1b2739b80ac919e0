"""Proxies stored with the model version they explain.

A registry version folder is sealed once written (`agents.registry`), and the
registry has no artefact API yet, so proxies live beside it:

    <root>/<name>/v0003/           the model (never touched here)
    <root>/<name>/v0003.explain/   proxies.json, metrics.json, trees/<agent>/<knob>.png

The folder is built in a staging folder and renamed into place, so a reader
sees a complete set or none. `proxies.json` records the sha256 of the weights
it was fit to: proxies of other weights are refused on load, because an
explanation of a different model is a wrong explanation.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from agents.explain.proxy import PolicyProxies
from agents.registry import CheckpointError, ModelVersion
from gcp.files import atomic_write_bytes, atomic_write_json

SUFFIX = ".explain"
PROXIES = "proxies.json"
METRICS = "metrics.json"


class ExplainError(CheckpointError):
    """Proxies that are missing, stale (fit to other weights) or unreadable."""


def proxies_dir(version: ModelVersion) -> Path:
    return version.path.parent / f"{version.version}{SUFFIX}"


def write_folder(folder: Path, proxies: PolicyProxies, pngs: dict[str, bytes] | None = None) -> Path:
    """Write proxies (+ metrics table, + PNGs) as one folder, replacing an older one whole."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        atomic_write_json(staging / PROXIES, proxies.to_dict())
        atomic_write_json(staging / METRICS, {name: a.metrics for name, a in proxies.agents.items()})
        for name, data in (pngs or {}).items():
            atomic_write_bytes(staging / "trees" / name, data)
        if folder.exists():
            old = folder.parent / f".{folder.name}.old"
            shutil.rmtree(old, ignore_errors=True)
            os.rename(folder, old)
            os.rename(staging, folder)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder


def read_folder(folder: Path) -> PolicyProxies:
    path = folder / PROXIES
    if not path.is_file():
        raise ExplainError(f"no proxies at {path}; build them with `marlform explain --policy ... --build`")
    try:
        return PolicyProxies.from_dict(json.loads(path.read_text()))
    except (ValueError, KeyError, TypeError) as exc:
        raise ExplainError(f"{path}: unreadable proxies ({exc})") from None


def save_for_version(version: ModelVersion, proxies: PolicyProxies, pngs: dict[str, bytes] | None = None) -> Path:
    """Store proxies with a registry version, stamped with the sha256 of its weights."""
    proxies.meta.update(_stamp(version))
    return write_folder(proxies_dir(version), proxies, pngs)


def load_for_version(version: ModelVersion) -> PolicyProxies:
    """The proxies of a registry version; refuses proxies fit to other weights."""
    proxies = read_folder(proxies_dir(version))
    stamp = _stamp(version)
    if proxies.meta.get("model_sha256") != stamp["model_sha256"]:
        raise ExplainError(
            f"proxies in {proxies_dir(version)} were fit to weights {proxies.meta.get('model_sha256')!r}, "
            f"but {version.name} {version.version} has {stamp['model_sha256']!r}; rebuild them"
        )
    return proxies


def _stamp(version: ModelVersion) -> dict[str, Any]:
    return {"model": version.name, "model_version": version.version,
            "model_sha256": version.metadata.get("sha256")}
