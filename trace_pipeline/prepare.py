"""Preprocessing: trace tables -> 5-minute windows per workload class, cached as parquet.

Each window holds CPU and memory requested (from task lifecycles), CPU and
memory used (task_usage / instance_usage), task arrivals, evictions and
failures, and the cell's machine capacity and removals. Requested resources are
time-weighted averages over the window of the requests of the tasks running in
it: a task runs from SCHEDULE (or UPDATE_RUNNING) to its next event, so a task
that runs across part boundaries is counted once, in every window it touches.

How it runs, and why memory stays bounded for inputs of many GB. For the 2011
trace pyarrow parses first (`readers.read_2011_fast`: one file per core, the
largest first); each file of task or machine events becomes, block by block on
the thread that parsed it, the rows of the role's view with DuckDB's hash of the
entity key, computed in numpy (`fastview`: the same rows and hash as the SQL view
of the exact way), and goes straight into a `BucketStore`: rows stay in memory up
to a quarter of `memory_limit` and are spilled to disk past it. Lifecycles are
computed in numpy (`lifecycles.py`) over buckets of whole tasks (or machines),
one bucket per core at a time. If the fast reader cannot vouch for a file, the
exact reader (DuckDB, which names every malformed row) stages the table in DuckDB,
spilling past `memory_limit`, and the same buckets are fetched from there by SQL;
the output is the same bit for bit. Usage is summed by DuckDB. The windows table
is assembled in numpy and written by pyarrow (`windows.py`); DuckDB is opened only
for what needs it (the exact reader, usage, the 2019 trace). The output lives in
`<cache>/<key>/`, where the key hashes the input manifest and the pipeline
options; the folder appears by one rename only once everything succeeded, so a
failed run leaves no partial cache behind (spills live inside it).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from gcp.files import atomic_write_json
from trace_pipeline.buckets import BucketStore
from trace_pipeline.errors import ConfigError, TraceError
from trace_pipeline.fastview import Rows, event_stats, view_2011
from trace_pipeline.lifecycles import event_counts, latest, step_levels
from trace_pipeline.manifest import file_checksums, manifest_hash
from trace_pipeline.readers import (
    MAX_BAD_FRACTION,
    FastPathRefused,
    TableScan,
    check_threshold,
    find_tables,
    read_2011_fast,
    sniff_2011,
    stage_2011,
    stage_2019,
    stored_2011,
    text_bytes,
)
from trace_pipeline.schema import (
    AFTER_WINDOW_US,
    CLASS_SQL_2011,
    CLASS_SQL_2019,
    PART_US_2011,
    WINDOW_OPEN_US,
    WINDOW_S,
    WORKLOAD_CLASSES,
    TraceVersion,
)
from trace_pipeline.windows import Sums, windows_table, write_parquet

PIPELINE_VERSION = "1"
W_US = WINDOW_S * 1_000_000
WINDOWS_FILE = "windows.parquet"
META_FILE = "meta.json"
METRICS = ("cpu_requested", "memory_requested", "cpu_used", "memory_used", "arrivals",
           "evictions", "failures", "machine_cpu_capacity", "machine_memory_capacity",
           "machines", "machine_removals")

#: Per version: which table plays which role, and how its rows map to one event vocabulary
#: (the 2011 codes: 0 SUBMIT, 1 SCHEDULE, 2 EVICT, 3 FAIL, 4-6 end, 7 pending, 8 running update).
_ROLES: dict[str, dict[str, str]] = {
    "2011": {"tasks": "task_events", "usage": "task_usage", "machines": "machine_events"},
    "2019": {"tasks": "instance_events", "usage": "instance_usage", "machines": "machine_events"},
}
_VIEWS: dict[str, dict[str, str]] = {
    "2011": {
        "tasks": f"SELECT job_id, task_index, time, event_type AS ev, cpu_request AS cpu, "
                 f"memory_request AS mem, {CLASS_SQL_2011} AS cls FROM task_events",
        "usage": "SELECT job_id, task_index, start_time, end_time, cpu_rate AS cpu, "
                 "canonical_memory AS mem FROM task_usage",
        "machines": "SELECT machine_id, time, event_type AS ev, cpus, memory FROM machine_events",
    },
    "2019": {
        "tasks": "SELECT collection_id AS job_id, instance_index AS task_index, time, "
                 "CASE event_type WHEN 0 THEN 0 WHEN 3 THEN 1 WHEN 4 THEN 2 WHEN 5 THEN 3 "
                 "WHEN 6 THEN 4 WHEN 7 THEN 5 WHEN 8 THEN 6 WHEN 10 THEN 8 ELSE 7 END AS ev, "
                 "cpu_request AS cpu, memory_request AS mem, "
                 f"CASE WHEN priority IS NULL THEN NULL ELSE {CLASS_SQL_2019} END AS cls "
                 "FROM instance_events",
        "usage": "SELECT collection_id AS job_id, instance_index AS task_index, start_time, "
                 "end_time, avg_cpus AS cpu, avg_memory AS mem FROM instance_usage",
        "machines": "SELECT machine_id, time, event_type - 1 AS ev, cpus, memory "
                    "FROM machine_events",
    },
}


#: The 2011 columns the views read (readers also keep the mandatory ones); every column is
#: parsed and checked, the rest are not stored.
_STORED_2011: dict[str, tuple[str, ...]] = {
    "task_events": ("job_id", "task_index", "time", "event_type", "cpu_request",
                    "memory_request", "priority", "scheduling_class"),
    "task_usage": ("job_id", "task_index", "start_time", "end_time", "cpu_rate",
                   "canonical_memory"),
    "machine_events": ("machine_id", "time", "event_type", "cpus", "memory"),
}


_CODE = " ".join(f"WHEN '{c}' THEN {i}" for i, c in enumerate(WORKLOAD_CLASSES))
#: Roles worked on in numpy, in buckets of whole entities: the entity key, and the columns of
#: the role's view handed over (the class as its index in WORKLOAD_CLASSES).
_BUCKETED: dict[str, tuple[str, str]] = {
    "tasks": ("job_id, task_index", f"time, ev, cpu, mem, CASE cls {_CODE} END AS cls"),
    "machines": ("machine_id", "time, ev, cpus, memory"),
}


@dataclass(frozen=True)
class Prepared:
    """A prepared trace: the parquet of windows, its metadata, and whether it came from cache."""

    path: Path
    meta: dict[str, Any]
    cached: bool

    @property
    def windows(self) -> Path:
        return self.path / WINDOWS_FILE


def default_cache() -> Path:
    return Path(os.environ.get("MARLFORM_TRACE_CACHE", "~/.cache/marlform/traces")).expanduser()


def prepare(
    root: str | Path,
    *,
    version: TraceVersion = "2011",
    cache_dir: str | Path | None = None,
    max_bad_fraction: float = MAX_BAD_FRACTION,
    memory_limit: str = "1GB",
    threads: int | None = None,
) -> Prepared:
    """Prepare the trace under `root` (bucket layout), or return the cached result at once."""
    root = Path(root)
    if version not in _ROLES:
        raise ConfigError(f"trace version must be 2011 or 2019, got {version!r}")
    if not root.is_dir():
        raise ConfigError(f"{root}: not a folder")
    # In memory, but bounded: past memory_limit DuckDB spills to its temp_directory, and the
    # fast reader keeps at most a quarter of it of parsed rows in memory, spilling the rest.
    held_bytes = _parse_bytes(memory_limit) // 4
    tables = find_tables(root, version)
    if not tables:
        raise ConfigError(f"{root}: no {version} trace tables found (expected the bucket layout)")
    used = set(_ROLES[version].values())  # job_events / collection_events are read, not aggregated
    files = sorted(p for table, paths in tables.items() if table in used for p in paths)
    inputs = file_checksums(root, files)
    key = manifest_hash({"inputs": inputs, "version": version, "pipeline": PIPELINE_VERSION,
                         "window_s": WINDOW_S, "classes": [CLASS_SQL_2011, CLASS_SQL_2019]})[:16]
    cache = Path(cache_dir) if cache_dir is not None else default_cache()
    final = cache / key
    if (final / META_FILE).is_file() and (final / WINDOWS_FILE).is_file():
        return Prepared(final, json.loads((final / META_FILE).read_text()), cached=True)

    import pyarrow as pa

    # The system allocator hands freed parse buffers back; pyarrow's default pool (mimalloc in
    # these wheels) keeps them, so peak memory grew with the number of files parsed: 5 parts
    # against 1 was 1.11-1.2x, and 1.03-1.05x with this pool (benchmarks/trace_prepare.py).
    pa.set_memory_pool(pa.system_memory_pool())
    build = cache / f".build-{key}-{os.getpid()}"
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir(parents=True)
    try:
        meta = _build(build, root, version, tables, max_bad_fraction, memory_limit, held_bytes,
                      threads)
        meta.update(key=key, inputs=inputs, root=str(root))
        atomic_write_json(build / META_FILE, meta)
        try:
            os.replace(build, final)
        except OSError:  # another run finished the same key first; theirs is as good
            if not (final / META_FILE).is_file():
                raise
    finally:
        shutil.rmtree(build, ignore_errors=True)
    return Prepared(final, json.loads((final / META_FILE).read_text()), cached=False)


def _build(build: Path, root: Path, version: str, tables: dict[str, list[Path]],
           max_bad_fraction: float, memory_limit: str, held_bytes: int,
           threads: int | None) -> dict[str, Any]:
    started = time.perf_counter()
    threads = threads or os.cpu_count() or 1
    con = _LazyConnection({
        "memory_limit": memory_limit, "threads": 1,  # see _parallel
        "temp_directory": str(build / "spill"), "preserve_insertion_order": False,
    })
    try:
        roles = _ROLES[version]
        present = {role for role, table in roles.items() if table in tables}
        staged = {role: _stage(con, version, role, tables[roles[role]], build, threads,
                               held_bytes) for role in sorted(present)}
        check_threshold([scan for scan, _, _ in staged.values()], max_bad_fraction)
        start_us, end_us = _coverage(version, tables, {r: s[1] for r, s in staged.items()})
        w0, w1 = math.ceil(start_us / W_US), end_us // W_US - 1
        if w1 < w0:
            raise TraceError(f"{root}: the input covers less than one {WINDOW_S} s window")
        sums, unclassified = _aggregate(con, {role: source for role, (_, _, source)
                                              in staged.items()}, start_us, end_us, w0, w1,
                                        threads)
        write_parquet(windows_table(w0, w1 - w0 + 1, sums), build / WINDOWS_FILE)
        stats = {scan.table: {**scan.to_dict(), **_seconds(table_stats)}
                 for _, (scan, table_stats, _) in sorted(staged.items())}
    finally:
        con.close()
    shutil.rmtree(build / "spill", ignore_errors=True)
    return {
        "pipeline_version": PIPELINE_VERSION, "version": version, "window_s": WINDOW_S,
        "windows": [w0, w1], "start_s": w0 * WINDOW_S, "end_s": (w1 + 1) * WINDOW_S,
        "coverage_us": [start_us, end_us], "classes": list(WORKLOAD_CLASSES),
        "tables": stats, "usage_unclassified_rows": int(unclassified),
        "seconds": round(time.perf_counter() - started, 3),
        "notes": _notes(version, tables, present),
    }


class _LazyConnection:
    """A DuckDB connection, opened on first use: a 2011 trace of task and machine events read
    the fast way needs none (opening one costs about 30 ms); the exact reader, the 2019
    trace and usage do."""

    def __init__(self, config: dict[str, Any]):
        self._config = config
        self._con: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._con is None:
            import duckdb

            self._con = duckdb.connect(":memory:", config=self._config)
        return getattr(self._con, name)

    def close(self) -> None:
        if self._con is not None:
            self._con.close()


@contextmanager
def _parallel(con: Any, threads: int) -> Iterator[None]:
    """DuckDB on `threads` threads for the block, on one otherwise. Most queries here are
    small (a view over one parsed file, statistics, the windows table) and run faster on the
    calling thread than by waking DuckDB's pool for each, above all on a busy machine; the
    exact reader's parse, the staging of usage and its sums are worth the pool. (Bucket
    fetches run one per worker thread, in parallel, either way.)"""
    con.execute(f"SET threads = {threads}")
    try:
        yield
    finally:
        con.execute("SET threads = 1")


#: Where a role's rows are: a DuckDB view (`v_<role>`), or a store of bucket-ready rows.
Source = str | BucketStore


def _stage(con: Any, version: str, role: str, files: list[Path], build: Path, threads: int,
           held_bytes: int) -> tuple[TableScan, dict[str, Any], Source]:
    """Read one role's table: its scan, its statistics (`_table_stats`) and where its rows are.

    2011 tables go the fast way (`readers.read_2011_fast`) unless it refuses, and then the
    exact way, which names every malformed row; the exact way stages into DuckDB.
    """
    table, view = _ROLES[version][role], _VIEWS[version][role]
    if version == "2011":
        headers = [sniff_2011(path, table) for path in files]
        stored = stored_2011(table, _STORED_2011[table])
        try:
            if role in _BUCKETED:
                return _stage_buckets(role, table, files, headers, stored, threads,
                                      BucketStore(build / "spill" / table, held_bytes))
            scan = TableScan(table, [str(f) for f in files], reader="pyarrow")
            with _parallel(con, threads):
                for index, rows in read_2011_fast(table, files, headers, stored, threads):
                    relation = con.from_arrow(rows)  # DuckDB's table spills past memory_limit
                    relation.insert_into(table) if index else relation.create(table)
                    scan.rows += rows.num_rows
        except FastPathRefused:
            con.execute(f"DROP TABLE IF EXISTS {table}")
            shutil.rmtree(build / "spill" / table, ignore_errors=True)
            with _parallel(con, threads):
                scan = stage_2011(con, table, files, headers, table, stored)
    else:
        with _parallel(con, threads):
            scan = stage_2019(con, table, files, table)
    con.execute(f"CREATE VIEW v_{role} AS {view}")
    return scan, _table_stats(con, table), f"v_{role}"


def _stage_buckets(role: str, table: str, files: list[Path], headers: list[bool],
                   stored: list[str], threads: int,
                   store: BucketStore) -> tuple[TableScan, dict[str, Any], Source]:
    """The fast way for a bucketed role: each file, on the thread that parsed it, becomes the
    rows of the role's view with their key hash (`fastview`, the same rows and hash as the
    SQL) and goes into `store` (which may write it to disk there and then), in whatever
    order the files finish; the statistics are summed file by file."""
    def view(index: int, batches: Iterator[Any]) -> dict[str, Any]:
        # Room for a row per 32 bytes of text (rows of task events take ~100; more rows
        # grow the arrays): only the pages the rows fill are ever touched.
        room = min(text_bytes(files[index]) // 32, 1 << 22) + 1024
        rows, hashes = view_2011(role, batches, room)
        store.add(index, rows, hashes)
        return event_stats(rows)

    parts = [stats for _, stats in read_2011_fast(table, files, headers, stored, threads,
                                                   then=view, ordered=False)]
    scan = TableScan(table, [str(f) for f in files], rows=store.rows, reader="pyarrow")
    return scan, _sum_stats(parts), store


def _coverage(version: str, tables: dict[str, list[Path]],
              stats: dict[str, dict[str, Any]]) -> tuple[int, int]:
    """The time range the task tables cover: by part number for 2011, else by event times."""
    if version == "2011" and "tasks" in stats:
        parts = [re.search(r"part-(\d+)-of-(\d+)", p.name) for p in tables["task_events"]]
        if all(parts):
            numbers = [int(m.group(1)) for m in parts]  # type: ignore[union-attr]
            return (int(WINDOW_OPEN_US + min(numbers) * PART_US_2011),
                    int(WINDOW_OPEN_US + (max(numbers) + 1) * PART_US_2011))
    lows = [s["time_min_us"] for s in stats.values() if s["time_min_us"] is not None]
    highs = [s["time_max_us"] for s in stats.values() if s["time_max_us"] is not None]
    if not lows:
        raise TraceError("the input has no timed rows inside the trace window")
    return max(WINDOW_OPEN_US, min(lows)), max(highs) + 1


def _aggregate(con: Any, sources: dict[str, Source], start_us: int, end_us: int, w0: int,
               w1: int, threads: int) -> tuple[Sums, int]:
    """The sums of every role over windows w0..w1, and the usage rows of no known class."""
    import pyarrow as pa

    present = set(sources)
    span, windows, n_classes = (start_us, end_us), (w0, w1), len(WORKLOAD_CLASSES)
    sums: dict[str, Any] = {}
    unclassified = 0
    if "tasks" in present:
        with_class = "usage" in present  # usage rows carry no priority: a task's latest class

        def tasks(rows: Rows) -> tuple[np.ndarray, np.ndarray, Any]:
            ev = np.ma.getdata(rows["ev"])
            keys, rank = (rows["job_id"], rows["task_index"]), _rank(ev, _TASK_RANK)
            # Requests follow the task's latest class; an event counts in its own row's class.
            return (step_levels(keys, rows["time"], rank, np.isin(ev, (1, 8)),
                                (rows["cpu"], rows["mem"]), rows["cls"], n_classes, span, windows),
                    event_counts(rows["time"], ev, rows["cls"], (0, 2, 3), n_classes, windows),
                    latest(keys, rows["time"], rank, rows["cls"]) if with_class else None)

        requested = events = 0
        if with_class:
            con.execute("CREATE TEMP TABLE task_class "
                        "(job_id BIGINT, task_index BIGINT, code INTEGER)")
        for levels, counts, latest_class in _map_buckets(con, sources["tasks"], "tasks", tasks,
                                                         threads):
            requested, events = requested + levels, events + counts
            if latest_class is not None:
                (job_id, task_index), code = latest_class
                con.from_arrow(pa.table({"job_id": job_id, "task_index": task_index,
                                         "code": code})).insert_into("task_class")
        sums.update(requested=_means(requested), events=events)
    if "usage" in present:
        sums.update(_usage(con, "tasks" in present, w0, w1, threads))
        unclassified = con.execute("SELECT coalesce(sum(n), 0) FROM usage_w "
                                   "WHERE cls IS NULL").fetchone()[0]
    if "machines" in present:
        def machines(rows: Rows) -> tuple[np.ndarray, np.ndarray]:
            ev, ones = np.ma.getdata(rows["ev"]), np.ones(len(rows["ev"]))
            cell = np.zeros(len(ev), dtype=np.int64)
            return (step_levels((rows["machine_id"],), rows["time"], _rank(ev, _MACHINE_RANK),
                                np.isin(ev, (0, 2)), (rows["cpus"], rows["memory"], ones),
                                cell, 1, span, windows),
                    event_counts(rows["time"], np.ma.filled(rows["ev"], -1), cell, (1,), 1,
                                 windows))

        capacity = removals = 0
        for levels, counts in _map_buckets(con, sources["machines"], "machines", machines,
                                           threads):
            capacity, removals = capacity + levels, removals + counts
        sums.update(capacity=_means(capacity), removals=removals)
    return Sums(**sums), unclassified


def _usage(con: Any, with_tasks: bool, w0: int, w1: int, threads: int) -> dict[str, Any]:
    """CPU and memory used per (class, window), summed by DuckDB (it spills past its limit):
    each usage row weighted by its overlap with each window, in its task's latest class."""
    names = "[" + ", ".join(f"'{c}'" for c in WORKLOAD_CLASSES) + "]"
    join = (f"LEFT JOIN (SELECT job_id, task_index, {names}[code + 1] AS cls FROM task_class)"
            " c USING (job_id, task_index)" if with_tasks
            else "LEFT JOIN (SELECT NULL::BIGINT AS job_id, NULL::BIGINT AS task_index, "
                 "NULL::VARCHAR AS cls) c USING (job_id, task_index)")
    with _parallel(con, threads):
        con.execute(f"""CREATE TEMP TABLE usage_w AS
        WITH u AS (SELECT *, unnest(range(start_time // {W_US}, (end_time - 1) // {W_US} + 1)) AS w
                   FROM v_usage WHERE end_time > start_time AND end_time < {AFTER_WINDOW_US})
        SELECT c.cls, u.w, sum(coalesce(u.cpu, 0) * (least(u.end_time, (u.w + 1) * {W_US})
                 - greatest(u.start_time, u.w * {W_US}))) / {W_US} AS cpu,
               sum(coalesce(u.mem, 0) * (least(u.end_time, (u.w + 1) * {W_US})
                 - greatest(u.start_time, u.w * {W_US}))) / {W_US} AS mem,
               count(*) AS n
        FROM u {join} GROUP BY ALL""")
    used = np.zeros((len(WORKLOAD_CLASSES), 2, w1 - w0 + 1))
    codes = {name: i for i, name in enumerate(WORKLOAD_CLASSES)}
    for cls, w, cpu, mem in con.execute(f"SELECT cls, w, cpu, mem FROM usage_w WHERE cls IS NOT "
                                        f"NULL AND w BETWEEN {w0} AND {w1}").fetchall():
        used[codes[cls], :, w - w0] = cpu, mem
    lo, hi = con.execute("SELECT min(w), max(w) FROM usage_w").fetchone()
    return {"used": used, "used_span": None if lo is None else (lo, hi)}


#: Rows per bucket handed to numpy: entities are split by a hash of their key into buckets of
#: about this many rows, so memory stays bounded by it whatever the input size.
BUCKET_ROWS = 250_000
T = TypeVar("T")
#: Same-time events of one entity, in order (position = event code; codes past the end rank
#: last): for tasks an end comes before a new SUBMIT, which comes before SCHEDULE; for
#: machines a REMOVE comes before an ADD.
_TASK_RANK = np.array([1, 3, 0, 0, 0, 0, 0, 2, 4])
_MACHINE_RANK = np.array([1, 0, 2])


def _rank(ev: np.ndarray, table: np.ndarray) -> np.ndarray:
    inside = (ev >= 0) & (ev < len(table))
    return np.where(inside, table[np.where(inside, ev, 0)], table.max())


def _map_buckets(con: Any, source: Source, role: str, work: Callable[[Rows], T],
                 threads: int) -> Iterator[T]:
    """`work` over a role's rows as numpy (missing values masked), in buckets of whole entities
    (`hash(key) % count`), yielded in bucket order; `threads` buckets at a time, so at most
    `threads` x BUCKET_ROWS rows are in memory at once. The buckets and their rows are the
    same whether the rows are in a DuckDB view or in a store, so the sums are bit-identical."""
    key, columns = _BUCKETED[role]
    store = source if isinstance(source, BucketStore) else None
    total = store.rows if store else con.execute(f"SELECT count(*) FROM {source}").fetchall()[0][0]
    count = max(threads, -(-total // BUCKET_ROWS))
    if store:
        store.split(count, threads)

    def one(bucket: int) -> T:
        if store:
            return work(store.bucket(bucket))
        cursor = con.cursor()
        try:
            rows = cursor.execute(f"SELECT {key}, {columns} FROM {source} "
                                  f"WHERE hash({key}) % {count} = {bucket}").fetchnumpy()
        finally:
            cursor.close()
        return work({name: np.ma.asarray(values) for name, values in rows.items()})

    if threads == 1:
        yield from map(one, range(count))
        return
    with ThreadPoolExecutor(threads) as pool:  # numpy, pyarrow and DuckDB release the GIL
        yield from pool.map(one, range(count))


def _parse_bytes(size: str) -> int:
    """'128MB', '1GB', '512MiB' (DuckDB's notation: MB = 1000², MiB = 1024²) in bytes."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(i?)B?\s*", size, re.IGNORECASE)
    if not match:
        raise ConfigError(f"memory limit {size!r}: expected a size such as 512MB or 2GB")
    number, prefix, binary = match.groups()
    power = "KMGT".index(prefix.upper()) + 1 if prefix else 0
    return int(float(number) * (1024 if binary else 1000) ** power)


def _means(sums: np.ndarray) -> np.ndarray:
    """Window means from value × time sums; round-off never makes a level negative."""
    return np.maximum(sums / W_US, 0.0)


def _table_stats(con: Any, table: str) -> dict[str, Any]:
    """Row time span (µs) and event-type counts of a staged table, for the summary and tests."""
    column = "start_time" if table.endswith("usage") else "time"
    lo, hi, at_zero = con.execute(
        f"SELECT min({column}) FILTER ({column} > 0 AND {column} < {AFTER_WINDOW_US}), "
        f"max({column}) FILTER ({column} > 0 AND {column} < {AFTER_WINDOW_US}), "
        f"count(*) FILTER ({column} = 0) FROM {table}").fetchone()
    stats: dict[str, Any] = {"time_min_us": lo, "time_max_us": hi, "rows_at_time_zero": at_zero}
    if not table.endswith("usage"):
        counts = con.execute(f"SELECT event_type, count(*) FROM {table} GROUP BY 1 ORDER BY 1")
        stats["event_counts"] = {str(k): v for k, v in counts.fetchall()}
    return stats


def _sum_stats(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """A table's `_table_stats` from those of its files."""
    lows = [p["time_min_us"] for p in parts if p["time_min_us"] is not None]
    highs = [p["time_max_us"] for p in parts if p["time_max_us"] is not None]
    stats: dict[str, Any] = {"time_min_us": min(lows, default=None),
                             "time_max_us": max(highs, default=None),
                             "rows_at_time_zero": sum(p["rows_at_time_zero"] for p in parts)}
    if "event_counts" in parts[0]:
        counts: Counter[str] = Counter()
        for part in parts:
            counts.update(part["event_counts"])
        stats["event_counts"] = {k: counts[k] for k in sorted(counts, key=int)}
    return stats


def _seconds(stats: dict[str, Any]) -> dict[str, Any]:
    """`_table_stats` as `meta.json` reports it: times in seconds."""
    lo, hi = stats["time_min_us"], stats["time_max_us"]
    return {"time_min_s": None if lo is None else lo / 1e6,
            "time_max_s": None if hi is None else hi / 1e6,
            **{k: v for k, v in stats.items() if not k.endswith("_us")}}


def _notes(version: str, tables: dict[str, list[Path]], present: set[str]) -> list[str]:
    notes = []
    if "tasks" not in present:
        notes.append(f"no {_ROLES[version]['tasks']}: requested resources and events are missing")
    elif version == "2011" and not any("part-00000-" in p.name for p in tables["task_events"]):
        notes.append("task_events does not start at part 0: tasks scheduled before the first "
                     "part are not in requested resources")
    if "usage" not in present:
        notes.append(f"no {_ROLES[version]['usage']}: used resources are missing")
    return notes


def read_windows(trace: str | Path) -> Any:
    """The windows table (pandas) of a prepared trace: its cache folder or its parquet."""
    import pyarrow.parquet as pq

    path = Path(trace)
    path = path / WINDOWS_FILE if path.is_dir() else path
    if not path.is_file():
        raise ConfigError(f"{trace}: not a prepared trace (no {WINDOWS_FILE}); run `marlform trace prepare`")
    return pq.read_table(path).to_pandas()


def read_class_series(trace: str | Path, workload_class: str, metric: str) -> tuple[np.ndarray, int]:
    """One class's metric per window, in time order, and the window length in seconds."""
    frame = read_windows(trace)
    if metric not in frame.columns:
        raise ConfigError(f"{trace}: no column {metric!r}")
    rows = frame[frame["workload_class"] == workload_class].sort_values("window")
    values = rows[metric].to_numpy(dtype=np.float64)
    if values.size == 0 or not np.all(np.isfinite(values)):
        raise ConfigError(f"{trace}: {metric} of class {workload_class} is missing or incomplete")
    return values, WINDOW_S
