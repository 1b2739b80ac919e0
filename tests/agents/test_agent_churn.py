"""The churn metric of the held-out comparison counts changes and flip-flops correctly."""

from __future__ import annotations

import numpy as np
import pytest

from agents.evaluate import compare
from envs.churn import ChurnMeter


def test_meter_counts_a_synthetic_flip_flop_and_a_monotone_walk():
    # env 0 flips one knob 3 -> 4 -> 3 -> 4 -> 3; env 1 walks 3 -> 4 -> 5 -> 6 -> 7; env 2 sits
    first = np.array([[3.0, 1.0], [3.0, 1.0], [3.0, 1.0]])
    meter = ChurnMeter(first)
    for t in range(1, 5):
        meter.update(np.array([[3.0 + t % 2, 1.0], [3.0 + t, 1.0], [3.0, 1.0]]))
    out = meter.summary(step_s=300.0)  # 4 steps = 20 minutes
    assert out["changes_per_hour"].tolist() == pytest.approx([12.0, 12.0, 0.0])
    # env 0: steps 2, 3 and 4 each undo the previous change (step 1 has nothing to undo)
    assert out["flip_rate"].tolist() == pytest.approx([0.75, 0.0, 0.0])


class _MachineFlipper:
    """Moves every service's machine down and up on alternate steps (where the ladder allows)."""

    def reset(self, seed, n_envs):
        self.t = 0

    def act_batch(self, observations, info):
        s = len(info["facts"]["service_names"])
        n = info["facts"]["replicas"].shape[0]
        act = np.zeros((n, 3 * s), dtype=np.int64)
        act[:, s:2 * s] = 1 if self.t % 2 == 0 else 2
        self.t += 1
        return {"compute": act}


class _Keeper:
    def reset(self, seed, n_envs):
        pass

    def act_batch(self, observations, info):
        return {}


def test_comparison_reports_a_flipping_policy_as_thrashing_and_a_keeper_as_still():
    report = compare({"flip": [_MachineFlipper()], "keep": [_Keeper()]}, "web", episodes=2,
                     baseline="keep")
    flip, keep = report["policies"]["flip"], report["policies"]["keep"]
    assert keep["changes_per_hour"]["mean"] == 0 and keep["flip_rate"]["mean"] == 0
    assert flip["flip_rate"]["mean"] > 0.95
    assert flip["changes_per_hour"]["mean"] > 30  # 3 of 4 services change 12 times an hour
