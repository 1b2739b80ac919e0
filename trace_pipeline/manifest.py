"""Manifests: what exactly a download or a preprocessing run took, hashed for cache keys.

A manifest lists files with bytes and checksums; its hash (sha256 of canonical
JSON, timestamps excluded) names the parquet cache, so the same inputs always
find the same cache and different inputs never do.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

MANIFEST_FILE = "manifest.json"
_CHUNK = 1 << 20


def manifest_hash(data: Any) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def crc32c_file(path: Path) -> str:
    """Base64 big-endian crc32c, the encoding Cloud Storage uses in object metadata."""
    import google_crc32c

    checksum = google_crc32c.Checksum()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            checksum.update(chunk)
    return base64.b64encode(checksum.digest()).decode()


def file_checksums(root: Path, files: list[Path]) -> list[dict[str, Any]]:
    """Relative path, bytes and crc32c per file; taken from a fetch manifest when it vouches
    for the file (same size), else computed (crc32c runs at GB/s)."""
    known: dict[str, dict[str, Any]] = {}
    manifest = root / MANIFEST_FILE
    if manifest.is_file():
        known = {entry["path"]: entry for entry in json.loads(manifest.read_text()).get("files", [])}
    out = []
    for path in files:
        rel = path.relative_to(root).as_posix()
        size = path.stat().st_size
        entry = known.get(rel)
        crc = entry["crc32c"] if entry and entry.get("bytes") == size and entry.get("crc32c") \
            else crc32c_file(path)
        out.append({"path": rel, "bytes": size, "crc32c": crc})
    return out
