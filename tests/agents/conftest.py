"""Fixtures for the agents tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # test helpers beside this file (importlib mode)

from agents_synthetic import small_layout

from agents.layout import Layout


@pytest.fixture
def layout() -> Layout:
    return small_layout()
