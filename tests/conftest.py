"""Shared test fixtures: where the real data lives, and the example specs."""

from __future__ import annotations

import os
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
