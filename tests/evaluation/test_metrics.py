"""Episode metrics and perturbation recovery on hand-made logs."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.metrics import EpisodeLog, episode_metrics, recovery_minutes, slo_lost


def _log() -> EpisodeLog:
    log = EpisodeLog(step_s=300.0)
    for t in range(12):
        for d, v in (("compute", 1.0), ("storage", 0.1), ("network", 0.2), ("database", 0.5)):
            log.cost[d].append(v)
        log.p99_ms.append(np.array([50.0 if t != 3 else 150.0, 180.0]))
        log.met.append(np.array([t != 3, True]))
        log.requests.append(1000.0)
        log.failed.append(1.0 if t == 3 else 0.0)
        log.carbon_kg.append(0.01)
        log.violations.append(0.0)
        log.actions.append(2 if t % 4 == 0 else 0)
        log.reward.append(0.5)
        log.add_terms({"cost": -0.1, "performance": 0.6})
    return log


def test_episode_metrics_values():
    m = episode_metrics(_log())
    assert m["cost_total"] == pytest.approx(12 * 1.8)
    assert m["cost_compute"] == pytest.approx(12.0)
    assert m["slo_attainment"] == pytest.approx(23 / 24)
    assert m["availability"] == pytest.approx(1 - 1 / 12000)
    assert m["actions_per_hour"] == pytest.approx(6 / 1.0)  # 3 steps x 2 actions in one hour
    assert m["reward_cost"] == pytest.approx(-1.2) and m["reward_total"] == pytest.approx(6.0)
    assert 180.0 <= m["p99_latency_ms"] <= 180.0 + 0.99 * 1  # p99 over steps of the worst service
    with pytest.raises(ValueError):
        episode_metrics(EpisodeLog(step_s=300.0))


def test_recovery_minutes():
    ok = np.ones(20, dtype=bool)
    assert recovery_minutes(ok, 5, 300) == 0.0
    ok[6:10] = False  # broken at 6..9, good from 10 on for >= 3 steps
    assert recovery_minutes(ok, 5, 300) == pytest.approx(5 * 5.0)
    never = ok.copy()
    never[12:] = False
    never[10:12] = True  # a 2-step blip is not recovery
    assert recovery_minutes(never, 5, 300) == pytest.approx(15 * 5.0)  # censored at the end
    two_d = np.ones((20, 3), dtype=bool)
    two_d[7, 1] = False
    assert recovery_minutes(two_d, 5, 60) == pytest.approx(3.0)


def test_slo_lost_counts_only_extra_misses():
    base = np.ones((10, 2), dtype=bool)
    base[8, 0] = False
    pert = base.copy()
    pert[4:6, :] = False
    assert slo_lost(pert, base, 3) == 4.0
    assert slo_lost(base, base, 0) == 0.0
