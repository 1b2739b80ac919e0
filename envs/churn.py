"""Churn of a policy: how often it changes the deployment, and how often it undoes itself.

Measured on the knobs' effective values in the state (after masks and quota), not on
the chosen indices, so a masked or rejected choice is not a change and an undo is
recognised for every kind of knob (steps, factors and categorical settings alike).
A *flip* is a step whose change on a knob of a resource returns it to the value it
had two steps before, i.e. undoes the previous step's change: the two-step cycles
that make a shipped policy thrash (each one a rolling replace or a Cloud SQL restart
on a real project).
"""

from __future__ import annotations

import numpy as np

#: State arrays that hold a knob's value, per agent (envs.knobs; database tier/HA as requested).
KNOB_STATE = ("target", "pos", "spot", "klass", "disk_type", "disk_gb", "cdn", "net_tier",
              "max_rate", "zones_k", "next_tier", "next_ha", "replicas", "db_disk")


def knob_values(st) -> np.ndarray:
    """(N, K) every knob value of every resource, one column each."""
    return np.concatenate([np.asarray(getattr(st, name), dtype=np.float64).reshape(st.n, -1)
                           for name in KNOB_STATE], axis=1)


class ChurnMeter:
    """Counts changes and flips per environment over an episode; `update` once per step."""

    def __init__(self, first: np.ndarray):
        self.prev2: np.ndarray | None = None
        self.prev = np.asarray(first, dtype=np.float64).copy()
        self.changes = np.zeros(self.prev.shape[0])
        self.flips = np.zeros(self.prev.shape[0])
        self.steps = 0

    def update(self, values: np.ndarray) -> None:
        values = np.asarray(values, dtype=np.float64)
        changed = ~np.isclose(values, self.prev)
        self.changes += changed.sum(axis=1)
        if self.prev2 is not None:
            self.flips += (changed & np.isclose(values, self.prev2)).sum(axis=1)
        self.prev2, self.prev = self.prev, values.copy()
        self.steps += 1

    def summary(self, step_s: float) -> dict[str, np.ndarray]:
        """Per environment: knob changes per hour and flip rate (share of changes that undo the
        previous step's change on the same knob)."""
        hours = max(self.steps, 1) * step_s / 3600.0
        return {"changes_per_hour": self.changes / hours,
                "flip_rate": np.where(self.changes > 0, self.flips / np.maximum(self.changes, 1), 0.0)}
