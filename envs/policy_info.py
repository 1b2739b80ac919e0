"""Facts a policy may need besides its observation, as plain data (`agents.policy.PolicyInfo`).

Built from the simulator state (`from_core`) or from a DeploymentSpec
(`from_spec`, the real-project path), so rule-based policies see the same
numbers either way: the knob layout, replica bounds, targets and the machine ladder.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from envs.knobs import AGENTS, agent_slots
from envs.state import State, initial_state
from envs.topology import Topology, compile_spec
from gcp.spec import DeploymentSpec


def _info(topo: Topology, st: State, t: int, step_s: int, demand_peak: np.ndarray) -> dict[str, Any]:
    layout = {}
    for agent in AGENTS:
        slots = agent_slots(topo, agent)
        layout[agent] = [(k.name, c, tuple(k.choices)) for k, c in zip(slots.knobs, slots.counts, strict=True)]
    return {
        "layout": layout,
        "step_s": step_s,
        "t": t,
        "facts": {
            "service_names": list(topo.service_names),
            "replicas": st.target.copy(),  # (N, S)
            "running": st.running.copy(),
            "replicas_min": topo.rep_min.copy(),
            "replicas_max": topo.rep_max.copy(),
            "autoscaler_target_cpu": topo.target_cpu.copy(),
            "vcpu_per_vm": topo.m_vcpu[st.machine_of(topo)],
            "quota_headroom_vcpu": st.quota - (st.target * topo.m_vcpu[st.machine_of(topo)]).sum(axis=1),
            "demand_peak": demand_peak,  # (N,) highest demand level of the episode's workload
        },
    }


def from_core(core) -> dict[str, Any]:
    """PolicyInfo of every environment of a BatchedCore."""
    peak = core.demand[:, :, : core.config.steps + 1].max(axis=(1, 2)) if core.demand.size else np.ones(core.n)
    return _info(core.topo, core.state, core.state.t, core.config.step_s, peak)


def from_spec(spec: DeploymentSpec, step_s: int = 300, demand_peak: float = 1.0) -> dict[str, Any]:
    """PolicyInfo of one real deployment described by `spec` (N = 1)."""
    topo = compile_spec(spec)
    return _info(topo, initial_state(topo, 1), 0, step_s, np.array([demand_peak]))
