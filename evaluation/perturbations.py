"""The four perturbation studies, as scripted simulator faults at a fixed onset.

Why fixed and scripted: "time to recover" and "SLO lost" compare policies,
so every policy must meet the same fault at the same step of the same episode.
"""

from __future__ import annotations

from dataclasses import dataclass

from evaluation.schema import NO_PERTURBATION, EvaluationError
from gcp.spec import DeploymentSpec

PERTURBATIONS: tuple[str, ...] = ("zone_failure", "preemption_wave", "demand_spike", "quota_cut")
#: The demand spike of the issue: five times the demand.
SPIKE_FACTOR = 5.0
#: The quota cut leaves this share of the vCPUs the deployment starts with.
QUOTA_SHARE = 0.75


@dataclass(frozen=True)
class Perturbation:
    name: str
    faults: tuple
    onset: int
    #: Steps the fault lasts (the quota cut never ends: None).
    duration: int | None


def perturbation(name: str, spec: DeploymentSpec, steps: int) -> Perturbation:
    """The faults of perturbation `name` for an episode of `steps` steps, starting at a third of it."""
    from envs.faults import DemandSpike, PreemptionWave, QuotaCut, ZoneOutage
    from gcp.catalog import load_catalog

    onset = max(1, steps // 3)
    if name == NO_PERTURBATION:
        return Perturbation(name, (), onset, 0)
    if name == "zone_failure":
        zone = spec.zones(spec.services[0])[0] if spec.services else load_catalog().zones(spec.region)[0]
        duration = max(2, steps // 6)
        return Perturbation(name, (ZoneOutage(zone=zone, step=onset, duration=duration),), onset, duration)
    if name == "preemption_wave":
        return Perturbation(name, (PreemptionWave(step=onset, fraction=1.0),), onset, 1)
    if name == "demand_spike":
        duration = max(2, steps // 12)
        return Perturbation(name, (DemandSpike(step=onset, duration=duration, factor=SPIKE_FACTOR),),
                            onset, duration)
    if name == "quota_cut":
        catalog = load_catalog()
        vcpus = sum(s.replicas.target * catalog.machine_type(s.machine_type).vcpu for s in spec.services)
        return Perturbation(name, (QuotaCut(step=onset, cpus=max(1, int(vcpus * QUOTA_SHARE))),), onset, None)
    raise EvaluationError(f"unknown perturbation {name!r}; known: {', '.join(PERTURBATIONS)}")


def active(p: Perturbation, step: int) -> bool:
    """Whether the fault is in force at `step` (1-based env steps)."""
    if p.name == NO_PERTURBATION or step < p.onset:
        return False
    return p.duration is None or step < p.onset + p.duration
