"""Rule-based baselines behind `agents.policy.Policy`: Kubernetes HPA, the GCE MIG autoscaler,
and a static expert sized for the peak.

Sources (research/marl-and-autoscaling.md §3):
- HPA: desired = ceil(current x metric / target); no change while the ratio is
  within the 0.1 tolerance of 1; scale-down takes the highest recommendation of
  the 5-minute stabilisation window; a missing metric counts as 100 % of target
  (so it never causes a scale-down).
- MIG autoscaler: recommendation = ceil(sum of CPU usage / target), target CPU
  0.6; while new VMs are still initialising (`coolDownPeriodSec`, 60 s), no
  further scale-out; scale-in takes the peak recommendation of the 10-minute
  stabilisation period.
- Static expert: every service at ceil(spec replicas x the workload's peak
  level), i.e. its autoscaler target utilisation even at the peak; then it holds.

All three only drive the compute agent's `replicas` knob; every other knob
keeps its value. A replica change is rounded to the nearest allowed choice
(-2, -1, +1, +2, +4 per 5-minute step) that the action mask permits.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from agents.policy import Observations, PolicyDecision, PolicyInfo, decide


def _replica_slots(info: PolicyInfo) -> tuple[int, int, np.ndarray]:
    """(first slot, service count, choice deltas) of the compute agent's replicas knob."""
    start = 0
    for name, count, choices in info["layout"]["compute"]:
        if name == "replicas":
            return start, count, np.array(choices, dtype=np.int64)
        start += count
    raise ValueError("the compute agent has no replicas knob in this layout")


def _mask_offset(info: PolicyInfo, slot: int) -> int:
    """Index in the flat action mask where `slot`'s choices begin."""
    offset, seen = 0, 0
    for _name, count, choices in info["layout"]["compute"]:
        for _ in range(count):
            if seen == slot:
                return offset
            offset += len(choices)
            seen += 1
    raise ValueError(f"no slot {slot}")


class _ReplicaRule:
    """Shared plumbing: from desired replicas to masked knob choices for all agents."""

    name = "rule"
    #: Scale-in stabilisation window (s); rules that scale in override it.
    stabilisation_s: float = 0.0

    def __init__(self) -> None:
        self.history: deque[np.ndarray] = deque()

    def reset(self, seed: int | None = None, n_envs: int = 1) -> None:
        self.history.clear()

    def desired(self, observations: Observations, info: PolicyInfo) -> np.ndarray:
        raise NotImplementedError

    def stabilised(self, rec: np.ndarray, current: np.ndarray, step_s: float) -> np.ndarray:
        """Scale in only to the highest recommendation of the stabilisation window (HPA's
        scale-down stabilisation, the MIG autoscaler's scale-in stabilisation alike)."""
        window = max(1, math.ceil(self.stabilisation_s / step_s))
        past = list(self.history)[-window:]
        self.history.append(rec)
        highest = np.maximum.reduce([rec, *past]) if past else rec
        return np.where(rec < current, np.minimum(highest, current), rec).astype(np.int64)

    def act_batch(self, observations: Observations, info: PolicyInfo) -> dict[str, np.ndarray]:
        facts = info["facts"]
        current = np.asarray(facts["replicas"], dtype=np.int64)
        want = np.clip(self.desired(observations, info), facts["replicas_min"], facts["replicas_max"])
        start, count, deltas = _replica_slots(info)
        n = current.shape[0]
        out = {agent: np.zeros((n, _slots(info, agent)), dtype=np.int64) for agent in info["layout"]}
        if count:
            off = _mask_offset(info, start)
            mask = np.asarray(observations["compute"]["action_mask"])[:, off : off + count * len(deltas)]
            mask = mask.reshape(n, count, len(deltas)).astype(bool)
            gap = np.abs(deltas[None, None, :] - (want - current)[..., None]).astype(np.float64)
            gap = gap + 1e-3 * np.abs(deltas)  # ties: the smaller step
            gap[~mask] = np.inf
            out["compute"][:, start : start + count] = np.argmin(gap, axis=-1)
        self.last_desired = want
        return out

    def decisions(self, observations: Observations, info: PolicyInfo) -> dict[str, PolicyDecision]:
        names = info["facts"]["service_names"]
        first = decide(self, observations, info)
        outcome = {f"replicas.{name}": float(v) for name, v in zip(names, self.last_desired[0], strict=True)}
        return {a: PolicyDecision(a, d.action, 1.0, None, outcome if a == "compute" else {},
                                  f"{self.name}: desired replicas {outcome}" if a == "compute" else "keep")
                for a, d in first.items()}


def _slots(info: PolicyInfo, agent: str) -> int:
    return sum(count for _name, count, _choices in info["layout"][agent])


def _cpu(observations: Observations) -> tuple[np.ndarray, np.ndarray]:
    """Observed CPU utilisation (N, S) and whether it is missing (staleness 1)."""
    obs = observations["compute"]
    return np.asarray(obs["telemetry"])[..., 0], np.asarray(obs["staleness"])[..., 0] >= 1.0


class HPAPolicy(_ReplicaRule):
    """Kubernetes Horizontal Pod Autoscaler on CPU, at its documented defaults."""

    name = "hpa"

    def __init__(self, target: float | None = None, tolerance: float = 0.1, stabilisation_s: float = 300.0):
        super().__init__()
        self.target, self.tolerance, self.stabilisation_s = target, tolerance, stabilisation_s

    def desired(self, observations: Observations, info: PolicyInfo) -> np.ndarray:
        facts = info["facts"]
        current = np.asarray(facts["replicas"], dtype=np.float64)
        target = self.target if self.target is not None else np.asarray(facts["autoscaler_target_cpu"])
        util, missing = _cpu(observations)
        ratio = np.where(missing, 1.0, util / target)
        rec = np.where(np.abs(ratio - 1.0) <= self.tolerance, current, np.ceil(current * ratio - 1e-6))
        return self.stabilised(rec, current, info["step_s"])


class MIGAutoscalerPolicy(_ReplicaRule):
    """Compute Engine managed-instance-group autoscaler on CPU utilisation."""

    name = "mig"

    def __init__(self, target: float = 0.6, initialisation_s: float = 60.0, stabilisation_s: float = 600.0):
        super().__init__()
        self.target, self.initialisation_s, self.stabilisation_s = target, initialisation_s, stabilisation_s

    def desired(self, observations: Observations, info: PolicyInfo) -> np.ndarray:
        current = np.asarray(info["facts"]["replicas"], dtype=np.float64)
        util, missing = _cpu(observations)
        rec = np.where(missing, current, np.ceil(current * util / self.target - 1e-6))
        # VMs created less than the initialisation period ago: their data is ignored, so no scale-out yet
        initialising = np.asarray(observations["compute"]["pending"])[..., 0] > 0
        rec = np.where(initialising & (rec > current), current, rec)
        return self.stabilised(rec, current, info["step_s"])


class StaticExpertPolicy(_ReplicaRule):
    """A fixed configuration sized for the workload's peak, reached in the first steps, then held."""

    name = "static"

    def __init__(self) -> None:
        super().__init__()
        self.plan: np.ndarray | None = None

    def reset(self, seed: int | None = None, n_envs: int = 1) -> None:
        super().reset(seed, n_envs)
        self.plan = None

    def desired(self, observations: Observations, info: PolicyInfo) -> np.ndarray:
        facts = info["facts"]
        if self.plan is None:
            base = np.asarray(facts["replicas"], dtype=np.float64)
            peak = np.asarray(facts["demand_peak"], dtype=np.float64)[:, None]
            self.plan = np.ceil(base * np.maximum(peak, 1.0) - 1e-9).astype(np.int64)
        return self.plan


#: The rule baselines by name, for the CLI and the evaluation runner.
RULES = {"hpa": HPAPolicy, "mig": MIGAutoscalerPolicy, "static": StaticExpertPolicy}
