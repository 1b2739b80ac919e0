"""MADDPG core on synthetic tensors: gradients, the centralised critic, masks, updates."""

from __future__ import annotations

import torch
from agents_synthetic import random_obs

from agents.config import MADDPGConfig
from agents.gumbel import (
    gumbel_softmax_st,
    masked_cross_entropy,
    masked_entropy,
    onehot_to_index,
    sample_onehot,
)
from agents.maddpg import MADDPG, act_with, perturbed_copy
from agents.networks import PendingEncoder

CFG = MADDPGConfig(hidden=32, embed=16, batch_size=8)


def _batch(layout, maddpg, size=8, seed=0):
    obs, nxt = random_obs(layout, size, seed), random_obs(layout, size, seed + 1)
    actions = maddpg.act(obs, explore=True)
    rewards = {n: torch.randn(size) for n in layout.names}
    return {"obs": obs, "next_obs": nxt, "actions": actions, "rewards": rewards, "done": torch.zeros(size)}


def test_gradient_flows_through_gumbel_softmax_to_every_actor(layout):
    m = MADDPG(layout, CFG)
    obs = random_obs(layout, 8)
    logits = m.actors(obs)
    context = m.critics.context(obs)
    for agent in layout.agents:
        m.actors.zero_grad()
        onehot = gumbel_softmax_st(logits[agent.name], obs[agent.name]["mask"], agent.knobs)
        assert torch.all(onehot.detach().sum(-1) == len(agent.knobs))  # hard one-hot per knob
        joint = {a.name: torch.zeros(8, a.action_dim) for a in layout.agents} | {agent.name: onehot}
        m.critics.q_value(context, joint, agent.name).sum().backward(retain_graph=True)
        head = m.actors.heads[agent.name].weight.grad
        assert head is not None and head.abs().sum() > 0, agent.name
        if agent.nodes:  # an agent that owns graph nodes trains the shared GNN too
            assert m.actors.gnn.inp.weight.grad.abs().sum() > 0


def test_centralised_critic_sees_every_agents_action(layout):
    m = MADDPG(layout, CFG)
    obs = random_obs(layout, 4)
    base = {a.name: torch.nn.functional.one_hot(torch.zeros(4, dtype=torch.long), a.action_dim).float()
            for a in layout.agents}
    q0 = m.critics(obs, base)
    for agent in layout.agents:
        changed = dict(base)
        changed[agent.name] = torch.roll(base[agent.name], 1, dims=-1)
        q1 = m.critics(obs, changed)
        for critic in layout.names:  # every critic reacts to every agent's action
            assert not torch.allclose(q0[critic], q1[critic]), (critic, agent.name)


def test_independent_critic_ablation_sees_only_its_own_action(layout):
    m = MADDPG(layout, MADDPGConfig(hidden=32, embed=16, central_critic=False))
    obs = random_obs(layout, 4)
    acts = m.act(obs, explore=False)
    q0 = m.critics(obs, acts)
    changed = dict(acts, network=torch.roll(acts["network"], 1, dims=-1))
    q1 = m.critics(obs, changed)
    assert torch.allclose(q0["compute"], q1["compute"])
    assert not torch.allclose(q0["network"], q1["network"])


def test_masked_choices_are_never_chosen_and_get_no_gradient(layout):
    torch.manual_seed(0)
    m = MADDPG(layout, CFG)
    obs = random_obs(layout, 256)
    compute = layout.agents[0]
    mask = obs["compute"]["mask"]
    mask[:, 0] = False  # knob 0, choice 0 forbidden
    mask[:128, 4] = False  # knob 1, choice 1 forbidden in half the rows
    for sample in (True, False):
        idx = onehot_to_index(act_with(m.actors, obs, sample)["compute"], compute.knobs)
        assert not (idx[:, 0] == 0).any()
        assert not (idx[:128, 1] == 1).any()
    logits = m.actors(obs)["compute"]
    logits.retain_grad()
    st = gumbel_softmax_st(logits, mask, compute.knobs)
    assert not st[:, 0].any() and not st[:128, 4].any()
    (st * torch.randn_like(st)).sum().backward()
    assert torch.all(logits.grad[:, 0] == 0) and torch.all(logits.grad[:128, 4] == 0)
    assert torch.isfinite(logits.grad).all()
    ent = masked_entropy(logits, mask, compute.knobs)
    assert torch.isfinite(ent).all()


def test_sampling_with_a_single_allowed_choice_is_deterministic(layout):
    logits = torch.randn(64, 3)
    mask = torch.tensor([[False, True, False]]).expand(64, 3)
    assert torch.all(sample_onehot(logits, mask, (3,))[:, 1] == 1)


def test_empty_pending_queue_gives_finite_embedding():
    enc = PendingEncoder(4, 16)
    out = enc(torch.randn(3, 5, 4), torch.zeros(3, 5, dtype=torch.bool))
    assert torch.isfinite(out).all()
    # padded entries do not change the embedding
    valid = torch.tensor([[True, True, False, False, False]] * 3)
    x = torch.randn(3, 5, 4)
    y = x.clone()
    y[:, 2:] = 99.0
    assert torch.allclose(enc(x, valid), enc(y, valid), atol=1e-5)


def test_update_reduces_td_error_and_moves_targets_softly(layout):
    m = MADDPG(layout, MADDPGConfig(hidden=32, embed=16, lr_critic=3e-3))
    batch = _batch(layout, m, 32)
    weights = torch.ones(32)
    before = [p.clone() for p in m.target_critics.parameters()]
    _, td0 = m.update(batch, weights)
    for _ in range(60):
        metrics, td = m.update(batch, weights)
    assert td.mean() < td0.mean()
    assert all(torch.isfinite(torch.tensor(v)) for v in metrics.values())
    moved = sum(float((a - b).abs().sum()) for a, b in zip(before, m.target_critics.parameters(), strict=True))
    assert moved > 0
    assert metrics["grad_norm/critic"] >= 0 and m.updates == 61


def test_actor_update_leaves_critics_untouched_by_actor_loss(layout):
    m = MADDPG(layout, CFG)
    batch = _batch(layout, m)
    m.update(batch, torch.ones(8))
    assert all(p.grad is None for p in m.critics.parameters())


def test_parameter_noise_changes_some_actions(layout):
    m = MADDPG(layout, MADDPGConfig(hidden=32, embed=16, exploration="param_noise"))
    obs = random_obs(layout, 64)
    clean = act_with(m.actors, obs, sample=False)
    noisy = act_with(perturbed_copy(m.actors, 0.5, torch.Generator().manual_seed(1)), obs, sample=False)
    assert any(not torch.equal(clean[n], noisy[n]) for n in layout.names)


def test_ablations_build_and_update(layout):
    for switch in ({"use_gnn": False}, {"use_attention": False}, {"central_critic": False},
                   {"bc_weight": 0.5, "exploration": "param_noise"}):
        m = MADDPG(layout, MADDPGConfig(hidden=32, embed=16, **switch))
        metrics, td = m.update(_batch(layout, m), torch.ones(8))
        assert td.shape == (8,) and metrics["loss/critic"] >= 0


def test_twin_critics_bootstrap_from_the_smaller_target_and_round_trip(layout):
    m = MADDPG(layout, MADDPGConfig(hidden=32, embed=16, twin_critics=True, lr_critic=3e-3))
    batch = _batch(layout, m, 16)
    # make the twin's target pessimistic: the TD target must follow it, not the first critic
    with torch.no_grad():
        for head in m.target_twin.modules():
            if isinstance(head, torch.nn.Linear) and head.out_features == 1:
                head.bias.sub_(100.0)
    next_actions = m.act(batch["next_obs"], False)
    low = m.target_twin(batch["next_obs"], next_actions)
    high = m.target_critics(batch["next_obs"], next_actions)
    assert all((low[n] < high[n]).all() for n in layout.names)
    q_before = m.critics(batch["obs"], batch["actions"])
    for _ in range(30):
        m.update(batch, torch.ones(16))
    q_after = m.critics(batch["obs"], batch["actions"])
    assert all((q_after[n] < q_before[n] - 1.0).all() for n in layout.names)  # pulled down
    clone = MADDPG(layout, MADDPGConfig(hidden=32, embed=16, twin_critics=True))
    clone.load_state_dict(m.state_dict())
    for a, b in zip(clone.target_twin.parameters(), m.target_twin.parameters(), strict=True):
        assert torch.equal(a, b)


def test_keep_prior_makes_the_untrained_policy_keep_everything(layout):
    m = MADDPG(layout, MADDPGConfig(hidden=32, embed=16, keep_bias=8.0))
    acts = m.act(random_obs(layout, 16), explore=False)
    for agent in layout.agents:
        assert torch.all(onehot_to_index(acts[agent.name], agent.knobs) == 0)


def test_actors_wait_for_the_critic_warmup(layout):
    m = MADDPG(layout, MADDPGConfig(hidden=32, embed=16, critic_warmup=3, policy_delay=1))
    before = [p.clone() for p in m.actors.parameters()]
    batch = _batch(layout, m)
    for _ in range(3):
        metrics, _ = m.update(batch, torch.ones(8))
        assert "loss/actor" not in metrics
    assert all(torch.equal(a, b) for a, b in zip(before, m.actors.parameters(), strict=True))
    metrics, _ = m.update(batch, torch.ones(8))
    assert "loss/actor" in metrics
    assert any(not torch.equal(a, b) for a, b in zip(before, m.actors.parameters(), strict=True))


def test_masked_cross_entropy_prefers_the_replayed_choice():
    knobs = (3, 2)
    mask = torch.tensor([[True, True, False, True, True]])
    target = torch.tensor([[0.0, 1.0, 0.0, 1.0, 0.0]])
    good = torch.tensor([[0.0, 5.0, 9.0, 5.0, 0.0]])  # the masked 9.0 must not count
    bad = torch.tensor([[5.0, 0.0, 0.0, 0.0, 5.0]])
    assert masked_cross_entropy(good, mask, target, knobs) < 0.01
    assert masked_cross_entropy(bad, mask, target, knobs) > 4.0
