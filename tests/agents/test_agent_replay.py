"""Prioritised replay (sum tree) and hindsight goal relabelling."""

from __future__ import annotations

import numpy as np

from agents.replay import ReplayBuffer, SumTree, goal_met


def test_sum_tree_sums_and_finds():
    tree = SumTree(5)
    tree.update(np.arange(5), np.array([1.0, 2.0, 3.0, 4.0, 0.0]))
    assert tree.total == 10.0
    assert list(tree.find(np.array([0.5, 1.5, 3.5, 9.9]))) == [0, 1, 2, 3]
    tree.update(np.array([3, 3]), np.array([0.0, 0.0]))
    assert tree.total == 6.0


def _chunk(steps, start=0):
    t = np.arange(start, start + steps, dtype=np.float32)
    return {
        "x": t[:, None],
        "obs/goal": np.tile([[0.1, 0.99]], (steps, 1)).astype(np.float32),
        "next_obs/goal": np.tile([[0.1, 0.99]], (steps, 1)).astype(np.float32),
        "achieved": np.stack([t / 100.0 + 0.5, np.full(steps, 0.9)], axis=1).astype(np.float32),
    }


def test_prioritised_sampling_follows_priorities():
    buf = ReplayBuffer(64, prioritized=True, alpha=1.0, seed=0)
    buf.add_chunk({"x": np.arange(8, dtype=np.float32)[:, None]}, np.zeros(8, dtype=np.int32))
    buf.update_priorities(np.arange(8), np.array([0, 0, 0, 0, 0, 0, 0, 10.0]))
    _, index, weights = buf.sample(256)
    assert (index == 7).mean() > 0.95
    assert weights.max() == 1.0 and weights.min() > 0
    uniform = ReplayBuffer(64, prioritized=False, seed=0)
    uniform.add_chunk({"x": np.arange(8, dtype=np.float32)[:, None]}, np.zeros(8, dtype=np.int32))
    _, index, weights = uniform.sample(4000)
    assert (index == 7).mean() < 0.2 and np.all(weights == 1.0)


def test_ring_buffer_overwrites_oldest():
    buf = ReplayBuffer(10, prioritized=False, seed=0)
    for start in (0, 6, 12):
        buf.add_chunk(_chunk(6, start), np.zeros(6, dtype=np.int32))
    assert len(buf) == 10
    assert set(buf.data["x"][:, 0].astype(int)) == set(range(8, 18))


def test_hindsight_relabels_with_goals_achieved_later_in_the_episode():
    buf = ReplayBuffer(100, prioritized=False, her_ratio=1.0, goal_bonus=1.0, seed=0)
    left = np.array([4, 3, 2, 1, 0, 2, 1, 0], dtype=np.int32)  # two episodes in one chunk
    buf.add_chunk(_chunk(8), left)
    out, index, _ = buf.sample(500)
    achieved = buf.data["achieved"]
    for i, goal in zip(index, out["obs/goal"], strict=True):
        end = i + left[i]
        assert any(np.allclose(goal, achieved[j]) for j in range(i, end + 1))  # same episode, not earlier
    assert np.array_equal(out["obs/goal"], out["next_obs/goal"])
    assert out["goal_bonus"].mean() > 0.3  # relabelled goals are often met
    plain = ReplayBuffer(100, prioritized=False, her_ratio=0.0, goal_bonus=1.0, seed=0)
    plain.add_chunk(_chunk(8), left)
    assert plain.sample(200)[0]["goal_bonus"].sum() == 0  # the real goal (cost 0.1) is never met


def test_goal_met():
    achieved = np.array([[0.5, 0.995], [0.5, 0.98], [0.7, 1.0]])
    goal = np.array([[0.6, 0.99]] * 3)
    assert list(goal_met(achieved, goal)) == [1.0, 0.0, 0.0]
