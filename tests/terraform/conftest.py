"""Fixtures for the terraform tests (the terraform binary, mirror and moto live in tests/conftest.py)."""

from __future__ import annotations

import pytest

from gcp.spec import DeploymentSpec, load_spec


@pytest.fixture
def web(example_path) -> DeploymentSpec:
    return load_spec(example_path("web-app"))
