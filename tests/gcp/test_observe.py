"""Monitoring series land in the simulator's layout, normalised and filled exactly as it does."""

from __future__ import annotations

import numpy as np
from gcpfakes import metrics

from gcp import inventory, observe, telemetry

NOW = 1_750_000_000.0
STEPS = 8


def _collect(cloud):
    session = cloud.session()
    ends = observe.step_ends(STEPS, NOW)
    expected = metrics.seed(cloud.monitoring, cloud.spec, ends)
    raw = observe.collect(session, cloud.spec, inventory.read_compute(session), STEPS, NOW)
    return raw, expected, ends


def test_raw_series_match_known_values_in_metrics_order(cloud):
    raw, expected, ends = _collect(cloud)
    np.testing.assert_array_equal(raw.step_end_s, ends)
    assert raw.resources["compute"] == [s.name for s in cloud.spec.services]
    assert raw.resources["storage"] == [b.name for b in cloud.spec.buckets]
    for domain in telemetry.AGENT_DOMAINS:
        assert raw.series[domain].shape[1] == len(telemetry.METRICS[domain])
        np.testing.assert_allclose(raw.series[domain], expected[domain], rtol=1e-9, equal_nan=True)
    # gaps really are there, so the comparison covers missing-point handling
    assert np.isnan(raw.series["compute"]).any() and not np.isnan(raw.series["compute"]).all()


def test_observation_equals_simulator_normalise_and_fill(cloud):
    raw, expected, _ = _collect(cloud)
    obs = raw.observation()
    slo = np.array([s.slo_p99_ms for s in cloud.spec.services])
    for domain in telemetry.AGENT_DOMAINS:
        # The simulator's path: normalise (..., n_metrics), then fill along time.
        ref_slo = slo[:, None] if domain == "compute" else observe.slo_ms(cloud.spec)[domain][:, None]
        per_step = np.swapaxes(expected[domain], 1, 2)  # (n, T, m)
        normalised = telemetry.normalise(domain, per_step, ref_slo)
        want_values, want_stale = telemetry.fill_missing(np.swapaxes(normalised, 1, 2))
        values, staleness = obs[domain]
        np.testing.assert_allclose(values, want_values, rtol=1e-12)
        np.testing.assert_array_equal(staleness, want_stale)
        assert not np.isnan(values).any()


def test_late_data_is_missing_then_carried_forward_with_staleness(cloud):
    cloud.monitoring.visible_until = observe.step_ends(STEPS, NOW)[-2]  # newest step not ingested
    raw, _, _ = _collect(cloud)
    assert np.isnan(raw.latest()["database"]).all()
    values, staleness = raw.observation()["database"]
    prev = raw.series["database"][..., -2]
    seen = ~np.isnan(prev)
    np.testing.assert_allclose(values[..., -1][seen], telemetry.normalise("database", prev)[seen])
    assert (staleness[..., -1][seen] == 1 / telemetry.STALE_LIMIT_STEPS).all()


def test_one_query_per_metric_source_whatever_the_resource_count(cloud):
    _collect(cloud)
    queries = {(r.filter, r.aggregation.per_series_aligner.name, r.aggregation.cross_series_reducer.name)
               for r in cloud.monitoring.requests}
    first_pages = [r for r in cloud.monitoring.requests if not r.page_token]
    assert len(first_pages) == len(queries)  # request_count is fetched once, reused by 3 metrics
    assert len(cloud.monitoring.requests) > len(queries)  # and pages were followed
