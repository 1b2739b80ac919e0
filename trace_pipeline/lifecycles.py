"""Entity lifecycles (tasks, machines) as time-weighted levels per 5-minute window, in numpy.

An entity's events, ordered by (time, rank), cut its life into runs [t, t_next):
from each event to its next one (or to the end of the input). A run in a running
state holds the entity's latest known values (the last non-missing one at or
before the event), so a request given once at SUBMIT still counts at SCHEDULE.
The level of a class in a window is the sum of the values of its running
entities, averaged over the window's time.

Why numpy and not SQL window functions: one sort of the rows plus a few vector
passes is several times cheaper than DuckDB's partitioned window frames and the
sort of all run edges by time, and the caller feeds the rows in buckets of whole
entities, so memory stays bounded by the bucket size, not the input size.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from trace_pipeline.schema import AFTER_WINDOW_US, WINDOW_S

W_US = WINDOW_S * 1_000_000


def step_levels(
    keys: Sequence[np.ndarray],
    time: np.ndarray,
    rank: np.ndarray,
    running: np.ndarray,
    values: Sequence[np.ma.MaskedArray],
    cls: np.ma.MaskedArray,
    n_classes: int,
    span_us: tuple[int, int],
    windows: tuple[int, int],
) -> np.ndarray:
    """Sums of value × time per (class, value, window) over the runs of every entity given.

    `keys` identify the entity (all its rows must be in this call); rows are ordered
    by `time`, then `rank` (same-time events); `running` says which events start a
    running run. Run times are clamped to `span_us`; windows `w0..w1` (inclusive)
    are returned, shape (n_classes, len(values), w1 - w0 + 1). Divide by `W_US` for
    the mean level; sums of several buckets add up.
    """
    w0, w1 = windows
    n_windows = w1 - w0 + 1
    out = np.zeros((n_classes, len(values), n_windows))
    n = len(time)
    if n == 0:
        return out
    # As in SQL: a missing key is one more entity; a row without a time sorts last.
    ids = _entity_ids([np.ma.filled(key, -1) for key in keys])
    untimed = np.ma.getmaskarray(time)
    times = np.ma.filled(time, AFTER_WINDOW_US)
    order = np.lexsort((*_time_keys(times, rank), *([untimed] if untimed.any() else []),
                        *reversed(ids)))
    first = np.zeros(n, dtype=bool)
    first[0] = True
    for key in ids:
        k = key[order]
        first[1:] |= k[1:] != k[:-1]
    untimed = untimed[order]
    start_us, end_us = span_us
    t = times[order]
    np.maximum(t, start_us, out=t)
    np.minimum(t, end_us, out=t)
    t_next = np.empty_like(t)
    t_next[:-1] = t[1:]
    starts = np.flatnonzero(first)
    t_next[starts[1:] - 1] = end_us  # the last row of each entity
    t_next[-1] = end_us
    group_start = np.repeat(starts, np.diff(starts, append=n))
    run_cls, has_cls = _carry(cls, order, group_start)
    # A run needs a time at both ends: none starts at, or ends at, a row without one.
    run = running[order] & has_cls & (t_next > t)
    if untimed.any():
        ends_untimed = np.zeros(n, dtype=bool)
        ends_untimed[:-1] = untimed[1:] & ~first[1:]
        run &= ~untimed & ~ends_untimed
    # Clip to the windows asked for; what lies outside them is not counted.
    a = np.maximum(t[run], w0 * W_US)
    b = np.minimum(t_next[run], (w1 + 1) * W_US)
    keep = b > a
    a, b = a[keep], b[keep]
    run_idx = np.flatnonzero(run)[keep]
    spans = _Spans(run_cls[run_idx].astype(np.int64), a, b, w0, n_windows, n_classes)
    carry = _CarryAt(order, group_start, run_idx)
    for j, column in enumerate(values):
        out[:, j, :] = spans.integrate(carry(column))
    return out


def event_counts(time: np.ndarray, event: np.ndarray, cls: np.ma.MaskedArray, codes: Sequence[int],
                 n_classes: int, windows: tuple[int, int]) -> np.ndarray:
    """Events of each code per (class, code, window); an event counts in its own row's class.

    Times 0 (the snapshot before the window) and 2^63-1 (after it) are not events in time.
    """
    w0, w1 = windows
    n_windows = w1 - w0 + 1
    timed = ~np.ma.getmaskarray(time)
    time = np.ma.filled(time, 0)
    w = time // W_US - w0
    ok = (timed & (time > 0) & (time < AFTER_WINDOW_US) & ~np.ma.getmaskarray(cls)
          & (w >= 0) & (w < n_windows))
    cell = np.ma.filled(cls, 0).astype(np.int64)[ok] * n_windows + w[ok]
    ev = np.asarray(event)[ok]
    size = n_classes * n_windows
    return np.stack([np.bincount(cell[ev == code], minlength=size).reshape(n_classes, n_windows)
                     for code in codes], axis=1)


def latest(keys: Sequence[np.ndarray], time: np.ndarray, rank: np.ndarray,
           values: np.ma.MaskedArray) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """Each entity's latest known value, and the entity's keys: of its rows with a time and a
    value, the last by (time, rank), as SQL's `arg_max(value, time) FILTER (value IS NOT NULL)`
    (which leaves same-time ties open). Entities without such a row, or with a missing key,
    are left out: they match nothing."""
    known = ~np.ma.getmaskarray(values) & ~np.ma.getmaskarray(time)
    for key in keys:
        known &= ~np.ma.getmaskarray(key)
    keys = tuple(np.ma.getdata(key)[known] for key in keys)
    value = np.ma.getdata(values)[known]
    if not value.size:
        return keys, value
    ids = _entity_ids(list(keys))
    order = np.lexsort((rank[known], np.ma.getdata(time)[known], *reversed(ids)))
    last = np.ones(len(order), dtype=bool)
    last[:-1] = False
    for key in ids:
        k = key[order]
        last[:-1] |= k[1:] != k[:-1]
    pick = order[last]
    return tuple(key[pick] for key in keys), value[pick]


def _time_keys(times: np.ndarray, rank: np.ndarray) -> tuple[np.ndarray, ...]:
    """The sort keys (last is major) for (time, rank): one key when both fit in one int64 (the
    trace's times do, but for the 2^63-1 that marks "after the window"): a sort key fewer is
    a third of the sort."""
    if len(times) and times.min() >= 0 and times.max() < 1 << 58 and rank.min() >= 0 \
            and rank.max() < 32:
        return ((times << 5) | rank,)
    return rank, times


def _entity_ids(keys: list[np.ndarray]) -> list[np.ndarray]:
    """The keys packed into one int64 when they are non-negative and fit together (the
    trace's job ids and task indices do): sorting one key is about twice as fast as two."""
    if len(keys) != 2 or min(key.min() for key in keys) < 0:
        return keys
    high, low = keys
    bits = int(low.max()).bit_length()
    if int(high.max()).bit_length() + bits > 63:
        return keys
    return [(high.astype(np.int64) << bits) | low]


def _carry(column: np.ma.MaskedArray, order: np.ndarray,
           group_start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The last non-missing value at or before each sorted row of its entity, and whether any."""
    data = np.ma.getdata(column)[order]
    missing = np.ma.getmaskarray(column)
    if not missing.any():
        return data, np.ones(len(data), dtype=bool)
    index = np.arange(len(data))
    last = np.maximum.accumulate(np.where(missing[order], -1, index))
    return data[np.maximum(last, 0)], last >= group_start


class _CarryAt:
    """`_carry` at some sorted rows only, 0 where the entity has no value yet: what the runs
    starting there hold (gathered straight from the unsorted column). Columns missing in the
    same rows (a task's CPU and memory requests) share the search for the last known row."""

    def __init__(self, order: np.ndarray, group_start: np.ndarray, rows: np.ndarray):
        self.order, self.group_start, self.rows = order, group_start, rows
        self._found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def __call__(self, column: np.ma.MaskedArray) -> np.ndarray:
        data = np.ma.getdata(column)
        missing = np.ma.getmaskarray(column)
        if not missing.any():
            return data[self.order[self.rows]]
        found = next((f for f in self._found if f[0] is missing or np.array_equal(f[0], missing)),
                     None)
        if found is None:
            # The last sorted row at or before each run's own that has a value (-1: none).
            # Values are rarely missing, so the runs on a missing one look theirs up among
            # the rows with values.
            gaps = missing[self.order]
            last = self.rows.copy()
            holes = gaps[self.rows]
            if holes.any():
                present = np.flatnonzero(~gaps)
                before = np.searchsorted(present, self.rows[holes]) - 1
                last[holes] = np.where(before >= 0, present[np.maximum(before, 0)], -1)
            found = missing, last >= self.group_start[self.rows], self.order[np.maximum(last, 0)]
            self._found.append(found)
        _, known, source = found
        return np.where(known, data[source], 0.0)


class _Spans:
    """Runs [a, b) of some classes cut into windows, once for all the values they carry:
    partial first and last windows directly, the full windows between them by a difference
    array and a cumulative sum."""

    def __init__(self, klass: np.ndarray, a: np.ndarray, b: np.ndarray, w0: int,
                 n_windows: int, n_classes: int):
        wa = a // W_US - w0
        wb = (b - 1) // W_US - w0
        self.shape = (n_classes, n_windows + 1)  # one spare slot: a run ending in the last
        self.n_windows = n_windows               # window marks wb + 1
        row = klass * (n_windows + 1)
        self.first, self.last = row + wa, row + wb
        self.after_first = self.first + 1
        self.head = np.minimum(b, (wa + w0 + 1) * W_US) - a  # µs in the first window
        self.tail = b - (wb + w0) * W_US  # µs in the last window, when it is another one
        self.spans = wb > wa

    def integrate(self, value: np.ndarray) -> np.ndarray:
        """Σ value × overlap per (class, window)."""
        size = self.shape[0] * self.shape[1]
        head = value * self.head
        tail = np.where(self.spans, value * self.tail, 0.0)
        full = np.where(self.spans, value * W_US, 0.0)
        sums = (np.bincount(self.first, head, size)
                + np.bincount(self.last, tail, size)).reshape(self.shape)
        diff = (np.bincount(self.after_first, full, size)
                - np.bincount(self.last, full, size)).reshape(self.shape)
        return (sums + np.cumsum(diff, axis=1))[:, :self.n_windows]
