"""Shared replay: prioritised (sum-tree) sampling and hindsight goal relabelling.

Why prioritised: most 5-minute steps are uneventful; the rare bursts, outages
and SLO breaches carry the large TD errors the critics must learn from
(Schaul et al. 2016, proportional variant with importance weights).

Why hindsight: the policy is goal-conditioned on (cost-rate target, SLO
target). Under a sparse reward schedule an early policy almost never meets
the real goal, so the goal bonus is almost always zero. Relabelling a
transition with a goal the episode actually achieved a few steps later
(Andrychowicz et al. 2017, "future" strategy) turns those failures into
examples of how to reach *some* cost/SLO point, which is what the critic
needs to learn the trade-off. Transitions are stored per environment in
chunks in time order, so "a later step of the same episode" is a later slot
of the same chunk; each slot records how many such slots follow it.
"""

from __future__ import annotations

import numpy as np

#: A goal is met when cost is at most the target and SLO attainment at least the target.
GOAL_TOLERANCE = 1e-6


def goal_met(achieved: np.ndarray, goal: np.ndarray) -> np.ndarray:
    """(B, 2) achieved (cost rate, SLO attainment) vs (B, 2) goal → (B,) 0/1."""
    cheap = achieved[:, 0] <= goal[:, 0] + GOAL_TOLERANCE
    good = achieved[:, 1] >= goal[:, 1] - GOAL_TOLERANCE
    return (cheap & good).astype(np.float32)


class SumTree:
    """Priorities in a binary tree whose inner nodes hold the sums of their children."""

    def __init__(self, capacity: int):
        self.size = 1 << max(0, int(capacity - 1).bit_length())
        self.tree = np.zeros(2 * self.size, dtype=np.float64)

    @property
    def total(self) -> float:
        return float(self.tree[1])

    def update(self, index: np.ndarray, priority: np.ndarray) -> None:
        node = np.asarray(index, dtype=np.int64) + self.size
        self.tree[node] = priority
        node = np.unique(node // 2)
        while node[0] >= 1:
            self.tree[node] = self.tree[2 * node] + self.tree[2 * node + 1]
            if node[0] == 1:
                break
            node = np.unique(node // 2)

    def find(self, mass: np.ndarray) -> np.ndarray:
        """Leaf index whose cumulative-priority interval contains each `mass`."""
        node = np.ones(len(mass), dtype=np.int64)
        mass = mass.astype(np.float64).copy()
        while node[0] < self.size:
            left = 2 * node
            go_right = mass > self.tree[left]
            mass = np.where(go_right, mass - self.tree[left], mass)
            node = np.where(go_right, left + 1, left)
        return node - self.size

    def get(self, index: np.ndarray) -> np.ndarray:
        return self.tree[np.asarray(index) + self.size]


class ReplayBuffer:
    """A ring buffer of flat transitions (dict of arrays) with optional PER and HER.

    Fields are whatever the caller stores (see `agents.env_adapter.flatten_transition`);
    With the fields "obs/goal", "next_obs/goal" and "achieved" stored, a sample also gets
    "goal_bonus" (`goal_bonus` when the achieved point meets the goal, else 0).
    """

    def __init__(
        self,
        capacity: int,
        *,
        prioritized: bool = True,
        alpha: float = 0.6,
        her_ratio: float = 0.0,
        goal_bonus: float = 0.0,
        seed: int = 0,
    ):
        self.capacity = int(capacity)
        self.prioritized = prioritized
        self.alpha = alpha
        self.her_ratio = her_ratio
        self.goal_bonus = goal_bonus
        self.rng = np.random.default_rng(seed)
        self.data: dict[str, np.ndarray] = {}
        self.future = np.zeros(self.capacity, dtype=np.int32)
        self.pos = 0
        self.count = 0
        self.max_priority = 1.0
        self.tree = SumTree(self.capacity) if prioritized else None

    def __len__(self) -> int:
        return self.count

    def add_chunk(self, chunk: dict[str, np.ndarray], episode_left: np.ndarray) -> None:
        """Store T consecutive transitions of one environment.

        chunk: field → (T, ...). episode_left[t]: how many later transitions of the same
        episode this chunk holds after t (0 at an episode end or at the chunk's end).
        """
        steps = len(episode_left)
        if not self.data:
            self.data = {
                k: np.zeros((self.capacity, *v.shape[1:]), dtype=v.dtype) for k, v in chunk.items()
            }
        index = (self.pos + np.arange(steps)) % self.capacity
        for key, value in chunk.items():
            self.data[key][index] = value
        self.future[index] = episode_left
        if self.tree is not None:
            self.tree.update(index, np.full(steps, self.max_priority**self.alpha))
        self.pos = int((self.pos + steps) % self.capacity)
        self.count = min(self.count + steps, self.capacity)

    def sample(self, batch: int, beta: float = 0.4) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
        """(fields, indices, importance weights); HER applied to a `her_ratio` share."""
        if self.count == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        if self.tree is not None:
            bounds = np.linspace(0.0, self.tree.total, batch + 1)
            mass = self.rng.uniform(bounds[:-1], bounds[1:])
            index = np.minimum(self.tree.find(mass), self.count - 1)
            probs = self.tree.get(index) / self.tree.total
            weights = (self.count * np.maximum(probs, 1e-12)) ** (-beta)
            weights = (weights / weights.max()).astype(np.float32)
        else:
            index = self.rng.integers(0, self.count, size=batch)
            weights = np.ones(batch, dtype=np.float32)
        out = {k: v[index].copy() for k, v in self.data.items()}
        if "achieved" in out:
            if self.her_ratio > 0:
                self._relabel(out, index)
            out["goal_bonus"] = goal_met(out["achieved"], out["obs/goal"]) * self.goal_bonus
        return out, index, weights

    def update_priorities(self, index: np.ndarray, td_error: np.ndarray) -> None:
        if self.tree is None:
            return
        priority = np.abs(td_error) + 1e-6
        self.max_priority = max(self.max_priority, float(priority.max()))
        self.tree.update(index, priority**self.alpha)

    def _relabel(self, out: dict[str, np.ndarray], index: np.ndarray) -> None:
        """Replace the goal by one achieved later in the same episode, then recompute the bonus."""
        pick = self.rng.random(len(index)) < self.her_ratio
        if pick.any():
            ahead = (self.rng.random(pick.sum()) * (self.future[index[pick]] + 1)).astype(np.int64)
            new_goal = self.data["achieved"][(index[pick] + ahead) % self.capacity]
            out["obs/goal"][pick] = new_goal
            out["next_obs/goal"][pick] = new_goal
