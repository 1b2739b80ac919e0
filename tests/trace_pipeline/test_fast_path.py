"""The fast reader (pyarrow + bucket store) against the exact one (DuckDB staging): the same
frames bit for bit, and every file it cannot vouch for goes to the exact reader."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pytest

import trace_pipeline.prepare as prepare_module
from trace_pipeline.buckets import BucketStore
from trace_pipeline.errors import ConfigError, MalformedInputError
from trace_pipeline.fastview import class_codes_2011, duckdb_hash, masked, view_2011
from trace_pipeline.lifecycles import latest
from trace_pipeline.prepare import _parse_bytes, prepare, read_windows
from trace_pipeline.readers import (
    FastPathRefused,
    read_2011_batches,
    read_2011_fast,
    stored_2011,
)
from trace_pipeline.schema import CLASS_SQL_2011, WORKLOAD_CLASSES

GOOD = "1000000000,,1,{i},,0,u,0,4,0.5,0.2,0,0"


def _exact_only(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise FastPathRefused("the test asks for the exact reader")

    monkeypatch.setattr(prepare_module, "read_2011_fast", refuse)


def _same(a, b) -> None:
    fa, fb = read_windows(a.path), read_windows(b.path)
    assert fa.equals(fb)  # every value bit for bit, NaN where NaN
    strip = {t: {k: v for k, v in s.items() if k != "reader"} for t, s in a.meta["tables"].items()}
    assert strip == {t: {k: v for k, v in s.items() if k != "reader"}
                     for t, s in b.meta["tables"].items()}


def test_fast_and_exact_readers_give_identical_frames(prepared_sample, sample_2011, tmp_path,
                                                      monkeypatch):
    fast = prepared_sample
    assert {s["reader"] for s in fast.meta["tables"].values()} == {"pyarrow"}
    # A small limit spills the parsed task and machine rows to disk: the same frame again.
    spilled = prepare(sample_2011, cache_dir=tmp_path / "spilled", memory_limit="64MB")
    _same(fast, spilled)
    _exact_only(monkeypatch)
    exact = prepare(sample_2011, cache_dir=tmp_path / "exact")
    assert {s["reader"] for s in exact.meta["tables"].values()} == {"duckdb"}
    _same(fast, exact)


def _part(root: Path, rows: list[str]) -> Path:
    folder = root / "task_events"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "part-00000-of-00500.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("".join(r + "\n" for r in rows))
    return path


@pytest.mark.parametrize("bad_row, counted_bad", [
    ("1000000000,,1,5,,0,u,0,4", True),  # a wrong column count
    ("1000000000,,1,x,,0,u,0,4,0.5,0.2,0,0", True),  # not a number
    ("1000000000,,1,5,,0,u,0,4,NA,0.2,0,0", True),  # "NA" is no missing value here
    (",,1,5,,0,u,0,4,0.5,0.2,0,0", True),  # an empty mandatory field
    ("1000000000,,1,+5,,0,u,0,4,0.5,0.2,0,0", False),  # DuckDB reads "+5"; pyarrow does not
])
def test_a_file_the_fast_reader_cannot_vouch_for_goes_to_the_exact_one(tmp_path, bad_row,
                                                                       counted_bad):
    rows = [GOOD.format(i=i) for i in range(99)] + [bad_row]
    path = _part(tmp_path / "trace", rows)
    with pytest.raises(FastPathRefused):
        list(read_2011_fast("task_events", [path], [False],
                            stored_2011("task_events", ())))
    prepared = prepare(tmp_path / "trace", cache_dir=tmp_path / "cache", max_bad_fraction=0.05)
    scan = prepared.meta["tables"]["task_events"]
    assert scan["reader"] == "duckdb"
    assert (scan["rows"], scan["bad"]) == ((99, 1) if counted_bad else (100, 0))
    if counted_bad:
        assert scan["problems"][0].startswith(f"{path}:100: ")


def test_a_truncated_gzip_in_a_later_part_still_names_file_and_line(tmp_path, sample_2011):
    folder = tmp_path / "trace" / "task_events"
    folder.mkdir(parents=True)
    source = sample_2011 / "task_events" / "part-00001-of-00500.csv.gz"
    for part in range(3):
        shutil.copy(source, folder / f"part-0000{part}-of-00500.csv.gz")
    (folder / "part-00002-of-00500.csv.gz").write_bytes(source.read_bytes()[:200_000])
    with pytest.raises(MalformedInputError, match=r"part-00002-of-00500\.csv\.gz:\d+: truncated"):
        prepare(tmp_path / "trace", cache_dir=tmp_path / "cache")
    assert not any((tmp_path / "cache").iterdir())  # no partial cache left behind


@pytest.mark.parametrize("held_bytes", [1 << 30, 300_000, 0])
def test_bucket_store_serves_the_sql_buckets(tmp_path, held_bytes):
    rng = np.random.default_rng(3)
    con = duckdb.connect()
    n = 20_000
    rows = pa.table({"i": np.arange(n), "job_id": rng.integers(0, 10**12, n),
                     "task_index": rng.integers(0, 50, n),
                     "cpu": pa.array(np.where(rng.random(n) < 0.2, None, rng.random(n)).tolist(),
                                     pa.float64())})
    con.register("t", rows)
    store = BucketStore(tmp_path / "spill", held_bytes)
    for index in (2, 0, 1):  # three "files", added in any order, served in file order
        part = rows.slice(index * 7_000, 7_000)
        store.add(index, {name: masked(part[name]) for name in part.column_names},
                  duckdb_hash(part["job_id"].to_numpy(), part["task_index"].to_numpy()))
    assert store.rows == n
    assert store.spilled == {1 << 30: 0, 300_000: 2, 0: 3}[held_bytes]
    store.split(3, threads=2)
    for bucket in range(3):
        got = store.bucket(bucket)
        want = con.sql(f"SELECT * FROM t WHERE hash(job_id, task_index) % 3 = {bucket} "
                       "ORDER BY i").to_arrow_table()
        assert got["i"].tolist() == want["i"].to_pylist()  # the same rows, in the same order
        for name in ("job_id", "task_index"):
            assert got[name].tolist() == want[name].to_pylist()
        cpu = got["cpu"]
        assert isinstance(cpu, np.ma.MaskedArray) and cpu.mask.sum() == want["cpu"].null_count
        assert cpu.tolist() == want["cpu"].to_pylist()  # masked values come back as None


def test_view_rows_do_not_depend_on_the_room_given(sample_2011):
    """The view's arrays grow when a file has more rows than room (and are cut to the rows
    at the end): the same rows as converting the whole parsed file at once."""
    path = sample_2011 / "task_events" / "part-00000-of-00500.csv.gz"
    stored = stored_2011("task_events", prepare_module._STORED_2011["task_events"])
    batches = list(read_2011_batches(path, "task_events", False, stored))
    whole = pa.Table.from_batches(batches)
    assert whole.num_rows == 450_146 and whole["cpu_request"].null_count == 291
    for capacity in (1, 1_000, 10**7):
        rows, hashes = view_2011("tasks", iter(batches), capacity)
        assert (hashes == duckdb_hash(whole["job_id"].to_numpy(),
                                      whole["task_index"].to_numpy())).all()
        for name, column in (("time", "time"), ("ev", "event_type"), ("cpu", "cpu_request"),
                             ("mem", "memory_request")):
            want = masked(whole[column])
            assert rows[name].dtype == want.dtype and len(rows[name]) == len(want)
            assert (np.ma.getmaskarray(rows[name]) == np.ma.getmaskarray(want)).all()
            assert (rows[name].filled(0) == want.filled(0)).all()


def test_key_hash_and_class_codes_are_duckdbs():
    rng = np.random.default_rng(11)
    job = np.concatenate([rng.integers(-(2**62), 2**62, 5_000), [0, 1, -1, 2**63 - 1]])
    task = np.concatenate([rng.integers(0, 2**20, 5_000), [0, 0, 7, 3]])
    con = duckdb.connect()
    con.register("k", pa.table({"job": job, "task": task}))
    for keys, got in ((("job",), duckdb_hash(job)), (("job", "task"), duckdb_hash(job, task))):
        want = con.sql(f"SELECT hash({', '.join(keys)}) AS h FROM k").fetchnumpy()["h"]
        assert (got == want).all()
    priority = np.repeat(np.arange(12, dtype=np.int32), 5)
    scheduling = np.tile(np.array([0, 1, 2, 3, 0], dtype=np.int32), 12)
    missing = np.tile([False, False, False, False, True], 12)
    con.register("c", pa.table({"priority": priority,
                                "scheduling_class": pa.array(scheduling, mask=missing)}))
    want = [WORKLOAD_CLASSES.index(c) for (c,) in con.sql(
        f"SELECT {CLASS_SQL_2011} FROM c").fetchall()]
    got = class_codes_2011(priority, np.ma.MaskedArray(scheduling, missing))
    assert got.dtype == np.int32 and got.tolist() == want


def test_latest_is_arg_max_by_time_of_the_known_values():
    rng = np.random.default_rng(5)
    n = 5_000
    job, task = rng.integers(0, 40, n), rng.integers(0, 3, n)
    time = np.ma.masked_array(rng.permutation(n) * 1_000, rng.random(n) < 0.05)  # no ties
    cls = np.ma.masked_array(rng.integers(0, 3, n), rng.random(n) < 0.3)
    (got_job, got_task), got = latest((job, task), time, np.zeros(n, dtype=np.int64), cls)
    con = duckdb.connect()
    frame = pa.table({"job": job, "task": task,
                      "time": pa.array(time.filled(0), mask=np.ma.getmaskarray(time)),
                      "cls": pa.array(cls.filled(0), mask=np.ma.getmaskarray(cls))})
    con.register("f", frame)
    want = con.sql("SELECT * FROM (SELECT job, task, arg_max(cls, time) FILTER (cls IS NOT NULL "
                   "AND time IS NOT NULL) AS c FROM f GROUP BY ALL) WHERE c IS NOT NULL "
                   "ORDER BY job, task").fetchall()
    assert sorted(zip(got_job.tolist(), got_task.tolist(), got.tolist(), strict=True)) == want


def test_memory_limit_is_parsed_and_checked(tmp_path):
    assert _parse_bytes("128MB") == 128_000_000
    assert _parse_bytes("1GiB") == 1 << 30
    assert _parse_bytes("2.5GB") == 2_500_000_000
    with pytest.raises(ConfigError, match="memory limit 'lots'"):
        prepare(tmp_path, cache_dir=tmp_path / "cache", memory_limit="lots")
