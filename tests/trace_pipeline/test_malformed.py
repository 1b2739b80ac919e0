"""Malformed input: a clear error naming file and line, counted rows, and no partial cache."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from trace_pipeline.errors import FormatMismatchError, MalformedInputError
from trace_pipeline.prepare import prepare

GOOD = "1000000000,,1,{i},,0,u,0,4,0.5,0.2,0,0"


def _part(root: Path, rows: list[str], name: str = "part-00000-of-00500.csv.gz") -> Path:
    folder = root / "task_events"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with gzip.open(path, "wt") as handle:
        handle.write("".join(r + "\n" for r in rows))
    return path


def _no_cache_left(cache: Path) -> bool:
    return not cache.exists() or not any(cache.iterdir())


@pytest.mark.parametrize("bad_row, where, reason", [
    ("1000000000,,1,5,,0,u,0,4", 6, "missing columns"),
    ("1000000000,,1,5,,0,u,0,4,0.5,0.2,0,0,9", 6, "too many columns"),
    ("1000000000,,1,five,,0,u,0,4,0.5,0.2,0,0", 6, "cast"),
    ("soon,,1,5,,0,u,0,4,0.5,0.2,0,0", 6, "cast"),
    (",,1,5,,0,u,0,4,0.5,0.2,0,0", 6, "mandatory field 'time' is empty"),
])
def test_bad_row_past_threshold_names_file_and_line(tmp_path, bad_row, where, reason):
    rows = [GOOD.format(i=i) for i in range(5)] + [bad_row] + [GOOD.format(i=i) for i in range(6, 9)]
    path = _part(tmp_path / "trace", rows)
    with pytest.raises(MalformedInputError) as info:
        prepare(tmp_path / "trace", cache_dir=tmp_path / "cache", max_bad_fraction=0.05)
    message = str(info.value)
    assert f"{path}:{where}:" in message and reason in message.lower()
    assert "1 of 9 rows are malformed" in message
    assert _no_cache_left(tmp_path / "cache")


def test_bad_rows_under_threshold_are_counted_not_fatal(tmp_path):
    rows = [GOOD.format(i=i) for i in range(999)] + ["1000000000,,1,x,,0,u,0,4,0.5,0.2,0,0"]
    _part(tmp_path / "trace", rows)
    prepared = prepare(tmp_path / "trace", cache_dir=tmp_path / "cache", max_bad_fraction=0.01)
    scan = prepared.meta["tables"]["task_events"]
    assert scan["rows"] == 999 and scan["bad"] == 1
    assert scan["problems"][0].endswith(":1000: cast: Error when converting column \"task_index\". "
                                        "Could not convert string \"x\" to 'BIGINT'")


def test_truncated_gzip_names_file_and_line(tmp_path, sample_2011):
    source = sample_2011 / "task_events" / "part-00001-of-00500.csv.gz"
    folder = tmp_path / "trace" / "task_events"
    folder.mkdir(parents=True)
    shutil.copy(source, folder / "part-00000-of-00500.csv.gz")
    truncated = folder / "part-00001-of-00500.csv.gz"
    truncated.write_bytes(source.read_bytes()[:300_000])
    with pytest.raises(MalformedInputError, match=r"part-00001-of-00500\.csv\.gz:\d+: truncated"):
        prepare(tmp_path / "trace", cache_dir=tmp_path / "cache")
    assert _no_cache_left(tmp_path / "cache")


def test_2019_file_given_as_2011_is_named(tmp_path, shared_data):
    source = shared_data / "google-cluster-sample/clusterdata_2019_a/machine_events-000000000000.json.gz"
    folder = tmp_path / "trace" / "task_events"
    folder.mkdir(parents=True)
    shutil.copy(source, folder / "part-00000-of-00500.csv.gz")
    with pytest.raises(FormatMismatchError, match=r"part-00000-of-00500\.csv\.gz:1: this is JSON "
                                                  r"lines \(the 2019 trace format\)"):
        prepare(tmp_path / "trace", cache_dir=tmp_path / "cache")
    assert _no_cache_left(tmp_path / "cache")


def test_2019_machine_events_read_and_bad_json_line(tmp_path, shared_data):
    source = shared_data / "google-cluster-sample/clusterdata_2019_a/machine_events-000000000000.json.gz"
    prepared = prepare(source.parent, version="2019", cache_dir=tmp_path / "cache")
    scan = prepared.meta["tables"]["machine_events"]
    assert scan["rows"] == 46_219 and scan["rows_at_time_zero"] == 9_526  # SOURCES.md B1
    assert scan["event_counts"] == {"1": 27_777, "2": 17_941, "3": 501}
    assert scan["time_max_s"] == pytest.approx(2_678_851, abs=1)
    bad = tmp_path / "bad"
    bad.mkdir()
    with gzip.open(source, "rt") as handle:
        lines = handle.read().splitlines()[:50]
    lines[9] = lines[9].replace('"time":"', '"time":"x')
    with gzip.open(bad / "machine_events-000000000000.json.gz", "wt") as handle:
        handle.write("\n".join(lines) + "\n")
    with pytest.raises(MalformedInputError, match=r"json\.gz:10: time='x\d+' is not bigint"):
        prepare(bad, version="2019", cache_dir=tmp_path / "cache2")
