"""State -> DeploymentSpec: how an agent's decisions become a plan.

The spec shows what the agents asked for (the MIG target size, the SQL tier a
pending operation will reach), which is what Terraform must render; it is
validated through `DeploymentSpec.from_data`, like every spec in marlform.
"""

from __future__ import annotations

from envs.state import State
from envs.topology import DISK_TYPES, NETWORK_TIERS, STORAGE_CLASSES, Topology
from gcp.spec import DeploymentSpec


def spec_of(topo: Topology, st: State, i: int = 0) -> DeploymentSpec:
    """The current spec of environment `i` of a batch."""
    data = topo.spec.model_dump(mode="json")
    mt = st.machine_of(topo)[i]
    for s, svc in enumerate(data["services"]):
        svc["machine_type"] = topo.machine_names[mt[s]]
        svc["replicas"]["target"] = int(st.target[i, s])
        svc["spot_fraction"] = round(float(st.spot[i, s]), 6)
        k = int(st.zones_k[i, s])
        if svc["zones"] or k < len(topo.zones):  # an empty list already means "every zone of the region"
            svc["zones"] = [topo.zones[z] for z in topo.zone_order[s, :k]]
        svc["disk_type"] = DISK_TYPES[st.disk_type[i, s]]
        svc["disk_size_gb"] = int(st.disk_gb[i, s])
    for d, db in enumerate(data["databases"]):
        db["tier"] = topo.tier_names[st.next_tier[i, d]]
        db["availability_type"] = "REGIONAL" if st.next_ha[i, d] else "ZONAL"
        db["read_replicas"] = int(st.replicas[i, d])
        db["disk_size_gb"] = int(st.db_disk[i, d])
    for b, bucket in enumerate(data["buckets"]):
        bucket["storage_class"] = STORAGE_CLASSES[st.klass[i, b]]
    net = data["network"]
    net["tier"] = NETWORK_TIERS[int(st.net_tier[i])]
    lb = net["load_balancer"]
    if lb["enabled"]:
        lb["cdn"] = bool(st.cdn[i])
        lb["max_rate_per_instance"] = round(float(st.max_rate[i]), 6)
    if "CPUS" in data["quotas"] or st.quota[i] != topo.spec.quota("CPUS"):
        data["quotas"]["CPUS"] = int(st.quota[i])
    return DeploymentSpec.from_data(data, source=f"simulator state of {topo.spec.name}")
