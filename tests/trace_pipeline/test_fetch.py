"""The downloader, end to end, against a local GCS emulator serving the real sample files."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from trace_pipeline.errors import ChecksumError, ConfigError, SizeCapError
from trace_pipeline.fetch import fetch, make_client, parts_for_window, plan
from trace_pipeline.manifest import crc32c_file


def test_window_maps_to_parts():
    assert parts_for_window(1.0) == range(0, 1)  # 3600 s < 5011.2 s
    assert parts_for_window(24.0) == range(0, 18)  # 86400 / 5011.2 = 17.24 -> parts 0..17
    assert parts_for_window(2.0, offset_hours=1.0) == range(0, 3)  # [3600, 10800) s
    assert parts_for_window(1e6, offset_hours=695.0)[-1] == 499
    with pytest.raises(ConfigError):
        parts_for_window(0)
    with pytest.raises(ConfigError):
        parts_for_window(1, offset_hours=-1)


def test_plan_lists_the_window_parts_with_sizes(gcs_emulator, sample_2011):
    client = make_client(gcs_emulator["endpoint"])
    objects = plan(client, "2011", ["task_events", "machine_events"], hours=5.0, offset_hours=1.0)
    names = [o.name for o in objects]
    # [1 h, 6 h) = [3600, 21600) s of trace time -> parts 0..4 (part 4 starts at 20044.8 s).
    assert names[:-1] == [f"task_events/part-0000{n}-of-00500.csv.gz" for n in range(5)]
    assert names[-1] == "machine_events/part-00000-of-00001.csv.gz"
    assert objects[0].bytes == (sample_2011 / "task_events/part-00000-of-00500.csv.gz").stat().st_size
    assert all(o.crc32c and o.md5 for o in objects)


def test_cap_refuses_before_any_byte(gcs_emulator, tmp_path):
    client = make_client(gcs_emulator["endpoint"])
    objects = plan(client, "2011", ["task_events"], hours=5.0)
    with pytest.raises(SizeCapError, match="nothing was downloaded"):
        fetch(client, objects, tmp_path / "dl", max_gb=0.005)  # 9.6 MB > 5 MB
    assert not (tmp_path / "dl").exists()


def test_cap_stops_midway_on_bytes_received(gcs_emulator, tmp_path):
    client = make_client(gcs_emulator["endpoint"])
    (obj,) = plan(client, "2011", ["task_events"], hours=1.0)  # part 0 only: 4.1 MB
    # A stale listing says the object is smaller than it is: the pre-check passes,
    # and the bytes actually received stop the download once they pass the cap.
    stale = replace(obj, bytes=1_000_000)
    with pytest.raises(SizeCapError, match="stopped"):
        fetch(client, [stale], tmp_path, max_gb=0.002, chunk_bytes=1 << 20)
    assert not (tmp_path / obj.bucket / obj.name).exists()


def test_interrupted_download_resumes(gcs_emulator, sample_2011, tmp_path):
    client = make_client(gcs_emulator["endpoint"])
    objects = plan(client, "2011", ["task_events"], hours=1.0)

    def interrupt(name, done, total):
        if done >= 2 << 20:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fetch(client, objects, tmp_path, chunk_bytes=1 << 20, on_progress=interrupt)
    final = tmp_path / objects[0].bucket / objects[0].name
    partial = final.with_name(final.name + ".partial")
    assert not final.exists() and partial.stat().st_size == 2 << 20
    manifest = fetch(client, objects, tmp_path, chunk_bytes=1 << 20)
    (entry,) = manifest["files"]
    assert entry["resumed_from"] == 2 << 20
    assert entry["downloaded"] == objects[0].bytes - (2 << 20)
    assert manifest["bytes_received"] == objects[0].bytes - (2 << 20)
    assert final.read_bytes() == (sample_2011 / "task_events" / final.name).read_bytes()
    assert not partial.exists()


def test_corrupted_object_is_detected(gcs_emulator, tmp_path):
    client = make_client(gcs_emulator["endpoint"])
    bucket = client.bucket("clusterdata-2011-2")
    name = "job_events/part-00000-of-00500.csv.gz"
    blob = bucket.blob(name)
    blob.upload_from_string(b"0,,1,0,u,0,a,b\n" * 1000)
    # Bit rot at rest: the stored bytes change under unchanged metadata (crc32c, md5).
    (stored,) = [p for p in gcs_emulator["data_dir"].rglob("*") if p.is_file() and
                 p.read_bytes().startswith(b"0,,1,0,u")]
    stored.write_bytes(b"1" + stored.read_bytes()[1:])
    objects = plan(client, "2011", ["job_events"], hours=1.0)
    with pytest.raises(ChecksumError, match="crc32c and md5 mismatch"):
        fetch(client, objects, tmp_path)
    assert not list((tmp_path / "clusterdata-2011-2").rglob("part-*"))


def test_manifest_is_complete(gcs_emulator, sample_2011, tmp_path):
    client = make_client(gcs_emulator["endpoint"])
    objects = plan(client, "2011", ["task_events", "machine_events"], hours=2.0)
    manifest = fetch(client, objects, tmp_path, request={"hours": 2.0})
    on_disk = json.loads((tmp_path / "clusterdata-2011-2" / "manifest.json").read_text())
    assert on_disk == manifest
    assert manifest["trace_version"] == "2011" and manifest["bucket"] == "clusterdata-2011-2"
    assert manifest["tables"] == ["machine_events", "task_events"]
    assert len(manifest["hash"]) == 64 and manifest["request"] == {"hours": 2.0}
    by_path = {f["path"]: f for f in manifest["files"]}
    part1 = by_path["task_events/part-00001-of-00500.csv.gz"]
    local = sample_2011 / "task_events/part-00001-of-00500.csv.gz"
    assert part1["bytes"] == local.stat().st_size and part1["crc32c"] == crc32c_file(local)
    assert part1["md5"] and part1["generation"]
    machines = by_path["machine_events/part-00000-of-00001.csv.gz"]
    assert machines["rows"] == 37_780  # SOURCES.md A2
    assert machines["time_max_us"] == pytest.approx(2_506_135e6, abs=1e6)
    assert manifest["rows"] == sum(f["rows"] for f in manifest["files"])
    assert manifest["total_bytes"] == sum(f["bytes"] for f in manifest["files"])
    # Prepare reuses the manifest's checksums and keys its cache by them.
    from trace_pipeline.manifest import file_checksums

    files = sorted(Path(tmp_path, "clusterdata-2011-2").rglob("*.csv.gz"))
    sums = file_checksums(tmp_path / "clusterdata-2011-2", files)
    assert {s["path"]: s["crc32c"] for s in sums} == {p: f["crc32c"] for p, f in by_path.items()}
