"""The agents' discrete knobs: what each choice means and which GCP operation carries it out.

An agent's action is one integer per slot; a slot is one knob of one resource.
Slots are laid out knob-major (all services' `replicas`, then all services'
`machine`, ...), so a batch of actions (N, n_slots) reshapes to (N, R, ) per knob
without copying. Choice 0 of every knob is "keep", which is always allowed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from envs.topology import DISK_TYPES, NETWORK_TIERS, STORAGE_CLASSES, Topology

AGENTS: tuple[str, ...] = ("compute", "storage", "network", "database")


@dataclass(frozen=True)
class Knob:
    name: str
    resource: str  # "service" | "bucket" | "database" | "deployment"
    choices: tuple  # choice values; index 0 is "keep"
    operation: str  # the GCP API call that applies it

    @property
    def n(self) -> int:
        return len(self.choices)


KNOBS: dict[str, tuple[Knob, ...]] = {
    "compute": (
        Knob("replicas", "service", (0, -2, -1, 1, 2, 4), "compute.regionInstanceGroupManagers.resize"),
        Knob("machine", "service", (0, -1, 1),
             "compute.instanceTemplates.insert + regionInstanceGroupManagers.patch (rolling replace)"),
        Knob("spot", "service", (0.0, -0.25, 0.25),
             "compute.regionInstanceGroupManagers.patch (versions: SPOT / STANDARD templates)"),
    ),
    "storage": (
        Knob("class", "bucket", ("keep", *STORAGE_CLASSES), "storage.buckets.patch (storageClass)"),
        Knob("disk_type", "service", ("keep", *DISK_TYPES), "compute.instanceTemplates.insert (boot disk type)"),
        Knob("disk_size", "service", (0, -10, 10), "compute.instanceTemplates.insert (boot disk GB)"),
    ),
    "network": (
        Knob("cdn", "deployment", ("keep", False, True), "compute.backendServices.patch (enableCDN)"),
        Knob("tier", "deployment", ("keep", *NETWORK_TIERS),
             "compute.globalForwardingRules.insert (networkTier)"),
        Knob("lb_capacity", "deployment", (1.0, 0.8, 1.25),
             "compute.backendServices.patch (maxRatePerInstance)"),
        Knob("zone_spread", "service", (0, -1, 1),
             "compute.regionInstanceGroupManagers.patch (distributionPolicy.zones)"),
    ),
    "database": (
        Knob("tier", "database", (0, -1, 1), "sqladmin.instances.patch (settings.tier)"),
        Knob("ha", "database", ("keep", "ZONAL", "REGIONAL"), "sqladmin.instances.patch (availabilityType)"),
        Knob("read_replicas", "database", (0, -1, 1), "sqladmin.instances.insert / delete (read replica)"),
        Knob("disk", "database", (0, 20, 100), "sqladmin.instances.patch (settings.dataDiskSizeGb, grow only)"),
    ),
}
#: Stands in for an agent with no resources in a spec, so every agent keeps a valid space.
NOOP = Knob("noop", "deployment", ("keep",), "none")


@dataclass(frozen=True)
class Slots:
    """One agent's slot layout for a given topology."""

    knobs: tuple[Knob, ...]
    counts: tuple[int, ...]  # resources per knob

    @property
    def nvec(self) -> np.ndarray:
        return np.concatenate([np.full(c, k.n, dtype=np.int64) for k, c in zip(self.knobs, self.counts, strict=True)])

    @property
    def n_slots(self) -> int:
        return sum(self.counts)

    @property
    def mask_size(self) -> int:
        return sum(k.n * c for k, c in zip(self.knobs, self.counts, strict=True))

    def split(self, actions: np.ndarray) -> dict[str, np.ndarray]:
        """(N, n_slots) -> {knob: (N, resources)} views."""
        out, start = {}, 0
        for knob, count in zip(self.knobs, self.counts, strict=True):
            out[knob.name] = actions[:, start : start + count]
            start += count
        return out

    def describe(self) -> list[dict]:
        """Per slot: knob, resource index and choices (for logs, explainers and the CLI)."""
        rows = []
        for knob, count in zip(self.knobs, self.counts, strict=True):
            for r in range(count):
                rows.append({"knob": knob.name, "resource": r, "choices": [str(c) for c in knob.choices],
                             "operation": knob.operation})
        return rows


def resource_count(topo: Topology, resource: str) -> int:
    return {"service": topo.n_services, "bucket": topo.n_buckets, "database": topo.n_databases,
            "deployment": 1}[resource]


def agent_slots(topo: Topology, agent: str) -> Slots:
    knobs = tuple(k for k in KNOBS[agent] if resource_count(topo, k.resource) > 0)
    if not knobs:
        knobs = (NOOP,)
    return Slots(knobs, tuple(resource_count(topo, k.resource) for k in knobs))


def resource_names(topo: Topology, resource: str) -> list[str]:
    return {"service": topo.service_names, "bucket": topo.bucket_names, "database": topo.db_names,
            "deployment": [topo.spec.name]}[resource]
