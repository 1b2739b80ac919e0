"""The reproducibility record of a suite run: versions, seeds, data manifest, git commit, command.

Why: a number in a thesis table is only worth citing if someone can rerun it.
The record says exactly which code (commit), libraries, data files (sha256),
policy checkpoints and seeds produced a results folder, and the command to
run again.
"""

from __future__ import annotations

import platform
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

#: Libraries whose versions change results.
PACKAGES: tuple[str, ...] = (
    "marlform", "numpy", "scipy", "pandas", "torch", "torch-geometric", "ray", "gymnasium",
    "pettingzoo", "scikit-learn", "matplotlib",
)
REPO = Path(__file__).resolve().parents[1]


def package_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def data_manifest(paths: list[Path]) -> list[dict[str, Any]]:
    """sha256 and size of each data file the run read (profiles, traces), paths relative to the repo."""
    from gcp.files import sha256_file

    out = []
    for path in sorted({Path(p).resolve() for p in paths}):
        if not path.is_file():
            continue
        try:
            shown = path.relative_to(REPO).as_posix()
        except ValueError:
            shown = str(path)
        out.append({"path": shown, "bytes": path.stat().st_size, "sha256": sha256_file(path)})
    return out


def shipped_profiles() -> list[Path]:
    """The workload profiles shipped in trace_pipeline/profiles: the data every default run reads."""
    return sorted((REPO / "trace_pipeline" / "profiles").glob("*.json"))


def record(
    *,
    suite: str,
    seeds: list[int],
    command: str,
    config: dict[str, Any],
    data_files: list[Path],
    policies: dict[str, Any],
    wall_s: float,
) -> dict[str, Any]:
    """Everything needed to rerun a suite and check that it is the same run."""
    from agents.registry import git_commit

    return {
        "suite": suite,
        "command": command,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(REPO),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(),
        "seeds": list(seeds),
        "config": config,
        "policies": policies,
        "data_manifest": data_manifest(data_files),
        "wall_s": round(wall_s, 1),
    }
