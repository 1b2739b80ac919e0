"""Plan bundles: a folder a person can read, sealed by a manifest of sha256 hashes.

A bundle is built in a staging folder and published whole (a directory rename
on the local store, manifest-last upload on GCS), so a crash never leaves a
half-written bundle where readers look. The plan hash is the sha256 of the
canonical list of (file, sha256) pairs: it changes when any byte of any file
changes, and it is what an approval signs and what apply re-checks.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gcp.files import atomic_write_bytes, sha256_file
from marlform.audit import canonical, sha256
from marlform.crashpoints import crash_point

MANIFEST = "manifest.json"
#: The files every bundle has, in reading order (DESIGN.md "Pipeline and rollout").
FILES = (
    "summary.md", "request.json", "observation.json", "actions.json", "spec.before.json",
    "spec.after.json", "main.tf.json", "plan.json", "safety.json", "explanation.md",
)
#: Files a bundle may carry besides: the saved binary plan when real Terraform made it.
OPTIONAL_FILES = ("tfplan",)
STAGING = ".staging"
ORPHANS = ".orphans"


def plan_hash(files: dict[str, str]) -> str:
    return sha256(canonical(sorted(files.items())))


def encode(content: Any) -> bytes:
    if isinstance(content, bytes):
        return content
    if isinstance(content, str):
        return content.encode()
    return (json.dumps(content, indent=2, sort_keys=True, default=str) + "\n").encode()


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Manifest:
    plan_id: str
    files: dict[str, str]
    plan_hash: str

    def to_dict(self) -> dict[str, Any]:
        return {"plan_id": self.plan_id, "files": self.files, "plan_hash": self.plan_hash,
                "algorithm": "sha256"}


def stage_bundle(plans_dir: Path, plan_id: str, contents: dict[str, Any]) -> tuple[Path, Manifest]:
    """Write every file and the manifest into a fresh staging folder; nothing is visible yet."""
    missing = [name for name in FILES if name not in contents]
    unknown = [name for name in contents if name not in FILES + OPTIONAL_FILES]
    assert not missing and not unknown, (missing, unknown)
    staging = plans_dir / STAGING / plan_id
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    digests: dict[str, str] = {}
    for i, (name, content) in enumerate(sorted(contents.items())):
        data = encode(content)
        atomic_write_bytes(staging / name, data)
        digests[name] = sha256(data)
        if i == len(contents) // 2:
            crash_point("plan.bundle_partial")
    manifest = Manifest(plan_id, digests, plan_hash(digests))
    atomic_write_bytes(staging / MANIFEST, encode(manifest.to_dict()))
    fsync_dir(staging)
    crash_point("plan.bundle_staged")
    return staging, manifest


def verify_bundle(folder: Path, expected_hash: str | None = None) -> list[str]:
    """Every way the folder differs from its sealed state; empty when intact."""
    manifest_path = folder / MANIFEST
    if not manifest_path.exists():
        return [f"{manifest_path} is missing"]
    try:
        manifest = json.loads(manifest_path.read_text())
        listed: dict[str, str] = manifest["files"]
    except (ValueError, KeyError) as exc:
        return [f"{manifest_path} is unreadable: {exc}"]
    problems = []
    for name in FILES:
        if name not in listed:
            problems.append(f"{name} is not listed in the manifest")
    actual: dict[str, str] = {}
    for name, digest in sorted(listed.items()):
        path = folder / name
        if not path.exists():
            problems.append(f"{name} is missing")
            continue
        actual[name] = sha256_file(path)
        if actual[name] != digest:
            problems.append(f"{name} changed since the plan was made (sha256 {actual[name][:12]}… "
                            f"!= {digest[:12]}…)")
    extra = sorted(p.name for p in folder.iterdir() if p.name not in listed and p.name != MANIFEST)
    problems += [f"{name} was added to the bundle" for name in extra]
    if plan_hash(listed) != manifest.get("plan_hash"):
        problems.append("the manifest's plan hash does not match its file list (manifest edited)")
    if expected_hash and manifest.get("plan_hash") != expected_hash:
        problems.append(f"plan hash {str(manifest.get('plan_hash'))[:12]}… differs from the one "
                        f"recorded and approved ({expected_hash[:12]}…)")
    return problems
