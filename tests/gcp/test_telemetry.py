"""The shared telemetry layout: normalisation and the missing-data rule."""

from __future__ import annotations

import numpy as np
import pytest

from gcp.telemetry import (
    AGENT_DOMAINS,
    METRICS,
    STALE_LIMIT_STEPS,
    fill_missing,
    metric_names,
    normalise,
)


def test_every_domain_has_named_metrics_with_monitoring_sources():
    for domain in AGENT_DOMAINS:
        names = metric_names(domain)
        assert names and len(set(names)) == len(names)
        assert all(m.monitoring_type.count("googleapis.com/") == 1 for m in METRICS[domain])


def test_normalise_scales_each_kind():
    raw = np.array([[0.5, 100.0, 200.0, 400.0, 1.5, 9999.0]])  # compute layout
    out = normalise("compute", raw, slo_ms=200.0)
    assert out[0, 0] == pytest.approx(0.5)  # ratio kept
    assert out[0, 1:4] == pytest.approx([0.5, 1.0, 2.0])  # latency / SLO
    assert out[0, 4] == pytest.approx(1.0)  # ratio clipped
    assert out[0, 5] == pytest.approx(np.log1p(9999) / np.log1p(10_000))


def test_normalise_broadcasts_a_per_resource_slo():
    raw = np.zeros((2, 6))
    raw[:, 3] = 100.0
    out = normalise("compute", raw, slo_ms=np.array([50.0, 200.0]))
    assert out[:, 3] == pytest.approx([2.0, 0.5])


def test_fill_missing_carries_forward_then_gives_up():
    nan = np.nan
    series = np.array([[nan, 1.0, nan, nan, nan, nan, 2.0]])
    values, staleness = fill_missing(series)
    assert values[0].tolist() == [0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 2.0]
    assert staleness[0].tolist() == pytest.approx(
        [1.0, 0.0, 1 / STALE_LIMIT_STEPS, 2 / STALE_LIMIT_STEPS, 1.0, 1.0, 0.0]
    )
