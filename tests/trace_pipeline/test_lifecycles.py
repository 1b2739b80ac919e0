"""Lifecycle levels in numpy: buckets of whole entities add up, wide keys and gaps are exact."""

from __future__ import annotations

import numpy as np
import pytest

from trace_pipeline.lifecycles import W_US, _CarryAt, _time_keys, event_counts, step_levels

RANK = np.array([1, 3, 0, 0, 0, 0, 0, 2, 4])


def _random_rows(seed: int, n: int = 4_000) -> dict:
    rng = np.random.default_rng(seed)
    cpu = rng.choice([0.0625, 0.07446, 0.5], n)
    return {"job": rng.integers(0, 50, n) * 10**12, "task": rng.integers(0, 4, n),
            "time": rng.integers(0, 40, n) * 100_000_000,
            "ev": rng.choice([0, 1, 1, 2, 3, 4, 7, 8], n),
            "cpu": np.ma.masked_array(cpu, rng.random(n) < 0.3),
            "cls": np.ma.masked_array(rng.integers(0, 3, n), rng.random(n) < 0.05)}


def _levels(rows: dict, keep: np.ndarray, keys=("job", "task")) -> np.ndarray:
    ev = rows["ev"][keep]
    return step_levels(tuple(rows[k][keep] for k in keys), rows["time"][keep], RANK[ev],
                       np.isin(ev, (1, 8)), (rows["cpu"][keep],), rows["cls"][keep], 3,
                       (600_000_000, 3_900_000_000), (2, 12))


@pytest.mark.parametrize("seed", [0, 1])
def test_buckets_of_whole_entities_add_up(seed):
    rows = _random_rows(seed)
    whole = _levels(rows, np.ones(len(rows["ev"]), dtype=bool))
    bucket = (rows["job"] // 10**12 + rows["task"]) % 3
    assert np.allclose(sum(_levels(rows, bucket == b) for b in range(3)), whole, rtol=1e-12)
    assert whole.sum() > 0
    # Keys too wide to pack into one int64 give the same answer by a two-key sort.
    wide = dict(rows, task=rows["task"] + 2**40)
    assert np.allclose(_levels(wide, np.ones(len(rows["ev"]), dtype=bool)), whole, rtol=1e-12)


def test_a_row_without_time_ends_no_run_and_starts_none():
    # One task: SCHEDULE at 1000 s with cpu 0.5, then an event with no time (sorted last).
    time = np.ma.masked_array([1_000_000_000, 0], [False, True])
    levels = step_levels((np.array([7, 7]), np.array([0, 0])), time, RANK[[1, 4]],
                         np.array([True, False]), (np.ma.masked_array([0.5, 0.5]),),
                         np.ma.masked_array([1, 1]), 3, (600_000_000, 3_000_000_000), (2, 9))
    assert not levels.any()
    counts = event_counts(time, np.array([1, 0]), np.ma.masked_array([1, 1]), (0, 1), 3, (2, 9))
    assert counts[1, 1].sum() == 1 and counts[1, 0].sum() == 0  # the untimed SUBMIT is not counted


def test_run_across_windows_is_split_by_overlap():
    # SCHEDULE at 700 s, FINISH at 1300 s: windows [600, 900), [900, 1200), [1200, 1500).
    levels = step_levels((np.array([1, 1]),), np.array([700, 1300]) * 1_000_000, RANK[[1, 4]],
                         np.array([True, False]), (np.ma.masked_array([0.3, np.nan], [False, True]),),
                         np.ma.masked_array([0, 0]), 1, (600_000_000, 1_500_000_000), (2, 4))
    assert levels[0, 0] / W_US == pytest.approx([0.3 * 200 / 300, 0.3, 0.3 * 100 / 300])


@pytest.mark.parametrize("after", [False, True])
def test_one_time_key_sorts_as_time_then_rank(after):
    """(time << 5 | rank) is used as one sort key when it fits; times of 2^63-1 ("after the
    window") fall back to two keys. Either way the order is that of (time, rank), stable."""
    rng = np.random.default_rng(7)
    times = rng.integers(0, 50, 5_000) * 1_000_000
    if after:
        times[::97] = 2**63 - 1
    rank = rng.integers(0, 5, 5_000)
    keys = _time_keys(times, rank)
    assert len(keys) == (2 if after else 1)
    assert (np.lexsort(keys) == np.lexsort((rank, times))).all()


def test_carried_values_are_the_last_known_at_or_before_each_run():
    rng = np.random.default_rng(9)
    n = 3_000
    data = rng.random(n)
    missing = rng.random(n) < 0.2
    order = rng.permutation(n)
    first = np.r_[True, rng.random(n - 1) < 0.05]
    group_start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    rows = np.sort(rng.choice(n, 800, replace=False))
    got = _CarryAt(order, group_start, rows)(np.ma.masked_array(data, missing))
    last = np.maximum.accumulate(np.where(missing[order], -1, np.arange(n)))[rows]
    want = np.where(last >= group_start[rows], data[order[np.maximum(last, 0)]], 0.0)
    assert (got == want).all()
