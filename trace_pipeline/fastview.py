"""The fast path's role views, in numpy: the rows DuckDB's SQL views give, and its key hash.

The exact path stages a 2011 table in DuckDB and reads it through the role's SQL view
(`prepare._VIEWS`: renamed columns, each task's class from `schema.CLASS_SQL_2011`), in
buckets chosen by DuckDB's `hash(key) % count`. The fast path parses each file with pyarrow
and needs the very same rows and buckets, so that both paths sum the same values in the same
order (bit-identical output). Computing them here, on the thread that parsed the file, costs a
few milliseconds per file; a DuckDB connection and a query per file cost about 0.14 CPU
seconds for five task_events parts, most of it on one thread while the other parsed.
`tests/trace_pipeline/test_fast_path.py` checks the hash and the class codes against DuckDB.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from trace_pipeline.schema import AFTER_WINDOW_US, COLUMNS_2011, WORKLOAD_CLASSES

#: A role's rows: one numpy column per name, missing values masked (data 0 under the mask).
Rows = dict[str, np.ma.MaskedArray]

#: Per role: its table, (view column, table column) in the order of the SQL view, and the
#: entity key.
VIEWS_2011: dict[str, tuple[str, tuple[tuple[str, str], ...], tuple[str, ...]]] = {
    "tasks": ("task_events",
              (("job_id", "job_id"), ("task_index", "task_index"), ("time", "time"),
               ("ev", "event_type"), ("cpu", "cpu_request"), ("mem", "memory_request")),
              ("job_id", "task_index")),
    "machines": ("machine_events",
                 (("machine_id", "machine_id"), ("time", "time"), ("ev", "event_type"),
                  ("cpus", "cpus"), ("memory", "memory")),
                 ("machine_id",)),
}
_DTYPES = {"BIGINT": np.int64, "INTEGER": np.int32, "DOUBLE": np.float64}

_MIX = np.uint64(0xD6E8FEB86659FD93)
_SHIFT = np.uint64(32)


def _murmur(values: np.ndarray) -> np.ndarray:
    """DuckDB's hash of one BIGINT (MurmurHash64 of its bits), in place on a fresh copy."""
    h = values.astype(np.uint64)
    tmp = np.empty_like(h)
    for _ in range(2):
        h ^= np.right_shift(h, _SHIFT, out=tmp)
        h *= _MIX
    h ^= np.right_shift(h, _SHIFT, out=tmp)
    return h


def duckdb_hash(*keys: np.ndarray) -> np.ndarray:
    """DuckDB's `hash(k1, k2, ...)` of non-missing BIGINT keys, as uint64 (DuckDB 1.x/2.x:
    the first key's hash, then per key `(h ^ h >> 32) * M ^ hash(key)`)."""
    h = _murmur(keys[0])
    for key in keys[1:]:
        h ^= h >> _SHIFT
        h *= _MIX
        h ^= _murmur(key)
    return h


def class_codes_2011(priority: np.ndarray, scheduling_class: np.ma.MaskedArray) -> np.ndarray:
    """`schema.CLASS_SQL_2011` as the index into WORKLOAD_CLASSES (int32, as DuckDB's CASE):
    best-effort at priority <= 1, production at priority >= 9 or scheduling class >= 2 (a
    missing scheduling class is not >= 2), batch otherwise. `priority` is never missing."""
    latency = np.ma.filled(scheduling_class, 0) >= 2
    code = np.full(len(priority), WORKLOAD_CLASSES.index("batch"), dtype=np.int32)
    code[(priority >= 9) | latency] = WORKLOAD_CLASSES.index("production")
    code[priority <= 1] = WORKLOAD_CLASSES.index("best_effort")
    return code


def masked(column: Any) -> np.ma.MaskedArray:
    """A pyarrow (chunked) array as one numpy array, missing values masked over zeros."""
    if column.null_count:
        return np.ma.MaskedArray(column.fill_null(0).to_numpy(),
                                 column.is_null().to_numpy(zero_copy_only=False))
    return np.ma.MaskedArray(column.to_numpy())


def view_2011(role: str, batches: Iterable[Any],
              capacity: int = 1 << 16) -> tuple[Rows, np.ndarray]:
    """A parsed 2011 file, block by block (pyarrow record batches), as the rows of the role's
    view and their key hash. Each block is converted into arrays of `capacity` rows (grown if
    the file has more; pages past the last row are never touched) and dropped, and the hash
    and the class are computed block by block, in the cache: the file's columns are never
    held twice."""
    table, names, key = VIEWS_2011[role]
    kinds = {name: kind for name, kind, _ in COLUMNS_2011[table]}
    dtypes = {name: _DTYPES[kinds[column]] for name, column in names}
    dtypes |= {"cls": np.int32} if role == "tasks" else {}
    out = _Growing(capacity, {**dtypes, _HASH: np.uint64})
    for batch in batches:
        n = batch.num_rows
        for name, column in names:
            out.put(name, batch.column(column), n)
        if role == "tasks":
            out.put("cls", class_codes_2011(np.asarray(batch.column("priority")),
                                            masked(batch.column("scheduling_class"))), n)
        out.put(_HASH, duckdb_hash(*(np.asarray(batch.column(dict(names)[k])) for k in key)), n)
        out.rows += n
    rows = out.finish()
    return rows, np.ma.getdata(rows.pop(_HASH))


_HASH = "\0hash"  # the key hash among a view's arrays while it is built


class _Growing:
    """Columns filled block by block: numpy arrays of some capacity, doubled when full, cut
    to the rows filled at the end (in place: the unused tail goes back to the allocator)."""

    def __init__(self, capacity: int, dtypes: dict[str, Any]):
        self.capacity, self.rows = max(capacity, 1), 0
        self.data = {name: np.empty(self.capacity, dtype) for name, dtype in dtypes.items()}
        self.masks: dict[str, np.ndarray] = {}

    def put(self, name: str, values: Any, n: int) -> None:
        """A block's `n` values of one column (a pyarrow or a numpy array)."""
        while self.rows + n > self.capacity:
            self.capacity *= 2
            for array in (*self.data.values(), *self.masks.values()):
                array.resize(self.capacity, refcheck=False)  # realloc; the new tail is zeros
        target = slice(self.rows, self.rows + n)
        if not isinstance(values, np.ndarray):
            if values.null_count:
                if name not in self.masks:
                    self.masks[name] = np.zeros(self.capacity, dtype=bool)
                self.masks[name][target] = values.is_null().to_numpy(zero_copy_only=False)
                values = values.fill_null(0)
            values = values.to_numpy()
        self.data[name][target] = values

    def finish(self) -> Rows:
        out = {}
        for name, array in self.data.items():
            array.resize(self.rows, refcheck=False)
            mask = self.masks.get(name)
            if mask is not None:
                mask.resize(self.rows, refcheck=False)
            out[name] = np.ma.MaskedArray(array, mask) if mask is not None \
                else np.ma.MaskedArray(array)
        return out


def event_stats(rows: Rows) -> dict[str, Any]:
    """`prepare._table_stats` of one file of events, from its view rows (`time` and `ev` are
    mandatory, never missing): the span of its times strictly inside the trace window (µs),
    the rows at time 0, and the count of each event type."""
    time, ev = np.ma.getdata(rows["time"]), np.ma.getdata(rows["ev"])
    inside = time[(time > 0) & (time < AFTER_WINDOW_US)]
    if ev.size and ev.min() >= 0 and ev.max() < 1024:
        counts = np.bincount(ev)
        codes = np.flatnonzero(counts)
        counts = counts[codes]
    else:
        codes, counts = np.unique(ev, return_counts=True)
    return {"time_min_us": int(inside.min()) if inside.size else None,
            "time_max_us": int(inside.max()) if inside.size else None,
            "rows_at_time_zero": int(np.count_nonzero(time == 0)),
            "event_counts": {str(k): int(n) for k, n in zip(codes.tolist(), counts.tolist(),
                                                           strict=True)}}
