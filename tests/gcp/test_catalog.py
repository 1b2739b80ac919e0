"""The shipped catalog covers what the issue lists, with a source for every section."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gcp.catalog import load_catalog


def test_every_section_names_its_source():
    raw = load_catalog().raw
    for key, section in raw.items():
        if isinstance(section, dict) and key not in ("cloud_sql",):
            assert "_source" in section, key
    assert "_source" in raw["cloud_sql"]


@pytest.mark.parametrize("family", ["e2-standard", "n2-standard", "n2-highmem", "c2-standard"])
def test_machine_families_in_common_sizes(family):
    names = load_catalog().machine_type_names
    assert sum(n.startswith(family + "-") for n in names) >= 3


def test_sizes_ladder_orders_by_vcpu():
    ladder = load_catalog().machine_family_ladder("n2-standard-4")
    assert ladder[:3] == ["n2-standard-2", "n2-standard-4", "n2-standard-8"]
    assert all(n.startswith("n2-standard-") for n in ladder)


def test_catalog_covers_disks_storage_sql_network_quotas_delays_carbon():
    c = load_catalog()
    assert {"pd-standard", "pd-balanced", "pd-ssd"} <= set(c.disk_types)
    assert c.storage_classes["ARCHIVE"]["retrieval_per_gib"] == 0.05
    assert c.sql["regional_ha_multiplier"] == 2.0
    assert c.network["egress_tiers_gib"]["STANDARD"]
    assert c.default_quota("CPUS") == 24
    assert c.delay_s("vm_boot") > 0 and c.delay_s("sql_tier_change_downtime_zonal") > 0
    assert c.carbon_intensity("us-central1") == pytest.approx(412.72)
    assert c.carbon_intensity("europe-north1") < c.carbon_intensity("us-east1")


def test_prices_match_the_shared_price_facts(shared_data: Path):
    facts = json.loads((shared_data / "gcp-pricing" / "us-central1.json").read_text())
    catalog = load_catalog()
    for name, item in facts["compute_instances"].items():
        mt = catalog.machine_type(name)
        assert (mt.hour, mt.hour_spot, mt.vcpu) == (item["hour"], item["hour_spot"], item["vcpu"])
    sql = facts["cloud_sql_enterprise_us_central1_from_infracost_golden_tests"]
    assert catalog.sql["vcpu_hour"] == sql["zonal_vcpu_per_hour"]
