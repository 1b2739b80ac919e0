"""The oracle is a lower bound: no policy ever beats it on the same episode."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation import oracle
from evaluation.runner import SuiteConfig, run_suite


@pytest.fixture(scope="module")
def episodes():
    cfg = SuiteConfig(name="t", policies=("hpa", "mig", "static"), scenarios=("web", "batch", "ml"),
                      patterns=("steady", "burst"), perturbations=("demand_spike",),
                      seeds=5, steps=12, reference="hpa")
    eps, _ = run_suite(cfg, workers=0)
    return eps


def test_no_policy_beats_the_oracle(episodes):
    # The matched bound holds for every episode, whatever its SLO attainment.
    assert (episodes["cost_total"] >= episodes["oracle_bound"] * (1 - oracle.TOLERANCE)).all()
    # At full SLO attainment the full oracle bounds the cost too.
    full = episodes[episodes["slo_attainment"] >= 1.0]
    assert len(full) > 10
    assert (full["cost_total"] >= full["oracle_cost"] * (1 - oracle.TOLERANCE)).all()
    assert (full["cost_ratio"] >= 1.0 - oracle.TOLERANCE).all()
    # and it is a meaningful bound, not zero
    assert (episodes["oracle_cost"] > 0.1 * episodes["cost_total"]).all()


def test_oracle_is_the_same_for_every_policy_up_to_spot_prices(episodes):
    spread = episodes[episodes["perturbation"] == "none"].groupby(["scenario", "pattern", "seed"])[
        "oracle_cost"].agg(lambda s: s.max() / s.min() - 1)
    assert (spread < 0.05).all()


def _problem(**kw):
    t, s, lad = 4, 1, 3
    defaults = dict(steps=t, step_s=300.0, need=np.full((t, s), 5.0), vcpu=np.array([[1.0, 2.0, 4.0]]),
                    vm_cost=np.broadcast_to(np.array([1.0, 1.9, 4.2]), (t, s, lad)).copy(), boot=0.2,
                    initial_vms=np.array([0.0]), ladder_len=np.array([3]), fixed={"network": np.ones(t)})
    defaults.update(kw)
    return oracle.OracleProblem(**defaults)


def test_knapsack_is_exact_on_a_hand_example():
    # 5 vCPU: 2+2+1 costs 1.9+1.9+1 = 4.8; 4+1 costs 5.2; 2+2+2 costs 5.7 -> 4.8
    assert oracle.knapsack_costs(_problem())[0, 0] == pytest.approx(4.8)
    sol = oracle.solve(_problem())
    assert sol.cost == pytest.approx(4 * 4.8 + 4.0) and sol.by_domain["network"] == 4.0


def test_milp_bound_honours_the_boot_delay_and_matched_picks_cheapest_steps():
    need = np.array([[1.0], [5.0], [5.0], [9.0]])
    knap = oracle.solve(_problem(need=need))
    milp = oracle.solve(_problem(need=need), milp_seconds=5.0)
    assert milp.status == "optimal"
    assert milp.cost >= knap.cost - 1e-9  # the delay can only add cost
    matched = oracle.solve(_problem(need=need), min_met=2)
    costs = oracle.knapsack_costs(_problem(need=need))[:, 0]
    assert matched.by_domain["compute"] == pytest.approx(np.sort(costs)[:2].sum())
    unreachable = oracle.solve(_problem(need=np.array([[np.inf], [5.0], [5.0], [5.0]])))
    assert unreachable.attainable == 3


def test_digest_tells_equal_problems_from_different_ones():
    # the runner solves each full-oracle problem once per worker, keyed by this digest
    assert oracle.digest(_problem()) == oracle.digest(_problem())
    cheaper = _problem(vm_cost=np.broadcast_to(np.array([1.0, 1.9, 4.1]), (4, 1, 3)).copy())
    assert oracle.digest(cheaper) != oracle.digest(_problem())
    assert oracle.digest(_problem(fixed={"network": np.zeros(4)})) != oracle.digest(_problem())
    assert oracle.digest(_problem(boot=0.3)) != oracle.digest(_problem())


def test_a_shared_oracle_cache_solves_each_episode_once_and_changes_nothing(tmp_path):
    cfg = SuiteConfig(name="t", policies=("hpa", "static"), scenarios=("web",), patterns=("steady",),
                      perturbations=(), seeds=2, steps=6, reference="hpa", milp_seconds=0.5)
    cached, _ = run_suite(cfg, workers=0, oracle_cache=str(tmp_path))
    plain, _ = run_suite(cfg, workers=0)
    assert len(list(tmp_path.glob("*.json"))) == 2  # one per seed, shared by both policies
    assert cached["oracle_cost"].tolist() == plain["oracle_cost"].tolist()
