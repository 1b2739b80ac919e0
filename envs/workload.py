"""Demand for the simulator: trace-pipeline workloads, checked and shaped per entry point.

The core takes demand as a unitless array (N envs, E entry points, T steps) with
mean about 1; `envs.topology` turns level 1 into requests/s per entry. This
module asks `trace_pipeline.workloads.generate` for one series per entry point
per environment, and refuses bad demand (NaN, negative, too short) before an
episode starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from envs.errors import EnvConfigError

SCENARIOS = ("web", "batch", "ml")
PATTERNS = ("steady", "burst", "cyclical", "replay")


@dataclass(frozen=True)
class WorkloadSpec:
    """What demand to generate; extra keyword options go to `trace_pipeline` WorkloadConfig."""

    scenario: str = "web"
    pattern: str = "steady"
    level: float = 1.0
    options: tuple[tuple[str, Any], ...] = ()

    def validate(self) -> None:
        if self.scenario not in SCENARIOS:
            raise EnvConfigError(f"unknown workload scenario {self.scenario!r}; known: {', '.join(SCENARIOS)}")
        if self.pattern not in PATTERNS:
            raise EnvConfigError(f"unknown workload pattern {self.pattern!r}; known: {', '.join(PATTERNS)}")
        if not np.isfinite(self.level) or self.level <= 0:
            raise EnvConfigError(f"workload level must be a positive number, not {self.level!r}")


def check_demand(demand: np.ndarray, n_envs: int, n_entries: int, steps: int, source: str) -> np.ndarray:
    """Broadcast demand to (N, E, T >= steps + 1) float64, or say exactly what is wrong with it."""
    arr = np.asarray(demand, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, None, :]
    elif arr.ndim == 2:
        arr = arr[:, None, :] if arr.shape[0] == n_envs and n_entries != arr.shape[0] else arr[None, :, :]
    if arr.ndim != 3:
        raise EnvConfigError(f"{source}: demand must have 1 to 3 dimensions (envs, entries, steps)")
    bad = ~np.isfinite(arr)
    if bad.any():
        where = np.argwhere(bad)[0]
        raise EnvConfigError(f"{source}: demand has a non-finite value (NaN or inf) at index {tuple(where)}")
    if (arr < 0).any():
        raise EnvConfigError(f"{source}: demand has negative values")
    if arr.shape[-1] < steps + 1:
        raise EnvConfigError(f"{source}: demand has {arr.shape[-1]} steps; the episode needs {steps + 1}")
    try:
        return np.broadcast_to(arr, (n_envs, n_entries, arr.shape[-1])).copy()
    except ValueError:
        raise EnvConfigError(
            f"{source}: demand of shape {arr.shape} does not fit {n_envs} envs x {n_entries} entry points"
        ) from None


def generate_demand(spec: WorkloadSpec, n_envs: int, n_entries: int, steps: int, step_s: int,
                    seed: int) -> np.ndarray:
    """(N, E, steps + 1) demand from the trace pipeline's generator, one series per entry per env."""
    try:
        from trace_pipeline.workloads import WorkloadConfig, generate
    except ImportError as exc:  # the trace pipeline is part of this project; say so if it is broken
        raise EnvConfigError(f"trace_pipeline.workloads is unavailable ({exc}); pass demand= explicitly") from None
    cfg = WorkloadConfig(scenario=spec.scenario, pattern=spec.pattern, steps=steps + 1, step_s=step_s,
                         n_series=n_envs * n_entries, level=spec.level, seed=seed, **dict(spec.options))
    workload = generate(cfg)
    return check_demand(workload.demand.reshape(n_envs, n_entries, steps + 1), n_envs, n_entries, steps,
                        f"workload {spec.scenario}/{spec.pattern}")
