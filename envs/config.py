"""Simulator options: dynamics rates, observation noise and reward weights, validated up front.

Why validation here: a bad option must fail when the environment is built, with
a message naming the option, never as a NaN reward hours into training.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, fields
from functools import cache
from importlib import resources

from envs.errors import EnvConfigError

#: Allowed ranges of the reward weights (DESIGN.md, "The simulator").
WEIGHT_RANGES: dict[str, tuple[float, float]] = {
    "cost": (0.20, 0.30),
    "performance": (0.30, 0.40),
    "reliability": (0.15, 0.20),
    "sustainability": (0.10, 0.15),
}


@cache
def availability_rates() -> dict[str, float]:
    """Rates from `envs/data/availability.json` (each with its source there)."""
    raw = json.loads(resources.files("envs").joinpath("data/availability.json").read_text())
    return {k: float(v["value"]) for k, v in raw.items() if not k.startswith("_")}


def _rate(name: str) -> float:
    return availability_rates()[name]


@dataclass(frozen=True)
class RewardConfig:
    """Weights (each in WEIGHT_RANGES), the local/global mix, penalties and the shaping schedule."""

    cost: float = 0.28
    performance: float = 0.38
    reliability: float = 0.20
    sustainability: float = 0.14
    #: Share of an agent's reward that is its own domain's term; the rest is the shared global term.
    local_share: float = 0.3
    budget_penalty: float = 1.0
    quota_penalty: float = 1.0
    dependency_penalty: float = 0.5
    #: Penalty per step for the request-weighted share of entry traffic whose service misses its
    #: SLO (p99 or error budget). Without it a 20 % SLO miss costs less than a 30 % cost cut, so
    #: the return, and model selection on it, prefers cheap SLO-violating configurations.
    slo_penalty: float = 1.0
    #: Reliability lost per unit share of an agent's resources hit by a disruptive operation in
    #: a step (rolling replace, Cloud SQL tier/HA change); 0 turns churn off as a cost.
    disruption: float = 1.0
    #: Penalty per knob value the agents change in a step (any knob: replicas, class, tier, ...).
    #: Without it a change that moves neither cost nor SLO is free, and greedy actors flip such
    #: knobs every step (docs/simulator.md, "Change cost"); 0 turns it off.
    change_cost: float = 0.02
    #: Env steps (summed over the batch) over which dense rewards fade into the sparse episode reward.
    shaping_steps: int = 0

    def validate(self) -> None:
        total = self.cost + self.performance + self.reliability + self.sustainability
        for name, (lo, hi) in WEIGHT_RANGES.items():
            value = getattr(self, name)
            if not lo - 1e-9 <= value <= hi + 1e-9:
                raise EnvConfigError(f"reward weight {name}={value:g} is outside its range [{lo:g}, {hi:g}]")
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise EnvConfigError(f"reward weights must sum to 1 (they sum to {total:g})")
        if not 0.0 <= self.local_share <= 1.0:
            raise EnvConfigError(f"reward local_share={self.local_share:g} must lie in [0, 1]")
        for name in ("budget_penalty", "quota_penalty", "dependency_penalty", "slo_penalty", "disruption",
                     "change_cost"):
            if getattr(self, name) < 0:
                raise EnvConfigError(f"reward {name} must be >= 0")
        if self.shaping_steps < 0:
            raise EnvConfigError("reward shaping_steps must be >= 0")


@dataclass(frozen=True)
class SimConfig:
    """Dynamics and observation options. `stochastic=False` turns every random event off."""

    step_s: int = 300
    steps: int = 288
    window: int = 6
    stochastic: bool = True
    machine_failure_per_hour: float = field(default_factory=lambda: _rate("machine_failure_per_machine_hour"))
    spot_preemption_per_hour: float = field(default_factory=lambda: _rate("spot_preemption_per_vm_hour"))
    zone_outage_per_hour: float = field(default_factory=lambda: _rate("zone_outage_per_zone_hour"))
    zone_outage_steps: float = field(default_factory=lambda: _rate("zone_outage_mean_steps"))
    stockout_per_hour: float = field(default_factory=lambda: _rate("zone_stockout_per_zone_hour"))
    stockout_steps: float = field(default_factory=lambda: _rate("zone_stockout_mean_steps"))
    #: Daily log-volatility of the spot price multiplier, mean-reverting to 1 (assumption).
    spot_volatility_per_day: float = 0.05
    spot_reversion_per_day: float = 0.5
    #: Relative (log-normal) noise on observed metrics and the chance a point is missing.
    obs_noise: float = 0.05
    obs_missing: float = 0.01
    #: Hours of the month already used when an episode starts (sustained-use position).
    month_offset_hours: float = 0.0
    reward: RewardConfig = field(default_factory=RewardConfig)

    def validate(self) -> None:
        if self.step_s <= 0 or self.steps <= 0 or self.window <= 0:
            raise EnvConfigError("step_s, steps and window must be positive")
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and (not math.isfinite(value) or value < 0):
                raise EnvConfigError(f"simulator option {f.name}={value!r} must be a finite number >= 0")
        if self.obs_missing >= 1:
            raise EnvConfigError("obs_missing must be < 1")
        self.reward.validate()
