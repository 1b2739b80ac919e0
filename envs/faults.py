"""Scriptable faults: a zone failure at step t, a preemption wave, a demand spike, a quota cut.

Faults are compiled at reset into per-step arrays, so the core applies them with
an index, never with a Python loop over events during a step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from envs.errors import EnvConfigError


@dataclass(frozen=True)
class ZoneOutage:
    zone: str
    step: int
    duration: int = 12


@dataclass(frozen=True)
class PreemptionWave:
    step: int
    fraction: float = 1.0  # share of running spot VMs preempted


@dataclass(frozen=True)
class DemandSpike:
    step: int
    duration: int = 6
    factor: float = 3.0
    entry: int | None = None  # entry-point index; None = every entry


@dataclass(frozen=True)
class QuotaCut:
    step: int
    cpus: int  # new regional CPUS quota from this step on


Fault = ZoneOutage | PreemptionWave | DemandSpike | QuotaCut


@dataclass
class FaultPlan:
    zone_down: np.ndarray  # (T, Z) bool
    preempt: np.ndarray  # (T,) share of spot VMs preempted
    spike: np.ndarray  # (T, E) demand multiplier
    quota: np.ndarray  # (T,) CPUS quota, NaN = unchanged


def compile_faults(faults: tuple[Fault, ...], zones: list[str], n_entries: int, steps: int) -> FaultPlan:
    """Check every fault against the spec's zones and the episode length, then tabulate them."""
    plan = FaultPlan(
        zone_down=np.zeros((steps + 1, len(zones)), dtype=bool),
        preempt=np.zeros(steps + 1),
        spike=np.ones((steps + 1, n_entries)),
        quota=np.full(steps + 1, np.nan),
    )
    for fault in faults:
        if not 0 <= fault.step <= steps:
            raise EnvConfigError(f"{fault}: step must lie in [0, {steps}]")
        if isinstance(fault, ZoneOutage):
            if fault.zone not in zones:
                raise EnvConfigError(f"{fault}: zone {fault.zone!r} is not one of {', '.join(zones)}")
            plan.zone_down[fault.step : fault.step + fault.duration, zones.index(fault.zone)] = True
        elif isinstance(fault, PreemptionWave):
            if not 0 <= fault.fraction <= 1:
                raise EnvConfigError(f"{fault}: fraction must lie in [0, 1]")
            plan.preempt[fault.step] = fault.fraction
        elif isinstance(fault, DemandSpike):
            if fault.factor < 0 or not np.isfinite(fault.factor):
                raise EnvConfigError(f"{fault}: factor must be a finite number >= 0")
            cols = slice(None) if fault.entry is None else fault.entry
            if fault.entry is not None and not 0 <= fault.entry < n_entries:
                raise EnvConfigError(f"{fault}: entry must lie in [0, {n_entries - 1}]")
            plan.spike[fault.step : fault.step + fault.duration, cols] *= fault.factor
        elif isinstance(fault, QuotaCut):
            if fault.cpus < 0:
                raise EnvConfigError(f"{fault}: cpus must be >= 0")
            plan.quota[fault.step :] = fault.cpus
        else:
            raise EnvConfigError(f"unknown fault {fault!r}")
    return plan
