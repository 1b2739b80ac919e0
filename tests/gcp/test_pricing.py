"""Pricing checked against figures worked out by hand from the price facts in gcp/data/catalog.json.

Hand arithmetic (us-central1, 730 h month, SUD quarter = 182.5 h):
- n2-standard-4 on demand is $0.194236/h; N2's SUD incremental rates are 1, 0.8678, 0.733, 0.6,
  so a full month costs 0.194236 * 182.5 * (1 + 0.8678 + 0.733 + 0.6) = $113.4622 per VM
  (Cyclenerd's `month` column says $113.46218246: the same 20 % discount).
- n2-standard-4 spot is $0.09212/h, with no SUD.
- Cloud SQL Enterprise: $0.0413/vCPU-h, $0.007/GiB-h, REGIONAL x2; SSD $0.34/GiB-month regional.
"""

from __future__ import annotations

import math

import pytest

from gcp.catalog import load_catalog
from gcp.pricing import price_spec, sud_cost
from gcp.spec import DeploymentSpec

N2_STD4_HOUR = 0.194236
N2_STD4_SPOT = 0.09212
QUARTER = 182.5


def _spec(services=(), databases=(), buckets=(), lb=False, egress=0.0, tier="PREMIUM") -> DeploymentSpec:
    return DeploymentSpec.from_data(
        {
            "name": "pricing-test",
            "project": "pricing-test-project",
            "budget_monthly_usd": 100000,
            "quotas": {"CPUS": 1000},
            "network": {
                "vpc_name": "vpc",
                "subnets": [{"name": "a", "cidr": "10.0.0.0/16"}],
                "load_balancer": {"enabled": lb},
                "egress_gib_month": egress,
                "tier": tier,
            },
            "services": list(services),
            "databases": list(databases),
            "buckets": list(buckets),
        }
    )


def _svc(target=3, spot=0.0, hours=730.0, machine="n2-standard-4"):
    return {
        "name": "web",
        "machine_type": machine,
        "replicas": {"min": 0, "target": target, "max": 20},
        "spot_fraction": spot,
        "hours_per_month": hours,
        "disk_size_gb": 10,
        "disk_type": "pd-standard",
    }


def _compute_only(report) -> float:
    return math.fsum(i.cost for i in report.items if "disk" not in i.description)


def test_three_n2_standard_4_on_demand_for_a_month():
    report = price_spec(_spec([_svc(target=3)]))
    per_vm = N2_STD4_HOUR * QUARTER * (1 + 0.8678 + 0.733 + 0.6)
    assert _compute_only(report) == pytest.approx(3 * per_vm, abs=1e-9)
    assert per_vm == pytest.approx(113.46218246, abs=0.01)  # Cyclenerd's monthly figure
    disks = 3 * 10 * 0.04  # pd-standard, $0.04/GiB-month
    assert report.total == pytest.approx(3 * per_vm + disks, abs=1e-9)


def test_half_on_spot_rounds_spot_down_and_gets_no_sud():
    four = price_spec(_spec([_svc(target=4, spot=0.5)]))
    on_demand = 2 * N2_STD4_HOUR * QUARTER * (1 + 0.8678 + 0.733 + 0.6)
    spot = 2 * N2_STD4_SPOT * 730
    assert _compute_only(four) == pytest.approx(on_demand + spot, abs=1e-9)
    three = price_spec(_spec([_svc(target=3, spot=0.5)]))  # 1.5 spot VMs round down to 1
    expected = 2 * N2_STD4_HOUR * QUARTER * 3.2008 + 1 * N2_STD4_SPOT * 730
    assert _compute_only(three) == pytest.approx(expected, abs=1e-9)


def test_sustained_use_discount_for_half_a_month():
    report = price_spec(_spec([_svc(target=1, hours=365)]))
    expected = N2_STD4_HOUR * (QUARTER * 1.0 + QUARTER * 0.8678)
    assert _compute_only(report) == pytest.approx(expected, abs=1e-9)
    # below a quarter of the month there is no discount at all
    assert sud_cost(N2_STD4_HOUR, 100, "max20", load_catalog()) == pytest.approx(N2_STD4_HOUR * 100)


def test_e2_gets_no_sustained_use_discount():
    report = price_spec(_spec([_svc(target=3, machine="e2-standard-4")]))
    assert _compute_only(report) == pytest.approx(3 * 0.13402284 * 730, abs=1e-9)


def test_regional_cloud_sql_costs_twice_zonal():
    db = {"name": "db", "tier": "db-custom-4-15360", "availability_type": "REGIONAL", "disk_size_gb": 100}
    report = price_spec(_spec(databases=[db]))
    instance = (4 * 0.0413 + 15 * 0.007) * 730 * 2  # = 394.492
    storage = 100 * 0.34
    assert instance == pytest.approx(394.492)
    assert report.total == pytest.approx(instance + storage, abs=1e-9)
    assert report.by_domain()["database"] == pytest.approx(report.total)
    zonal = price_spec(_spec(databases=[{**db, "availability_type": "ZONAL"}]))
    assert zonal.total == pytest.approx(instance / 2 + 100 * 0.17, abs=1e-9)


def test_shared_core_sql_and_read_replicas():
    db = {"name": "db", "tier": "db-f1-micro", "availability_type": "ZONAL", "read_replicas": 2,
          "disk_size_gb": 10}
    report = price_spec(_spec(databases=[db]))
    expected = 7.67 + 2 * 7.67 + 10 * 0.17 * 3
    assert report.total == pytest.approx(expected, abs=1e-9)


def test_storage_classes_retrieval_and_operations():
    bucket = {"name": "cold-archive-bucket", "storage_class": "COLDLINE", "size_gib": 1000,
              "read_gib_month": 100, "class_a_ops_month": 10000, "class_b_ops_month": 50000}
    report = price_spec(_spec(buckets=[bucket]))
    expected = 1000 * 0.004 + 100 * 0.02 + 10 * 0.02 + 50 * 0.01
    assert report.total == pytest.approx(expected, abs=1e-9)


def test_premium_egress_is_tiered_and_standard_is_flat():
    premium = price_spec(_spec(lb=True, egress=2048))
    expected = 730 * 0.01 + 1024 * 0.12 + 1024 * 0.11
    assert premium.total == pytest.approx(expected, abs=1e-9)
    standard = price_spec(_spec(egress=2048, tier="STANDARD"))
    assert standard.total == pytest.approx(2048 * 0.085, abs=1e-9)


def test_window_scales_usage_and_24h_has_no_discount():
    day = price_spec(_spec([_svc(target=3)]), hours=24)
    assert _compute_only(day) == pytest.approx(3 * N2_STD4_HOUR * 24, abs=1e-9)


@pytest.mark.parametrize("example", ["web-app", "batch-pipeline", "ml-system"])
def test_line_items_add_up_and_domains_partition_the_total(example, example_path):
    from gcp.spec import load_spec

    report = price_spec(load_spec(example_path(example)))
    assert report.total > 0
    assert math.fsum(i.cost for i in report.items) == pytest.approx(report.total, abs=1e-9)
    assert math.fsum(report.by_domain().values()) == pytest.approx(report.total, abs=1e-9)
    assert all(i.cost >= 0 for i in report.items)
