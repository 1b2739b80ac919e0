"""Shared test fixtures: where the real data lives, and the example specs."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
#: ../shared beside the checkout (CI and developers); MARLFORM_SHARED overrides it.
SHARED = Path(os.environ.get("MARLFORM_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data folder; tests that need it skip with a reason where it is absent."""
    data = SHARED / "data"
    if not data.is_dir():
        pytest.skip(f"real data folder {data} is absent (a user's fresh clone); set MARLFORM_SHARED")
    return data


@pytest.fixture(scope="session")
def example_path():
    def get(name: str) -> Path:
        return EXAMPLES / f"{name}.yaml"

    return get


@pytest.fixture(scope="session")
def gcs_emulator():
    """gcp-storage-emulator on 127.0.0.1, once per session (stopping it costs a second);
    tests wipe it (`gcs_emulator.wipe()`) for a fresh state."""
    from gcp_storage_emulator.server import create_server

    emulator = create_server("127.0.0.1", 0, in_memory=True)
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


#: Likely places of a filesystem mirror holding hashicorp/aws; MARLFORM_TF_PLUGIN_MIRROR wins.
MIRROR_CANDIDATES = ("/opt/tf-plugins", "~/.terraform.d/plugins", "~/.local/share/terraform/plugins",
                     "/usr/share/terraform/plugins")


def find_mirror() -> Path | None:
    candidates = [os.environ.get("MARLFORM_TF_PLUGIN_MIRROR", ""), *MIRROR_CANDIDATES]
    for raw in candidates:
        if not raw:
            continue
        root = Path(raw).expanduser()
        if any(root.glob("registry.terraform.io/hashicorp/aws/*/*/terraform-provider-aws_*")) or any(
            root.glob("registry.terraform.io/hashicorp/aws/*.zip")
        ):
            return root
    return None


@pytest.fixture(scope="session")
def terraform_and_mirror() -> Path:
    """The plugin mirror; skips with the reason when terraform or the aws provider is absent."""
    if not shutil.which("terraform"):
        pytest.skip("terraform is not on PATH")
    mirror = find_mirror()
    if mirror is None:
        pytest.skip("no filesystem mirror with hashicorp/aws found (set MARLFORM_TF_PLUGIN_MIRROR; "
                    f"looked in {', '.join(MIRROR_CANDIDATES)})")
    return mirror


@pytest.fixture(scope="module")
def moto_endpoint():
    """A local moto server playing AWS, on 127.0.0.1, with empty state.

    moto keeps its backends in process-wide globals, so a second server in the same pytest
    process would see what an earlier test created: reset them on start.
    """
    import logging
    import urllib.request

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=30)
    yield endpoint
    server.stop()
