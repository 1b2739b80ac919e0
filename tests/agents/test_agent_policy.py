"""MADDPGPolicy behind the one policy interface, on the real simulator."""

from __future__ import annotations

import numpy as np
import torch

from agents.config import MADDPGConfig
from agents.evaluate import bootstrap_ci, held_out_core
from agents.maddpg_policy import MADDPGPolicy
from agents.networks import ActorSet
from agents.observation import NODE_DIM, actor_inputs
from agents.policy import Policy
from agents.sim_env import layout_of
from envs.policy_info import from_core


def _policy(core) -> MADDPGPolicy:
    torch.manual_seed(0)
    layout = layout_of(core)
    return MADDPGPolicy(ActorSet(layout, MADDPGConfig(hidden=32, embed=16)), layout)


def test_policy_interface_and_masks_on_the_simulator():
    core = held_out_core("web", 4)
    policy = _policy(core)
    assert isinstance(policy, Policy)
    obs = core.observer.observe(core.state, core.flat_masks(), core.costs_by_agent())
    for _ in range(6):
        actions = policy.act_batch(obs, from_core(core))
        for spec in policy.layout.agents:
            act = actions[spec.name]
            assert act.shape == (4, len(spec.knobs)) and act.dtype == np.int64
            mask = obs[spec.name]["action_mask"].astype(bool)
            offsets = np.cumsum((0, *spec.knobs[:-1]))
            assert mask[np.arange(4)[:, None], offsets + act].all()  # every choice is allowed
        obs, *_ = core.step(actions)
    one = {a: {k: v[0] for k, v in o.items()} for a, o in obs.items()}
    decisions = policy.decisions(one, from_core(core))
    assert set(decisions) == set(policy.layout.names)
    assert all(0.0 < d.confidence <= 1.0 for d in decisions.values())


def test_actor_graph_comes_from_observations_only():
    core = held_out_core("web", 2)
    layout = layout_of(core)
    obs = core.observer.observe(core.state, core.flat_masks(), core.costs_by_agent())
    flat = actor_inputs(obs, layout, np.zeros((2, 2), np.float32))
    assert flat["graph"].shape == (2, layout.num_nodes, NODE_DIM)
    assert "state" not in flat  # decentralised execution never reads the true state
    kinds = flat["graph"][0, :, :4].argmax(axis=1)
    assert list(kinds) == sorted(kinds)  # services, network, databases, buckets


def test_bootstrap_ci_brackets_the_mean():
    rng = np.random.default_rng(0)
    mean, lo, hi = bootstrap_ci(rng.normal(5.0, 1.0, 200), rng)
    assert lo < mean < hi and lo > 4.6 and hi < 5.4


def test_the_shipped_default_policy_loads_verified_and_acts():
    from agents.registry import ModelRegistry

    reg = ModelRegistry()  # the shipped registry, agents/models
    item = reg.get("web-maddpg")
    assert item.version == reg.promoted("web-maddpg")
    assert item.weights.stat().st_size < 2 * 1024 * 1024
    assert item.metadata["config"]["scenario"] == "web" and item.metadata["git_commit"]
    core = held_out_core("web", 2)
    policy = MADDPGPolicy.from_registry("web-maddpg", expect_layout=layout_of(core).to_dict())
    obs = core.observer.observe(core.state, core.flat_masks(), core.costs_by_agent())
    actions = policy.act_batch(obs, from_core(core))
    assert set(actions) == {"compute", "storage", "network", "database"}
