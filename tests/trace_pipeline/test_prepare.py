"""Readers and preprocessing on the real samples, and task lifecycles checked by hand."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trace_pipeline.prepare import prepare, read_windows
from trace_pipeline.schema import COLUMNS_2011

TE_NAMES = [name for name, _, _ in COLUMNS_2011["task_events"]]


def test_real_sample_row_counts_span_and_events(prepared_sample):
    tables = prepared_sample.meta["tables"]
    te = tables["task_events"]
    assert te["rows"] == 919_519 and te["bad"] == 0  # SOURCES.md A4
    assert te["rows_at_time_zero"] == 277_321
    assert te["time_min_s"] == pytest.approx(600.03, abs=0.01)
    assert 25_600 < te["time_max_s"] < 25_656.0  # parts 0-4 end at 600 + 5 x 5011.2 s
    me = tables["machine_events"]
    assert me["rows"] == 37_780 and me["rows_at_time_zero"] == 12_477  # SOURCES.md A2
    assert me["event_counts"] == {"0": 21_443, "1": 8_957, "2": 7_380}
    assert me["time_max_s"] == pytest.approx(2_506_135.49, abs=0.01)
    tu = tables["task_usage"]
    assert tu["rows"] == 10_000 and tu["time_min_s"] == tu["time_max_s"] == 600.0  # A5
    assert prepared_sample.meta["windows"] == [2, 84]  # [600 s, 25,500 s)


def test_event_aggregates_match_a_pandas_count(prepared_sample, sample_2011):
    raw = pd.concat(pd.read_csv(p, header=None, names=TE_NAMES)
                    for p in sorted((sample_2011 / "task_events").glob("*.csv.gz")))
    last = raw.sort_values("time").groupby(["job_id", "task_index"]).tail(1)
    cls = np.where(last.priority <= 1, "best_effort",
                   np.where((last.priority >= 9) | (last.scheduling_class >= 2), "production", "batch"))
    raw = raw.merge(last.assign(cls=cls)[["job_id", "task_index", "cls"]], on=["job_id", "task_index"])
    windows = read_windows(prepared_sample.path).set_index(["window", "workload_class"])
    for window, workload_class in [(3, "batch"), (10, "best_effort"), (40, "production")]:
        rows = raw[(raw.time // 300_000_000 == window) & (raw.cls == workload_class)]
        got = windows.loc[(window, workload_class)]
        assert got.arrivals == (rows.event_type == 0).sum()
        assert got.evictions == (rows.event_type == 2).sum()
        assert got.failures == (rows.event_type == 3).sum()
    assert windows.loc[(3, "batch")].arrivals == 270  # checked by hand once, pinned


def test_usage_and_machines_match_by_hand(prepared_sample, sample_2011):
    usage = pd.read_csv(sample_2011 / "task_usage" / "google2011_task_usage_sample.csv")
    expected = (usage.cpu_rate * (usage.end_time - usage.start_time)).sum() / 300e6
    windows = read_windows(prepared_sample.path)
    first = windows[windows.window == 2]
    assert first.cpu_used.sum() == pytest.approx(expected, rel=1e-9)
    assert windows[windows.window > 2].cpu_used.isna().all()  # no usage rows there: missing, not 0
    # Machines: 12,477 were present at time 0; the first window holds ~12,476.6 of them.
    assert first.machines.iloc[0] == pytest.approx(12_476.6, abs=0.5)
    machines = pd.read_csv(sample_2011 / "machine_events" / "part-00000-of-00001.csv.gz",
                           header=None, names=["time", "machine_id", "ev", "platform", "cpus", "mem"])
    removed = machines[(machines.ev == 1) & (machines.time // 300_000_000 == 4)]
    assert windows[windows.window == 4].machine_removals.iloc[0] == len(removed)


def _write_part(folder: Path, part: int, rows: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with gzip.open(folder / f"part-{part:05d}-of-00500.csv.gz", "wt") as handle:
        handle.write("".join(row + "\n" for row in rows))


def test_task_across_a_part_boundary_is_counted_by_hand(tmp_path):
    events = tmp_path / "trace" / "task_events"
    # job 1 task 0: batch (priority 4), scheduled at 1000 s in part 0, finishes at 5800 s,
    # which lies in part 1 (part 1 starts at 600 + 5011.2 = 5611.2 s).
    # job 2 task 0: production (priority 10), running since the t=0 snapshot, never ends.
    _write_part(events, 0, ["0,,2,0,7,0,u,1,10,0.25,0.1,0,0", "0,,2,0,7,1,u,1,10,0.25,0.1,0,0",
                            "1000000000,,1,0,,0,u,0,4,0.5,0.2,0,0",
                            "1000000000,,1,0,9,1,u,0,4,0.5,0.2,0,0"])
    _write_part(events, 1, ["5800000000,,1,0,9,4,u,0,4,0.5,0.2,0,0"])
    prepared = prepare(tmp_path / "trace", cache_dir=tmp_path / "cache")
    frame = read_windows(prepared.path).set_index(["window", "workload_class"])
    batch = frame.xs("batch", level="workload_class").cpu_requested
    assert batch[2] == 0.0
    assert batch[3] == pytest.approx(0.5 * 200 / 300)  # [900, 1200) s, runs from 1000 s
    assert (batch.loc[4:18] == 0.5).all()
    assert batch[19] == pytest.approx(0.5 * 100 / 300)  # [5700, 6000) s, ends at 5800 s
    assert batch.loc[20:].eq(0).all()
    production = frame.xs("production", level="workload_class")
    assert np.allclose(production.cpu_requested, 0.25)
    assert production.arrivals.sum() == 0  # the snapshot is not an arrival
    assert frame.xs("batch", level="workload_class").arrivals[3] == 1


def test_second_run_is_a_cache_hit(prepared_sample, sample_2011):
    again = prepare(sample_2011, cache_dir=prepared_sample.path.parent)
    assert again.cached and again.path == prepared_sample.path
