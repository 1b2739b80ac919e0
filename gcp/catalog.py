"""The one catalog and price table that every layer reads.

The simulator, the plan cost estimate and the safety budget check must agree to
the cent, so they all price from `gcp/data/catalog.json` through this module.
The file names the source of each section; see `docs/architecture.md`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class MachineType:
    name: str
    family: str
    series: str
    vcpu: float
    ram_gib: float
    hour: float
    hour_spot: float
    sud: str | None  # name of the sustained-use schedule, or None when not eligible


@dataclass(frozen=True)
class SqlTier:
    name: str
    vcpu: float
    ram_gib: float
    shared_core_month_zonal: float | None = None


@dataclass(frozen=True)
class Catalog:
    """Typed view over the raw catalog document."""

    raw: dict[str, Any]

    @property
    def hours_per_month(self) -> float:
        return float(self.raw["hours_per_month"])

    @property
    def price_region(self) -> str:
        return self.raw["price_region"]

    # regions and zones -------------------------------------------------
    @property
    def regions(self) -> dict[str, dict[str, Any]]:
        return self.raw["regions"]["items"]

    def zones(self, region: str) -> list[str]:
        return list(self.regions[region]["zones"])

    def carbon_intensity(self, region: str) -> float:
        """Grid carbon intensity in gCO2eq/kWh."""
        return float(self.regions[region]["grid_gco2_per_kwh"])

    # compute -----------------------------------------------------------
    @property
    def machine_type_names(self) -> list[str]:
        return list(self.raw["machine_types"]["items"])

    def machine_type(self, name: str) -> MachineType:
        item = self.raw["machine_types"]["items"][name]
        return MachineType(name=name, **item)

    def machine_family_ladder(self, name: str) -> list[str]:
        """Sizes of the same series ordered by vCPU: the resize knob walks this ladder."""
        series = self.machine_type(name).series
        same = [self.machine_type(n) for n in self.machine_type_names]
        same = [m for m in same if m.series == series]
        return [m.name for m in sorted(same, key=lambda m: (m.vcpu, m.ram_gib))]

    def sud_schedule(self, name: str) -> tuple[list[float], list[float]]:
        """Thresholds (fractions of a month) and incremental rates of a SUD schedule."""
        su = self.raw["sustained_use"]
        return list(su["thresholds_fraction_of_month"]), list(su["schedules"][name])

    @property
    def disk_types(self) -> dict[str, dict[str, float]]:
        return self.raw["disk_types"]["items"]

    # storage -----------------------------------------------------------
    @property
    def storage_classes(self) -> dict[str, dict[str, float]]:
        return self.raw["storage_classes"]["items"]

    # database ----------------------------------------------------------
    @property
    def sql(self) -> dict[str, Any]:
        return self.raw["cloud_sql"]

    @property
    def sql_tier_names(self) -> list[str]:
        return list(self.sql["tiers"])

    def sql_tier(self, name: str) -> SqlTier:
        return SqlTier(name=name, **self.sql["tiers"][name])

    def sql_tier_ladder(self) -> list[str]:
        """Dedicated-core tiers ordered by size: the database agent's tier knob."""
        tiers = [self.sql_tier(n) for n in self.sql_tier_names]
        return [t.name for t in sorted(tiers, key=lambda t: (t.vcpu, t.ram_gib))]

    # network, quotas, delays, energy --------------------------------------
    @property
    def network(self) -> dict[str, Any]:
        return self.raw["network"]

    def default_quota(self, metric: str) -> int:
        return int(self.raw["quotas"]["regional_defaults"][metric])

    def delay_s(self, operation: str) -> float:
        return float(self.raw["provisioning_delays_s"][operation])

    @property
    def energy(self) -> dict[str, float]:
        return self.raw["energy"]


@cache
def load_catalog() -> Catalog:
    """The shipped catalog, read once per process."""
    text = resources.files("gcp").joinpath("data/catalog.json").read_text(encoding="utf-8")
    return Catalog(raw=json.loads(text))
