"""Under 30 % injected faults a full run succeeds, mutates nothing twice and stays in its time bound;
permanent errors fail fast and say what is missing."""

from __future__ import annotations

import time

import pytest
from gcpfakes import metrics

from gcp import drift, observe
from gcp.clients import NotFound, PermissionDenied, QuotaExceeded, Retrier, RetryPolicy, Transient
from gcp.clients.compute import GroupRef, ResizeBatcher
from gcp.gcp_backend import GcpBackend

NOW = 1_750_000_000.0


def test_observe_validate_and_resize_survive_thirty_percent_faults(cloud):
    expected = metrics.seed(cloud.monitoring, cloud.spec, observe.step_ends(6, NOW))
    cloud.faults.rate, cloud.faults.seed = 0.3, 11
    cloud.faults.__post_init__()
    session = cloud.session()
    backend = GcpBackend(session, cloud.spec, steps=6)
    started = time.monotonic()
    raw = backend.raw_telemetry(now_s=NOW)
    report = backend.validate()
    region = cloud.spec.region
    for name, size in (("api", 5), ("frontend", 4), ("cache", 1), ("api", 6)):
        session.compute.resize(GroupRef(name, region=region), size)
    elapsed = time.monotonic() - started

    assert report.ok, report.to_dict()
    for domain, want in expected.items():
        assert raw.series[domain].shape == want.shape
    assert sum(cloud.faults.injected.values()) >= 10
    assert set(cloud.faults.injected) == {"429", "500", "503", "slow", "reset"}
    assert session.retrier.stats.retries >= 10
    # no duplicate mutations: every applied request id applied once, final sizes as asked
    assert all(n == 1 for n in cloud.compute.applied_request_ids.values())
    assert len(cloud.compute.applied) == 4
    sizes = {m["name"]: m["targetSize"] for _, m in cloud.compute.scoped["instanceGroupManagers"]}
    assert (sizes["api"], sizes["frontend"], sizes["cache"]) == (6, 4, 1)
    # bounded: the policy's deadline caps each call; the whole run stays far below the sum
    assert elapsed < 30, elapsed


def test_retried_mutation_after_a_lost_reply_is_not_applied_twice(cloud):
    cloud.faults.rate, cloud.faults.kinds, cloud.faults.seed = 1.0, ("reset",), 0
    cloud.faults.__post_init__()
    session = cloud.session(RetryPolicy(initial_delay_s=0.01, max_delay_s=0.02, deadline_s=1.0,
                                        attempt_timeout_s=0.4, max_attempts=3))
    with pytest.raises(Transient):
        session.compute.resize(GroupRef("api", region=cloud.spec.region), 7)
    # three attempts reached the server, each applied-then-reset, but one request id applied once
    assert cloud.faults.calls.count("compute.regionInstanceGroupManagers.resize") == 3
    assert len(cloud.compute.applied) == 1 and list(cloud.compute.applied_request_ids.values()) == [1]


def test_resizes_of_one_group_within_a_window_become_one_call(cloud):
    session = cloud.session()
    clock = [0.0]
    api, cache = GroupRef("api", region=cloud.spec.region), GroupRef("cache", region=cloud.spec.region)
    with ResizeBatcher(session.compute, window_s=5.0, clock=lambda: clock[0]) as batcher:
        for size in (4, 5, 6):
            batcher.request(api, size)
            clock[0] += 1
        batcher.request(cache, 3)
        clock[0] += 10  # past the window: the next request for api flushes the pending one first
        batcher.request(api, 2)
    resizes = [c for c in cloud.faults.calls if c.endswith("resize")]
    assert len(resizes) == 3 and batcher.calls == 3
    assert cloud.compute.applied == [
        ("regions/us-central1/api", 6),
        ("regions/us-central1/cache", 3),
        ("regions/us-central1/api", 2),
    ]


def test_operations_finish_later_and_are_waited_for(cloud):
    cloud.compute.polls_to_done = 3
    op = cloud.session().compute.resize(GroupRef("api", region=cloud.spec.region), 4)
    assert op.status.name == "DONE"
    assert cloud.faults.calls.count("compute.regionOperations.wait") == 3


def test_permission_denied_fails_fast_naming_the_permission(cloud):
    cloud.faults.deny["compute.instanceTemplates.aggregatedList"] = (
        403, "Required 'compute.instanceTemplates.list' permission for 'projects/acme-shop-prod'")
    session = cloud.session()
    started = time.monotonic()
    with pytest.raises(PermissionDenied) as info:
        GcpBackend(session, cloud.spec).validate()
    assert time.monotonic() - started < 2
    assert info.value.permission == "compute.instanceTemplates.list"
    assert "compute.instanceTemplates.list" in str(info.value)
    assert cloud.faults.calls.count("compute.instanceTemplates.aggregatedList") == 1  # no retries


def test_monitoring_permission_denied_over_grpc(cloud):
    cloud.faults.deny["monitoring.projects.timeSeries.list"] = (403, "Permission denied")
    with pytest.raises(PermissionDenied, match=r"monitoring\.timeSeries\.list"):
        GcpBackend(cloud.session(), cloud.spec).raw_telemetry(now_s=NOW)


def test_not_found_names_the_resource(cloud):
    with pytest.raises(NotFound, match=r"instanceGroupManagers/no-such-group"):
        cloud.session().compute.resize(GroupRef("no-such-group", region="us-central1"), 2)


def test_rate_limit_that_never_clears_is_quota_exceeded_within_the_deadline(cloud):
    cloud.faults.rate, cloud.faults.kinds, cloud.faults.retry_after = 1.0, ("429",), "0.1"
    cloud.faults.__post_init__()
    policy = RetryPolicy(initial_delay_s=0.01, max_delay_s=0.05, deadline_s=0.6, attempt_timeout_s=0.3)
    session = cloud.session(policy)
    started = time.monotonic()
    with pytest.raises(QuotaExceeded, match="rate limit"):
        session.compute.networks()
    assert time.monotonic() - started < 1.0
    # Retry-After (0.1 s) was honoured: no attempt followed sooner
    assert session.retrier.stats.waited_s >= 0.1 * session.retrier.stats.retries


def test_transient_errors_exhaust_into_transient(cloud):
    cloud.faults.rate, cloud.faults.kinds = 1.0, ("503",)
    cloud.faults.__post_init__()
    retrier = Retrier(RetryPolicy(initial_delay_s=0.01, max_delay_s=0.01, max_attempts=4), seed=1)
    session = cloud.session()
    session.retrier = retrier
    with pytest.raises(Transient, match="after 4 attempt"):
        session.sql.instances()


def test_drift_report_from_a_faulty_run_equals_the_clean_one(cloud):
    clean = drift.diff(cloud.spec, GcpBackend(cloud.session(), cloud.spec).inventory())
    cloud.faults.rate, cloud.faults.seed = 0.3, 5
    cloud.faults.__post_init__()
    faulty = drift.diff(cloud.spec, GcpBackend(cloud.session(), cloud.spec).inventory())
    assert faulty.to_dict() == clean.to_dict()
