"""The one policy interface: every decision maker (rules, MADDPG, PPO) is used through it.

Two entry points, one contract:
- `act(observations, info)` for one deployment (the PettingZoo env, or a real
  project observed through `gcp`): {agent: PolicyDecision}.
- `act_batch(observations, info)` for the batched core: {agent: int array
  (N, n_slots)}, one knob choice per slot, in `envs.knobs` slot order.

Observations are the Dicts of `envs.observe` (batched: every array has a
leading N axis). `info` is the plain-data `PolicyInfo` that
`envs.policy_info` builds from the simulator state or from a DeploymentSpec, so
rules that need facts the observation lacks (replica bounds, the knob layout)
work the same on the simulator and on a real project.

The plan pipeline needs, per agent, the action, a confidence, and the
expected outcome (for learned policies, the critic's expected value):
`PolicyDecision` carries all three. `decide()` wraps any batched policy for
the single-deployment case, so a policy implements `act_batch` once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

#: {agent: {observation key: array}}; arrays are (N, ...) in the batched form.
Observations = Mapping[str, Mapping[str, np.ndarray]]
#: `envs.policy_info.PolicyInfo` as a mapping: "layout", "facts", "step_s", "t".
PolicyInfo = Mapping[str, Any]


@dataclass(frozen=True)
class PolicyDecision:
    """One agent's decision for one deployment."""

    agent: str
    action: np.ndarray  # int64 (n_slots,): one choice per knob slot; 0 = keep
    confidence: float  # in [0, 1]: rules say 1.0; learned policies their choice probability
    #: The critic's expected return of this joint action, or None where there is no critic.
    expected_value: float | None = None
    #: What the policy expects to happen, in plain numbers (e.g. {"replicas.frontend": 4}).
    expected_outcome: dict[str, float] = field(default_factory=dict)
    rationale: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"agent": self.agent, "action": [int(a) for a in self.action],
                "confidence": float(self.confidence), "expected_value": self.expected_value,
                "expected_outcome": dict(self.expected_outcome), "rationale": self.rationale}


@runtime_checkable
class Policy(Protocol):
    """A decision maker for all four agents."""

    name: str

    def reset(self, seed: int | None = None, n_envs: int = 1) -> None:
        """Forget episode memory (stabilisation windows, recurrent state) for `n_envs` envs."""
        ...

    def act_batch(self, observations: Observations, info: PolicyInfo) -> dict[str, np.ndarray]:
        """{agent: int64 (N, n_slots)} knob choices for N environments."""
        ...

    def decisions(self, observations: Observations, info: PolicyInfo) -> dict[str, PolicyDecision]:
        """Decisions for one deployment (observations without the N axis)."""
        ...


def batch_of_one(observations: Observations) -> dict[str, dict[str, np.ndarray]]:
    """Add the leading N = 1 axis to single-deployment observations."""
    return {a: {k: np.asarray(v)[None, ...] for k, v in o.items()} for a, o in observations.items()}


def decide(policy: Policy, observations: Observations, info: PolicyInfo, confidence: float = 1.0,
           expected_value: float | None = None,
           outcomes: Mapping[str, Mapping[str, float]] | None = None,
           rationale: Mapping[str, str] | None = None) -> dict[str, PolicyDecision]:
    """Run a batched policy on one deployment and wrap its choices as PolicyDecisions."""
    actions = policy.act_batch(batch_of_one(observations), info)
    return {agent: PolicyDecision(agent=agent, action=np.asarray(act[0], dtype=np.int64),
                                  confidence=confidence, expected_value=expected_value,
                                  expected_outcome=dict((outcomes or {}).get(agent, {})),
                                  rationale=(rationale or {}).get(agent, ""))
            for agent, act in actions.items()}
