"""The windows table (the parquet schema of a prepared trace), from the sums in numpy.

One row per (window, class), dense, ordered by window and then class name. The
lifecycle and event sums are numpy arrays already, so the table is assembled here
and written by pyarrow: no DuckDB connection for a trace read the fast way without
usage (opening one and loading the sums into it cost about 50 ms of a 0.6 s run).
A metric whose table is absent is NULL; used resources are NULL outside the windows
the usage table covers and 0 inside them where a class used nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq  # here, not in a function: importing it costs ~15 ms

from trace_pipeline.schema import WINDOW_S, WORKLOAD_CLASSES


@dataclass(frozen=True)
class Sums:
    """What the roles found, per (class, metric, window) over windows w0..w0 + n - 1; None
    where the role's table is absent. Machine arrays have one class row (the cell)."""

    requested: np.ndarray | None = None  # mean cpu, memory requested (float)
    events: np.ndarray | None = None  # arrivals, evictions, failures (int)
    used: np.ndarray | None = None  # cpu, memory used (float), 0 where no usage row
    used_span: tuple[int, int] | None = None  # windows the usage table covers (inclusive)
    capacity: np.ndarray | None = None  # mean machine cpu, memory, machines (float)
    removals: np.ndarray | None = None  # machine removals (int)


def windows_table(w0: int, n_windows: int, sums: Sums) -> Any:
    """The windows as a pyarrow Table: window, time_s, workload_class, then `METRICS`."""
    names = sorted(WORKLOAD_CLASSES)  # rows by window, then class name
    classes = np.array([WORKLOAD_CLASSES.index(name) for name in names])
    window = np.arange(w0, w0 + n_windows, dtype=np.int64)
    rows = n_windows * len(names)

    def per_class(values: np.ndarray | None, metric: int, valid: np.ndarray | None = None) -> Any:
        """One metric as a column (class arrays are (class, metric, window)); NULL if absent."""
        if values is None:
            return pa.nulls(rows, pa.float64())
        cells = values[:, metric, :]
        cells = cells[classes] if len(cells) > 1 else np.repeat(cells, len(names), axis=0)
        column = np.ascontiguousarray(cells.T).ravel()
        if valid is None:
            return pa.array(column)
        return pa.array(column, mask=np.repeat(~valid, len(names)))

    covered = None
    if sums.used is not None:
        covered = np.zeros(n_windows, dtype=bool)
        if sums.used_span is not None:
            lo, hi = sums.used_span
            covered[max(lo - w0, 0):max(hi - w0 + 1, 0)] = True
    return pa.table({
        "window": np.repeat(window, len(names)),
        "time_s": np.repeat(window * WINDOW_S, len(names)),
        "workload_class": pa.array(names * n_windows, pa.string()),
        "cpu_requested": per_class(sums.requested, 0),
        "memory_requested": per_class(sums.requested, 1),
        "cpu_used": per_class(sums.used, 0, covered),
        "memory_used": per_class(sums.used, 1, covered),
        "arrivals": per_class(sums.events, 0),
        "evictions": per_class(sums.events, 1),
        "failures": per_class(sums.events, 2),
        "machine_cpu_capacity": per_class(sums.capacity, 0),
        "machine_memory_capacity": per_class(sums.capacity, 1),
        "machines": per_class(sums.capacity, 2),
        "machine_removals": per_class(sums.removals, 0),
    })


def write_parquet(table: Any, path: Path) -> None:
    pq.write_table(table, path, compression="zstd")
