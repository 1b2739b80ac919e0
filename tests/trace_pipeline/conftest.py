"""Fixtures: the real Google cluster samples, and a local GCS emulator serving them."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

SAMPLE_2011 = ("google-cluster-sample", "clusterdata-2011-2")


@pytest.fixture(scope="session")
def sample_2011(shared_data: Path) -> Path:
    root = shared_data.joinpath(*SAMPLE_2011)
    if not (root / "task_events").is_dir():
        pytest.skip(f"{root} is absent: the real 2011 sample is needed")
    return root


@pytest.fixture(scope="session")
def prepared_sample(sample_2011: Path, tmp_path_factory):
    """The five task_events parts (plus machine_events and the task_usage head), prepared once."""
    from trace_pipeline.prepare import prepare

    return prepare(sample_2011, cache_dir=tmp_path_factory.mktemp("cache"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def gcs_emulator(sample_2011: Path, tmp_path_factory):
    """gcp-storage-emulator on a free 127.0.0.1 port, with a bucket named like the real one
    holding the real sample files under their real object names."""
    from gcp_storage_emulator.server import create_server

    from trace_pipeline.fetch import make_client

    port = _free_port()
    data_dir = tmp_path_factory.mktemp("gcs")
    server = create_server("127.0.0.1", port, in_memory=False, data_dir=str(data_dir))
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = make_client(endpoint)
    bucket = client.create_bucket("clusterdata-2011-2")
    for table in ("task_events", "machine_events"):
        for path in sorted((sample_2011 / table).glob("part-*.csv.gz")):
            bucket.blob(f"{table}/{path.name}").upload_from_filename(str(path))
    yield {"endpoint": endpoint, "server": server, "data_dir": Path(data_dir)}
    server.stop()
