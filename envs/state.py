"""The mutable state of N environments: one array per quantity, first axis = environment.

Kept apart from the dynamics so that `spec_view` (state -> DeploymentSpec) and
the core read the same names. Shapes: (N,) deployment-wide, (N, S) per service,
(N, D) per database, (N, B) per bucket, (N, Z) per zone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from envs.topology import Topology


@dataclass
class State:
    # compute, per service
    pos: np.ndarray  # position on the machine ladder
    target: np.ndarray  # replicas the agent asked for (the MIG's target size)
    running: np.ndarray  # VMs that exist (billed); lags target on stockouts, failures, quota
    spot: np.ndarray
    zones_k: np.ndarray
    disk_type: np.ndarray
    disk_gb: np.ndarray
    month_hours: np.ndarray  # (S,) hours each on-demand VM of the group ran this month (SUD); same in every env
    prev_vcpu: np.ndarray  # vCPU per VM before this step's template change (rolling replace)
    replace_n: np.ndarray  # VMs whose instance template changed this step (rolling replace)
    replace_rate: np.ndarray  # USD/h per VM of the template being replaced (billed during surge)
    replace_old_s: np.ndarray  # VM-seconds the replaced VMs still ran (and were billed) this step
    replace_early_s: np.ndarray  # VM-seconds of this step before the surge VMs existed (not billed)
    # databases
    tier: np.ndarray  # committed tier (serving now)
    ha: np.ndarray
    next_tier: np.ndarray  # tier after the pending operation
    next_ha: np.ndarray
    db_op_s: np.ndarray  # seconds until the pending tier/HA operation completes (0: none)
    db_down_s: np.ndarray  # downtime at the end of that operation
    replicas: np.ndarray  # read replicas asked for (billed)
    replicas_ready: np.ndarray
    replica_op_s: np.ndarray
    db_disk: np.ndarray
    db_data: np.ndarray  # GiB of data
    # buckets
    klass: np.ndarray
    # network
    cdn: np.ndarray
    net_tier: np.ndarray
    max_rate: np.ndarray
    prev_max_rate: np.ndarray
    lb_op_s: np.ndarray
    # world
    spot_mult: np.ndarray
    quota: np.ndarray
    zone_down: np.ndarray  # steps of outage left per zone
    stockout: np.ndarray  # steps of stockout left per zone
    err_prev: np.ndarray  # (N, V) own error rate of each node last step (drives retries)
    t: int = 0

    @property
    def n(self) -> int:
        return self.target.shape[0]

    def machine_of(self, topo: Topology) -> np.ndarray:
        """Machine-type index (into topo.m_*) of each service's VMs, (N, S)."""
        return np.take(topo.ladder, self.pos + np.arange(topo.n_services) * topo.ladder.shape[1])

    def copy(self) -> State:
        return State(**{k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in self.__dict__.items()})


def initial_state(topo: Topology, n: int) -> State:
    ini = topo.initial

    def rep(name: str, dtype=None) -> np.ndarray:
        value = np.asarray(ini[name])
        return np.broadcast_to(value, (n, *value.shape)).astype(dtype or value.dtype, copy=True)

    s, d, z = topo.n_services, topo.n_databases, len(topo.zones)
    st = State(
        pos=rep("pos"), target=rep("target"), running=rep("target"), spot=rep("spot"),
        zones_k=rep("zones_k"), disk_type=rep("disk_type"), disk_gb=rep("disk_gb"),
        month_hours=np.zeros(s), prev_vcpu=np.zeros((n, s)), replace_n=np.zeros((n, s)),
        replace_rate=np.zeros((n, s)), replace_old_s=np.zeros((n, s)), replace_early_s=np.zeros((n, s)),
        tier=rep("tier"), ha=rep("ha"), next_tier=rep("tier"), next_ha=rep("ha"),
        db_op_s=np.zeros((n, d)), db_down_s=np.zeros((n, d)),
        replicas=rep("replicas"), replicas_ready=rep("replicas"), replica_op_s=np.zeros((n, d)),
        db_disk=rep("db_disk"), db_data=np.zeros((n, d)),
        klass=rep("klass"), cdn=rep("cdn"), net_tier=rep("net_tier").astype(np.intp),
        max_rate=rep("max_rate"), prev_max_rate=rep("max_rate"), lb_op_s=np.zeros(n),
        spot_mult=np.ones(n), quota=np.full(n, float(topo.spec.quota("CPUS"))),
        zone_down=np.zeros((n, z)), stockout=np.zeros((n, z)),
        err_prev=np.zeros((n, topo.n_nodes)),
    )
    st.prev_vcpu = topo.m_vcpu[st.machine_of(topo)].astype(np.float64)
    data = np.array([db.backup_gib or 0.5 * db.disk_size_gb for db in topo.spec.databases], dtype=np.float64)
    st.db_data = np.broadcast_to(np.minimum(data, ini["db_disk"] * 0.9), (n, d)).copy()
    return st
