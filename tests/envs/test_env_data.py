"""The machine-failure rate shipped in envs/data comes from the 2011 trace, reproducibly."""

from __future__ import annotations

import pytest

from envs.config import SimConfig, availability_rates
from envs.machine_rates import failure_rate_per_machine_hour


def test_failure_rate_matches_the_trace(shared_data):
    path = shared_data / "google-cluster-sample/clusterdata-2011-2/machine_events/part-00000-of-00001.csv.gz"
    rate = failure_rate_per_machine_hour(path)
    assert rate == pytest.approx(8957 / (12477 * 695.99), rel=1e-4)
    assert availability_rates()["machine_failure_per_machine_hour"] == pytest.approx(rate, rel=1e-6)
    assert SimConfig().machine_failure_per_hour == pytest.approx(rate, rel=1e-6)
