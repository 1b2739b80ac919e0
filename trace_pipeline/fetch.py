"""Size-capped download of the public Google cluster traces from Cloud Storage.

Anonymous google-cloud-storage client; `endpoint` (or STORAGE_EMULATOR_HOST)
points the same code at a local emulator for tests. The flow: map the time
window to part files, list their sizes, refuse before the first byte if the
total passes the cap, then download by ranges into `<file>.partial` (so an
interrupted run resumes where it stopped), stop if the bytes received pass the
cap, verify crc32c and md5 against the object metadata, and only then rename
the file into place. A manifest records what was taken.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gcp.files import atomic_write_json
from trace_pipeline.errors import ChecksumError, ConfigError, FetchError, SizeCapError
from trace_pipeline.manifest import MANIFEST_FILE, crc32c_file, manifest_hash
from trace_pipeline.schema import (
    BUCKET_2011,
    PART_US_2011,
    PARTS_2011,
    TABLES,
    TRACE_END_2011_US,
    WINDOW_OPEN_US,
    TraceVersion,
    bucket_2019,
)

GB = 10**9
DEFAULT_MAX_GB = 5.0
CHUNK_BYTES = 8 * 1024 * 1024
ProgressHook = Callable[[str, int, int], None]


@dataclass(frozen=True)
class RemoteObject:
    """One object chosen for download, with the metadata it must match."""

    table: str
    bucket: str
    name: str
    bytes: int
    crc32c: str | None
    md5: str | None
    generation: int | None


def parts_for_window(hours: float, offset_hours: float = 0.0) -> range:
    """2011 part numbers covering [offset, offset + hours) of trace time (500 slices of 5011.2 s)."""
    trace_hours = (TRACE_END_2011_US - WINDOW_OPEN_US) / 3.6e9
    if not (math.isfinite(hours) and hours > 0):
        raise ConfigError(f"--hours must be > 0, got {hours}")
    if not (math.isfinite(offset_hours) and 0 <= offset_hours < trace_hours):
        raise ConfigError(f"--offset-hours must be in [0, {trace_hours:.1f}), got {offset_hours}")
    start_us = offset_hours * 3.6e9
    end_us = min(start_us + hours * 3.6e9, TRACE_END_2011_US - WINDOW_OPEN_US)
    first = int(start_us // PART_US_2011)
    last = min(PARTS_2011 - 1, math.ceil(end_us / PART_US_2011) - 1)
    return range(first, last + 1)


def make_client(endpoint: str | None = None) -> Any:
    """Anonymous client for the public buckets; `endpoint` (e.g. an emulator) overrides the host."""
    from google.cloud import storage

    endpoint = endpoint or os.environ.get("STORAGE_EMULATOR_HOST")
    if not endpoint:
        return storage.Client.create_anonymous_client()
    if not endpoint.startswith(("http://", "https://")):
        raise ConfigError(f"--endpoint must be an http(s) URL, got {endpoint!r}")
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials

    return storage.Client(project="marlform-anonymous", credentials=AnonymousCredentials(),
                          client_options=ClientOptions(api_endpoint=endpoint))


def plan(client: Any, version: TraceVersion, tables: list[str], *, hours: float | None = None,
         offset_hours: float = 0.0, cell: str = "a", shards: int | None = None) -> list[RemoteObject]:
    """The objects a request needs, with sizes and checksums, listed before any download."""
    unknown = [t for t in tables if t not in TABLES.get(version, ())]
    if version not in TABLES or unknown or not tables:
        raise ConfigError(f"{version} tables are {', '.join(TABLES.get(version, ()))}; got {tables}")
    chosen: list[RemoteObject] = []
    if version == "2011":
        parts = parts_for_window(hours if hours is not None else 24.0, offset_hours)
        for table in tables:
            listed = _list(client, BUCKET_2011, f"{table}/", table)
            if table == "machine_events":  # one part for the whole trace
                wanted = set(listed)
            else:
                wanted = {f"{table}/part-{n:05d}-of-{PARTS_2011:05d}.csv.gz" for n in parts}
            missing = sorted(wanted - set(listed))
            if missing:
                raise FetchError(f"gs://{BUCKET_2011}: missing {', '.join(missing[:3])}")
            chosen += [listed[name] for name in sorted(wanted)]
    else:
        if hours is not None:
            raise ConfigError("2019 shards are not split by time; choose --shards instead of --hours")
        bucket = bucket_2019(cell)
        for table in tables:
            listed = _list(client, bucket, f"{table}-", table)
            if not listed:
                raise FetchError(f"gs://{bucket}: no objects named {table}-*")
            chosen += [listed[name] for name in sorted(listed)[: shards or None]]
    return chosen


def _list(client: Any, bucket: str, prefix: str, table: str) -> dict[str, RemoteObject]:
    from google.api_core import exceptions

    try:
        blobs = list(client.list_blobs(bucket, prefix=prefix))
    except exceptions.GoogleAPIError as exc:
        raise FetchError(f"cannot list gs://{bucket}/{prefix}*: {exc}") from None
    return {b.name: RemoteObject(table, bucket, b.name, int(b.size), b.crc32c, b.md5_hash,
                                 b.generation) for b in blobs}


def fetch(client: Any, objects: list[RemoteObject], dest: str | Path, *,
          max_gb: float = DEFAULT_MAX_GB, chunk_bytes: int = CHUNK_BYTES,
          on_progress: ProgressHook | None = None, request: dict[str, Any] | None = None,
          show_progress: bool = False) -> dict[str, Any]:
    """Download `objects` under `dest/<bucket>/`, capped, resumable, verified; return the manifest."""
    if not objects:
        raise ConfigError("nothing to fetch")
    cap = int(max_gb * GB)
    total = sum(o.bytes for o in objects)
    if total > cap:
        biggest = sorted(objects, key=lambda o: -o.bytes)[:3]
        raise SizeCapError(
            f"{len(objects)} objects total {total / GB:.2f} GB, over the {max_gb:g} GB cap; nothing "
            f"was downloaded. Largest: {', '.join(f'{o.name} ({o.bytes / GB:.3f} GB)' for o in biggest)}."
            " Narrow --hours/--tables or raise --max-gb."
        )
    buckets = {o.bucket for o in objects}
    if len(buckets) != 1:
        raise ConfigError(f"one bucket per fetch, got {sorted(buckets)}")
    root = Path(dest) / buckets.pop()
    received = [0]
    entries = []
    with _progress(show_progress, total) as advance:
        def hook(name: str, done: int, size: int, step: int) -> None:
            advance(step)
            if on_progress:
                on_progress(name, done, size)

        for obj in objects:
            entries.append(_download(client, obj, root, cap, received, chunk_bytes, hook))
    files = [{**entry, **_file_stats(root / entry["path"], entry["table"])} for entry in entries]
    starts = [f["time_min_us"] for f in files if f.get("time_min_us") is not None]
    ends = [f["time_max_us"] for f in files if f.get("time_max_us") is not None]
    manifest = {
        "trace_version": "2011" if root.name == BUCKET_2011 else "2019",
        "bucket": root.name,
        "tables": sorted({o.table for o in objects}),
        "request": request or {},
        "files": files,
        "total_bytes": total,
        "bytes_received": received[0],
        "rows": sum(f["rows"] for f in files),
        "time_range_us": [min(starts), max(ends)] if starts else None,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    manifest["hash"] = manifest_hash(files)
    atomic_write_json(root / MANIFEST_FILE, manifest)
    return manifest


def _download(client: Any, obj: RemoteObject, root: Path, cap: int, received: list[int],
              chunk_bytes: int, hook: Callable[[str, int, int, int], None]) -> dict[str, Any]:
    """One object by byte ranges into `.partial`, resumed if the generation still matches."""
    path = root / obj.name
    entry = {"table": obj.table, "object": f"gs://{obj.bucket}/{obj.name}", "path": obj.name,
             "bytes": obj.bytes, "crc32c": obj.crc32c, "md5": obj.md5, "generation": obj.generation}
    if path.is_file() and path.stat().st_size == obj.bytes and _verified(path, obj, quiet=True):
        hook(obj.name, obj.bytes, obj.bytes, obj.bytes)
        return {**entry, "resumed_from": obj.bytes, "downloaded": 0}
    partial = path.with_name(path.name + ".partial")
    sidecar = path.with_name(path.name + ".partial.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    start = 0
    if partial.is_file() and sidecar.is_file() and \
            json.loads(sidecar.read_text()).get("generation") == obj.generation:
        start = min(partial.stat().st_size, obj.bytes)
    else:
        partial.unlink(missing_ok=True)
        atomic_write_json(sidecar, {"generation": obj.generation, "object": entry["object"]})
    hook(obj.name, start, obj.bytes, start)
    blob = client.bucket(obj.bucket).blob(obj.name, generation=obj.generation)
    position = start
    with open(partial, "ab") as handle:
        # Read until the object ends, not until its listed size: the cap must also hold
        # when an object turns out bigger than listed.
        while True:
            data = _range(blob, position, chunk_bytes)
            handle.write(data)
            handle.flush()
            position += len(data)
            received[0] += len(data)
            if received[0] > cap:
                raise SizeCapError(
                    f"stopped: {received[0] / GB:.3f} GB received passes the {cap / GB:g} GB cap "
                    f"(at {entry['object']}); the partial file is kept for a later resume"
                )
            hook(obj.name, position, obj.bytes, len(data))
            if len(data) < chunk_bytes:
                break
        os.fsync(handle.fileno())
    if position != obj.bytes:
        partial.unlink(missing_ok=True)
        raise FetchError(f"{entry['object']}: got {position} bytes, the listing said {obj.bytes}; "
                         "run fetch again")
    _verified(partial, obj, quiet=False)  # raises ChecksumError on a mismatch
    os.replace(partial, path)
    sidecar.unlink(missing_ok=True)
    return {**entry, "resumed_from": start, "downloaded": obj.bytes - start}


def _range(blob: Any, position: int, length: int) -> bytes:
    """Bytes [position, position + length) of a blob; empty at the end of the object."""
    from google.api_core import exceptions

    try:
        return blob.download_as_bytes(start=position, end=position + length - 1, checksum=None,
                                      raw_download=True)
    except exceptions.RequestRangeNotSatisfiable:
        return b""


def _verified(path: Path, obj: RemoteObject, *, quiet: bool) -> bool:
    """crc32c and md5 of the local bytes against the object metadata; a mismatch deletes them."""
    if not obj.crc32c and not obj.md5:
        raise ChecksumError(f"gs://{obj.bucket}/{obj.name}: the object has no crc32c or md5 to verify")
    problems = []
    if obj.crc32c and crc32c_file(path) != obj.crc32c:
        problems.append("crc32c")
    if obj.md5:
        digest = hashlib.md5(usedforsecurity=False)
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
        if base64.b64encode(digest.digest()).decode() != obj.md5:
            problems.append("md5")
    if not problems:
        return True
    if quiet:
        return False
    path.unlink(missing_ok=True)
    path.with_name(path.name.removesuffix(".partial") + ".partial.json").unlink(missing_ok=True)
    raise ChecksumError(
        f"gs://{obj.bucket}/{obj.name}: {' and '.join(problems)} mismatch: the downloaded bytes are "
        "not the object's; the corrupt download was deleted, run fetch again"
    )


def _file_stats(path: Path, table: str) -> dict[str, Any]:
    """Rows and time range of one downloaded file (read once, every column as text)."""
    import duckdb

    column = "start_time" if table.endswith("usage") else "time"
    src = str(path).replace("'", "''")
    if path.name.endswith((".json", ".json.gz")):
        source = f"read_json('{src}', format='newline_delimited', columns={{'{column}': 'VARCHAR'}})"
    else:
        from trace_pipeline.schema import COLUMNS_2011

        spec = ", ".join(f"'{name}': 'VARCHAR'" for name, _, _ in COLUMNS_2011[table])
        source = f"read_csv('{src}', columns={{{spec}}}, header=false, auto_detect=false, " \
                 "null_padding=true, ignore_errors=true)"
    t = f"TRY_CAST({column} AS BIGINT)"
    with duckdb.connect() as con:
        rows, lo, hi = con.execute(
            f"SELECT count(*), min({t}) FILTER ({t} > 0 AND {t} < {2**63 - 1}), "
            f"max({t}) FILTER ({t} > 0 AND {t} < {2**63 - 1}) FROM {source}").fetchone()
    return {"rows": rows, "time_min_us": lo, "time_max_us": hi}


class _progress:
    """A rich byte progress bar when asked for, else a no-op advance()."""

    def __init__(self, enabled: bool, total: int):
        self.enabled, self.total = enabled, total
        self._bar: Any = None

    def __enter__(self) -> Callable[[int], None]:
        if not self.enabled:
            return lambda step: None
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._bar = Progress(TextColumn("fetch"), BarColumn(), DownloadColumn(),
                             TransferSpeedColumn(), TimeRemainingColumn())
        self._bar.__enter__()
        task = self._bar.add_task("fetch", total=self.total)
        return lambda step: self._bar.advance(task, step)

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)


def remote_summary(objects: list[RemoteObject]) -> dict[str, Any]:
    """What a plan would download, for --dry-run and the CLI."""
    return {"objects": [asdict(o) for o in objects], "count": len(objects),
            "total_bytes": sum(o.bytes for o in objects),
            "total_gb": round(sum(o.bytes for o in objects) / GB, 4)}
