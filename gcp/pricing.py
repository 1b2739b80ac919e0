"""Itemised cost of a DeploymentSpec over a billing window, from the one catalog.

Rules applied (sources in `gcp/data/catalog.json`):
- Compute: per-VM hourly list price; spot VMs at the spot price; on-demand VMs of
  eligible families get the sustained-use discount, whose incremental rate falls
  with each quarter of the month a VM has run. Spot VMs get no SUD.
- A service's spot share is `ComputeService.spot_replicas()`: rounded down.
- Cloud SQL: vCPU-hours and GiB-hours (shared-core tiers at their monthly price),
  x2 for REGIONAL (HA); storage at the zonal or regional SSD rate; each read
  replica is a ZONAL instance of the same tier with its own disk.
- Cloud Storage: GiB-months by class and location type, retrieval fees for the
  cold classes, class A/B operations.
- Network: one forwarding rule per load balancer; internet egress by tier, with
  the CDN's hit share at the cache egress rate.
Usage-based items (egress, storage GiB, reads) are monthly figures scaled to the window.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Literal

from gcp.catalog import Catalog, load_catalog
from gcp.spec import Bucket, ComputeService, Database, DeploymentSpec

Domain = Literal["compute", "storage", "network", "database"]
DOMAINS: tuple[Domain, ...] = ("compute", "storage", "network", "database")


@dataclass(frozen=True)
class LineItem:
    resource: str  # e.g. "service/frontend"
    domain: Domain
    description: str
    quantity: float
    unit: str
    unit_price: float
    cost: float


@dataclass
class CostReport:
    hours: float
    currency: str
    items: list[LineItem] = field(default_factory=list)

    @property
    def total(self) -> float:
        return math.fsum(i.cost for i in self.items)

    @property
    def hourly(self) -> float:
        return self.total / self.hours

    def by_domain(self) -> dict[str, float]:
        return {d: math.fsum(i.cost for i in self.items if i.domain == d) for d in DOMAINS}

    def by_resource(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for item in self.items:
            out[item.resource] = out.get(item.resource, 0.0) + item.cost
        return out

    def to_dict(self) -> dict:
        return {
            "hours": self.hours,
            "currency": self.currency,
            "total": self.total,
            "hourly": self.hourly,
            "by_domain": self.by_domain(),
            "by_resource": self.by_resource(),
            "items": [asdict(i) for i in self.items],
        }


def sud_cost(hour_price: float, hours_used: float, schedule: str | None, catalog: Catalog) -> float:
    """Cost of one VM that ran `hours_used` hours since the start of the month, SUD applied."""
    if schedule is None:
        return hour_price * hours_used
    thresholds, rates = catalog.sud_schedule(schedule)
    month = catalog.hours_per_month
    cost, lower = 0.0, 0.0
    for upper_fraction, rate in zip(thresholds, rates, strict=True):
        upper = upper_fraction * month
        span = min(hours_used, upper) - lower
        if span <= 0:
            break
        cost += span * hour_price * rate
        lower = upper
    if hours_used > month:  # months longer than 730 h bill the excess at the last rate
        cost += (hours_used - month) * hour_price * rates[-1]
    return cost


def price_spec(spec: DeploymentSpec, hours: float | None = None, catalog: Catalog | None = None) -> CostReport:
    """Cost of running `spec` unchanged for `hours` (a month, 730 h, by default)."""
    catalog = catalog or load_catalog()
    if not catalog.regions[spec.region]["priced"]:
        from gcp.errors import Issue, SpecError

        raise SpecError(
            [Issue("region", "pricing.region", f"no price table for {spec.region}; priced: {catalog.price_region}")]
        )
    hours = catalog.hours_per_month if hours is None else float(hours)
    report = CostReport(hours=hours, currency=catalog.raw["currency"])
    for svc in spec.services:
        report.items.extend(_service_items(svc, hours, catalog))
    for db in spec.databases:
        report.items.extend(_database_items(db, hours, catalog))
    for bucket in spec.buckets:
        report.items.extend(_bucket_items(bucket, spec.region, hours, catalog))
    report.items.extend(_network_items(spec, hours, catalog))
    return report


def _service_items(svc: ComputeService, hours: float, catalog: Catalog) -> list[LineItem]:
    mt = catalog.machine_type(svc.machine_type)
    resource = f"service/{svc.name}"
    used = hours * svc.hours_per_month / catalog.hours_per_month
    n_spot = svc.spot_replicas()
    n_on_demand = svc.replicas.target - n_spot
    items = []
    if n_on_demand:
        per_vm = sud_cost(mt.hour, used, mt.sud, catalog)
        sud_note = f", sustained-use discount ({mt.sud})" if mt.sud and per_vm < mt.hour * used else ""
        items.append(
            LineItem(resource, "compute", f"{mt.name} on-demand{sud_note}", n_on_demand * used,
                     "instance-hour", per_vm / used, n_on_demand * per_vm)
        )
    if n_spot:
        items.append(
            LineItem(resource, "compute", f"{mt.name} spot", n_spot * used, "instance-hour",
                     mt.hour_spot, n_spot * used * mt.hour_spot)
        )
    disk_gib_months = svc.replicas.target * svc.disk_size_gb * used / catalog.hours_per_month
    if disk_gib_months:
        price = catalog.disk_types[svc.disk_type]["gib_month"]
        items.append(
            LineItem(resource, "compute", f"{svc.disk_type} boot disks", disk_gib_months,
                     "GiB-month", price, disk_gib_months * price)
        )
    return items


def sql_instance_hourly(tier_name: str, availability: str, catalog: Catalog) -> float:
    """Hourly price of one Cloud SQL instance (without storage)."""
    sql = catalog.sql
    tier = catalog.sql_tier(tier_name)
    multiplier = sql["regional_ha_multiplier"] if availability == "REGIONAL" else 1.0
    if tier.shared_core_month_zonal is not None:
        return tier.shared_core_month_zonal / catalog.hours_per_month * multiplier
    return (tier.vcpu * sql["vcpu_hour"] + tier.ram_gib * sql["gib_hour"]) * multiplier


def _database_items(db: Database, hours: float, catalog: Catalog) -> list[LineItem]:
    sql = catalog.sql
    resource = f"database/{db.name}"
    months = hours / catalog.hours_per_month
    hourly = sql_instance_hourly(db.tier, db.availability_type, catalog)
    ha = " (REGIONAL, HA x2)" if db.availability_type == "REGIONAL" else " (ZONAL)"
    disk_rate = sql["ssd_gib_month_regional" if db.availability_type == "REGIONAL" else "ssd_gib_month_zonal"]
    items = [
        LineItem(resource, "database", f"Cloud SQL {db.tier}{ha}", hours, "instance-hour", hourly, hourly * hours),
        LineItem(resource, "database", "SSD storage", db.disk_size_gb * months, "GiB-month", disk_rate,
                 db.disk_size_gb * months * disk_rate),
    ]
    if db.read_replicas:
        replica_hourly = sql_instance_hourly(db.tier, "ZONAL", catalog)
        items.append(
            LineItem(resource, "database", f"read replicas ({db.tier}, ZONAL)", db.read_replicas * hours,
                     "instance-hour", replica_hourly, db.read_replicas * hours * replica_hourly)
        )
        replica_disk = db.read_replicas * db.disk_size_gb * months
        items.append(
            LineItem(resource, "database", "read replica SSD storage", replica_disk, "GiB-month",
                     sql["ssd_gib_month_zonal"], replica_disk * sql["ssd_gib_month_zonal"])
        )
    if db.backup_enabled and db.backup_gib:
        items.append(
            LineItem(resource, "database", "backups", db.backup_gib * months, "GiB-month",
                     sql["backup_gib_month"], db.backup_gib * months * sql["backup_gib_month"])
        )
    return items


def bucket_is_regional(bucket: Bucket) -> bool:
    return "-" in bucket.location  # regions look like US-CENTRAL1; multi-regions are US, EU, ASIA


def _bucket_items(bucket: Bucket, region: str, hours: float, catalog: Catalog) -> list[LineItem]:
    klass = catalog.storage_classes[bucket.storage_class]
    resource = f"bucket/{bucket.name}"
    months = hours / catalog.hours_per_month
    key = "gib_month_regional" if bucket_is_regional(bucket) else "gib_month_multi_region"
    items = []
    if bucket.size_gib:
        items.append(
            LineItem(resource, "storage", f"{bucket.storage_class} storage", bucket.size_gib * months,
                     "GiB-month", klass[key], bucket.size_gib * months * klass[key])
        )
    if bucket.read_gib_month and klass["retrieval_per_gib"]:
        gib = bucket.read_gib_month * months
        items.append(
            LineItem(resource, "storage", f"{bucket.storage_class} retrieval", gib, "GiB",
                     klass["retrieval_per_gib"], gib * klass["retrieval_per_gib"])
        )
    for op, count in (("a", bucket.class_a_ops_month), ("b", bucket.class_b_ops_month)):
        if count:
            thousands = count * months / 1000
            price = klass[f"class_{op}_per_1000"]
            items.append(
                LineItem(resource, "storage", f"class {op.upper()} operations", thousands, "1000 ops",
                         price, thousands * price)
            )
    return items


def tiered_egress_cost(gib: float, tier: str, catalog: Catalog) -> float:
    """Monthly internet egress cost of `gib` GiB on a network tier (tiers are monthly volumes)."""
    cost, lower = 0.0, 0.0
    for upper, price in catalog.network["egress_tiers_gib"][tier]:
        top = gib if upper is None else min(gib, upper)
        if top > lower:
            cost += (top - lower) * price
        if upper is None or gib <= upper:
            break
        lower = upper
    return cost


def _network_items(spec: DeploymentSpec, hours: float, catalog: Catalog) -> list[LineItem]:
    net = catalog.network
    months = hours / catalog.hours_per_month
    lb = spec.network.load_balancer
    resource = f"network/{spec.network.vpc_name}"
    items = []
    if lb.enabled:
        items.append(
            LineItem(resource, "network", "load balancer forwarding rule", hours, "rule-hour",
                     net["forwarding_rule_hour"], hours * net["forwarding_rule_hour"])
        )
    egress = spec.network.egress_gib_month
    if egress:
        cdn_share = lb.cdn_hit_ratio if (lb.enabled and lb.cdn) else 0.0
        origin = egress * (1 - cdn_share)
        origin_cost = tiered_egress_cost(origin, spec.network.tier, catalog) * months
        items.append(
            LineItem(resource, "network", f"internet egress ({spec.network.tier} tier)", origin * months,
                     "GiB", origin_cost / (origin * months) if origin else 0.0, origin_cost)
        )
        if cdn_share:
            cached = egress * cdn_share * months
            items.append(
                LineItem(resource, "network", "Cloud CDN cache egress", cached, "GiB",
                         net["cdn_cache_egress_per_gib"], cached * net["cdn_cache_egress_per_gib"])
            )
    return items
