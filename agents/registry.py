"""Model registry: immutable, versioned checkpoints with the metadata to trust them.

Why a registry and not loose `.pt` files: a policy that provisions real cloud
resources must be traceable to the simulator, data, config and code that made
it, and an operator must be able to promote a new version and roll back to
the previous one in one command. Layout (one folder per model name):

    <root>/<name>/v0001/model.pt        the weights (torch.save of a state dict)
    <root>/<name>/v0001/metadata.json   sha256 of model.pt, format, simulator version,
                                        data manifest, config, metrics, git commit
    <root>/<name>/channel.json          which version is promoted, and the promotion history

A version folder is written once (to a temporary folder, then renamed) and is
never overwritten. Loading recomputes the sha256 and refuses a checkpoint whose
bytes, format or simulator/observation layout do not match, with a message
that says which.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gcp.errors import MarlformError
from gcp.files import atomic_write_json, sha256_file

#: Bumped when the checkpoint layout changes incompatibly.
FORMAT_VERSION = 1
#: Where the shipped models live; `MARLFORM_REGISTRY` points elsewhere.
DEFAULT_ROOT = Path(__file__).resolve().parent / "models"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
_VERSION = re.compile(r"^v(\d{4,})$")


class CheckpointError(MarlformError):
    """A checkpoint that is missing, corrupted or incompatible with this code."""


def registry_root(root: str | Path | None = None) -> Path:
    """The registry folder: explicit argument, then $MARLFORM_REGISTRY, then the shipped one."""
    if root is not None:
        return Path(root)
    return Path(os.environ.get("MARLFORM_REGISTRY", DEFAULT_ROOT))


def git_commit(start: Path | None = None) -> str | None:
    """The checked-out commit, read from `.git` files (no git process), or None outside a checkout."""
    here = (start or Path(__file__)).resolve()
    for folder in [here, *here.parents]:
        git = folder / ".git"
        if not git.is_dir():
            continue
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return head
        ref = head[5:]
        loose = git / ref
        if loose.is_file():
            return loose.read_text().strip()
        packed = git / "packed-refs"
        if packed.is_file():
            for line in packed.read_text().splitlines():
                if line.endswith(" " + ref):
                    return line.split()[0]
        return None
    return None


@dataclass(frozen=True)
class ModelVersion:
    """One immutable checkpoint and its metadata."""

    name: str
    version: str
    path: Path
    metadata: dict[str, Any] = field(repr=False)

    @property
    def weights(self) -> Path:
        return self.path / "model.pt"

    def summary(self, promoted: str | None) -> dict[str, Any]:
        meta = self.metadata
        return {
            "name": self.name,
            "version": self.version,
            "promoted": self.version == promoted,
            "created_at": meta.get("created_at"),
            "simulator_version": meta.get("simulator_version"),
            "git_commit": meta.get("git_commit"),
            "metrics": meta.get("metrics", {}),
            "size_bytes": meta.get("size_bytes"),
        }


class ModelRegistry:
    """Save, list, promote, roll back and load checkpoints under one root folder."""

    def __init__(self, root: str | Path | None = None):
        self.root = registry_root(root)

    # writing ------------------------------------------------------------
    def save(
        self,
        name: str,
        state: dict[str, Any],
        *,
        config: dict[str, Any],
        layout: dict[str, Any],
        simulator_version: str,
        data_manifest: dict[str, Any] | None = None,
        metrics: dict[str, Any] | None = None,
    ) -> ModelVersion:
        """Write a new version of `name`; never touches an existing one."""
        import torch

        if not _NAME.match(name):
            raise CheckpointError(f"model name {name!r} must match {_NAME.pattern}")
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        version = f"v{self._next_number(name):04d}"
        staging = Path(tempfile.mkdtemp(prefix=f".{version}.", dir=folder))
        try:
            weights = staging / "model.pt"
            torch.save(state, weights)
            metadata = {
                "format_version": FORMAT_VERSION,
                "name": name,
                "version": version,
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "sha256": sha256_file(weights),
                "size_bytes": weights.stat().st_size,
                "simulator_version": simulator_version,
                "layout": layout,
                "data_manifest": data_manifest or {},
                "config": config,
                "metrics": metrics or {},
                "git_commit": git_commit(),
            }
            atomic_write_json(staging / "metadata.json", metadata)
            for item in staging.iterdir():
                item.chmod(0o444)
            os.rename(staging, folder / version)  # fails if the version appeared meanwhile
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return ModelVersion(name, version, folder / version, metadata)

    def promote(self, name: str, version: str) -> str:
        """Make `version` the one `load(name)` returns; remembers the previous one for rollback."""
        self.get(name, version)  # exists and is intact
        channel = self._channel(name)
        if channel["promoted"] != version:
            channel["history"].append(version)
            channel["promoted"] = version
            atomic_write_json(self.root / name / "channel.json", channel)
        return version

    def rollback(self, name: str) -> str:
        """Return to the version promoted before the current one."""
        channel = self._channel(name)
        history = channel["history"]
        if len(history) < 2:
            raise CheckpointError(f"model {name!r}: nothing to roll back to (promotion history {history})")
        history.pop()
        channel["promoted"] = history[-1]
        atomic_write_json(self.root / name / "channel.json", channel)
        return channel["promoted"]

    # reading ------------------------------------------------------------
    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and _NAME.match(p.name))

    def versions(self, name: str) -> list[ModelVersion]:
        folder = self.root / name
        if not folder.is_dir():
            return []
        found = sorted(p for p in folder.iterdir() if p.is_dir() and _VERSION.match(p.name))
        return [self._read(name, p) for p in found]

    def promoted(self, name: str) -> str | None:
        return self._channel(name)["promoted"]

    def get(self, name: str, version: str | None = None) -> ModelVersion:
        """A version's metadata: the given one, else the promoted one, else the newest."""
        versions = self.versions(name)
        if not versions:
            raise CheckpointError(f"no model named {name!r} in registry {self.root}")
        wanted = version or self.promoted(name) or versions[-1].version
        for item in versions:
            if item.version == wanted:
                return item
        known = ", ".join(v.version for v in versions)
        raise CheckpointError(f"model {name!r} has no version {wanted!r} (known: {known})")

    def load(
        self,
        name: str,
        version: str | None = None,
        *,
        expect_layout: dict[str, Any] | None = None,
    ) -> tuple[dict[str, Any], ModelVersion]:
        """Verify and read a checkpoint; returns (state dict, version)."""
        item = self.get(name, version)
        return load_verified(item, expect_layout), item

    # internals ----------------------------------------------------------
    def _next_number(self, name: str) -> int:
        numbers = [int(_VERSION.match(p.path.name).group(1)) for p in self.versions(name)]
        return max(numbers, default=0) + 1

    def _channel(self, name: str) -> dict[str, Any]:
        path = self.root / name / "channel.json"
        if not path.is_file():
            return {"promoted": None, "history": []}
        return json.loads(path.read_text())

    def _read(self, name: str, folder: Path) -> ModelVersion:
        meta_path = folder / "metadata.json"
        try:
            metadata = json.loads(meta_path.read_text())
        except FileNotFoundError:
            raise CheckpointError(f"{folder}: metadata.json is missing") from None
        except json.JSONDecodeError as exc:
            raise CheckpointError(f"{meta_path}: corrupted metadata ({exc.msg})") from None
        return ModelVersion(name, folder.name, folder, metadata)


def load_verified(item: ModelVersion, expect_layout: dict[str, Any] | None = None) -> dict[str, Any]:
    """Check format, layout and checksum, then load the weights (tensors only, no pickled code)."""
    import torch

    meta = item.metadata
    where = f"model {item.name} {item.version} ({item.path})"
    if meta.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{where}: checkpoint format {meta.get('format_version')!r} is not supported "
            f"(this marlform reads format {FORMAT_VERSION}); retrain or use a matching release"
        )
    if expect_layout is not None and meta.get("layout") != expect_layout:
        raise CheckpointError(
            f"{where}: incompatible with this environment: it was trained on observation/action "
            f"layout {_layout_brief(meta.get('layout'))}, the environment has {_layout_brief(expect_layout)}"
        )
    if not item.weights.is_file():
        raise CheckpointError(f"{where}: model.pt is missing")
    actual = sha256_file(item.weights)
    if actual != meta.get("sha256"):
        raise CheckpointError(
            f"{where}: checksum mismatch (metadata says {meta.get('sha256')}, file is {actual}); "
            "the checkpoint is corrupted or was modified. Refusing to load it."
        )
    try:
        return torch.load(item.weights, map_location="cpu", weights_only=True)
    except Exception as exc:  # a file with the right hash but unreadable: report, don't crash
        raise CheckpointError(f"{where}: unreadable weights ({exc})") from None


def _layout_brief(layout: dict[str, Any] | None) -> str:
    if not layout:
        return "<none>"
    agents = layout.get("agents", [])
    knobs = {a.get("name"): a.get("knobs") for a in agents}
    return f"knobs {knobs}, state_dim {layout.get('state_dim')}, nodes {layout.get('num_nodes')}"
