"""The RLlib PPO baselines: tiny trainings of every variant, loading, masked acting on the batched core."""

from __future__ import annotations

import numpy as np
import pytest

from agents.baselines.ppo import (
    PPO_POLICIES,
    PPOCheckpointError,
    PPOPolicy,
    read_metadata,
    train_ppo,
)
from agents.policy import Policy
from envs.config import SimConfig
from envs.core import BatchedCore
from envs.knobs import AGENTS
from envs.policy_info import from_core
from envs.scenarios import scenario_spec
from envs.workload import WorkloadSpec
from evaluation.policies import load_policy, policy_record, ppo_checkpoint
from evaluation.schema import EvaluationError

pytest.importorskip("ray.rllib")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Every variant trained for 1 iteration (96 env steps) on web, where `load_policy` looks."""
    import ray

    registry = tmp_path_factory.mktemp("registry")
    ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True, log_to_driver=False)
    try:
        for name, (kind, lstm) in PPO_POLICIES.items():
            train_ppo(kind, lstm, "web", patterns=("steady", "burst"), iterations=1, seed=0,
                      out_dir=ppo_checkpoint(name, "web", registry), budget="tiny")
    finally:
        ray.shutdown()
    return registry


def core(scenario: str = "web", n: int = 3, steps: int = 10) -> BatchedCore:
    return BatchedCore(scenario_spec(scenario), n_envs=n, workload=WorkloadSpec(scenario, "burst"),
                       config=SimConfig(steps=steps), seed=0)


@pytest.mark.parametrize("name", list(PPO_POLICIES))
def test_variant_trains_loads_and_acts_inside_the_masks(trained, name):
    folder = ppo_checkpoint(name, "web", trained)
    meta = read_metadata(folder)
    kind, lstm = PPO_POLICIES[name]
    assert (meta["name"], meta["kind"], meta["lstm"]) == (name, kind, lstm)
    assert meta["curve"][0]["env_steps"] >= 96
    policy = load_policy(name, "web", trained)
    assert isinstance(policy, Policy) and policy.name == name
    env = core()
    env.reset(0)
    policy.reset(0, env.n)
    obs = env.observer.observe(env.state, env.flat_masks(), env.costs_by_agent())
    while True:
        actions = policy.act_batch(obs, from_core(env))
        for agent in AGENTS:
            act, nvec = actions[agent], env.slots[agent].nvec
            assert act.shape == (env.n, len(nvec)) and act.dtype == np.int64
            assert ((act >= 0) & (act < nvec)).all()
            offsets = np.concatenate([[0], np.cumsum(nvec)[:-1]])
            chosen = np.take_along_axis(obs[agent]["action_mask"], act + offsets, axis=1)
            assert (chosen == 1).all(), f"{name} chose a masked {agent} knob"
        obs, _rew, _term, trunc, info = env.step(actions)
        assert all((info["masked_ignored"][a] == 0).all() for a in AGENTS)
        if trunc.all():
            break
    record = policy_record(name, "web", trained)
    assert record["kind"] == "rllib-ppo" and record["budget"]["iterations"] == 1


def test_a_relative_checkpoint_path_loads(trained, monkeypatch):
    # the default location is relative (runs/rllib/...), which RLlib alone reads as a bad URI
    monkeypatch.chdir(trained.parent)
    relative = ppo_checkpoint("ppo", "web", trained.name)
    assert not relative.is_absolute()
    assert PPOPolicy.load(relative).kind == "single"


def test_exploration_never_samples_a_masked_choice(trained):
    """The training path (exploration sampling), not only the greedy choice, respects the mask."""
    import torch
    from ray.rllib.core.columns import Columns

    policy = PPOPolicy.load(ppo_checkpoint("ppo", "web", trained))
    module = next(iter(policy.modules.values()))
    nvec = np.concatenate([policy.metadata["nvec"][a] for a in AGENTS])
    rng = np.random.default_rng(0)
    mask = (rng.random((64, int(nvec.sum()))) < 0.5).astype(np.float32)
    offsets = np.concatenate([[0], np.cumsum(nvec)[:-1]])
    mask[:, offsets] = 1.0  # "keep" is always allowed
    features = module.observation_space["observations"].shape[0]
    batch = {Columns.OBS: {"observations": torch.randn(64, features), "action_mask": torch.from_numpy(mask)}}
    with torch.no_grad():
        logits = module.forward_exploration(batch)[Columns.ACTION_DIST_INPUTS]
    dist = module.get_exploration_action_dist_cls().from_logits(logits)
    for _ in range(20):
        sample = dist.sample().numpy()
        assert (np.take_along_axis(mask, sample + offsets, axis=1) == 1).all()


def test_decisions_carry_confidence_and_value_and_lstm_state_resets(trained):
    policy = load_policy("ppo-lstm", "web", trained)
    env = core(n=1)
    env.reset(0)
    obs = env.observer.observe(env.state, env.flat_masks(), env.costs_by_agent())
    single = {a: {k: v[0] for k, v in o.items()} for a, o in obs.items()}
    policy.reset(0, 1)
    first = policy.decisions(single, from_core(env))
    assert set(first) == set(AGENTS)
    for decision in first.values():
        assert 0.0 < decision.confidence <= 1.0 and np.isfinite(decision.expected_value)
    again = policy.decisions(single, from_core(env))  # same input, advanced recurrent state
    assert any(again[a].expected_value != first[a].expected_value for a in AGENTS)
    policy.reset(0, 1)
    replay = policy.decisions(single, from_core(env))
    for agent in AGENTS:
        np.testing.assert_array_equal(replay[agent].action, first[agent].action)
        assert replay[agent].expected_value == pytest.approx(first[agent].expected_value)


def test_wrong_scenario_and_missing_checkpoint_are_refused(trained, tmp_path):
    policy = load_policy("ippo", "web", trained)
    env = core("batch", n=2)
    env.reset(0)
    policy.reset(0, 2)
    obs = env.observer.observe(env.state, env.flat_masks(), env.costs_by_agent())
    with pytest.raises(PPOCheckpointError, match="trained on scenario 'web'"):
        policy.act_batch(obs, from_core(env))
    with pytest.raises(EvaluationError, match=r"marlform_ppo\.json: missing"):
        load_policy("ppo", "batch", trained)
    with pytest.raises(PPOCheckpointError, match="missing"):
        PPOPolicy.load(tmp_path)
