"""The spec commands through the installed console script, as a user runs them."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

BIN = Path(sys.executable).parent / "marlform"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": "200"})


def test_version():
    out = run_cli("--version")
    assert out.returncode == 0 and out.stdout.startswith("marlform ")


def test_cost_json_line_items_add_up(example_path):
    out = run_cli("spec", "cost", str(example_path("web-app")), "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert math.fsum(i["cost"] for i in data["items"]) == pytest.approx(data["total"], abs=1e-9)
    assert set(data["by_domain"]) == {"compute", "storage", "network", "database"}
    assert data["hours"] == 730


def test_cost_table_is_itemised(example_path):
    out = run_cli("spec", "cost", str(example_path("web-app")))
    assert out.returncode == 0
    for needle in ("service/frontend", "database/shop-db", "bucket/acme-shop-static-assets", "total"):
        assert needle in out.stdout


def test_validate_ok(example_path):
    out = run_cli("spec", "validate", str(example_path("ml-system")), "--json")
    assert out.returncode == 0 and json.loads(out.stdout)["valid"] is True


def _broken(tmp_path: Path, example_path, mutate) -> Path:
    data = yaml.safe_load(example_path("web-app").read_text())
    mutate(data)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


CASES = {
    "bad name": (lambda d: d["services"][0].update(name="Front_End"), "services[0].name", "name.rfc1035"),
    "overlapping CIDRs": (
        lambda d: d["network"]["subnets"][1].update(cidr="10.10.4.0/22"),
        "network.subnets[1].cidr",
        "cidr.overlap",
    ),
    "unknown machine type": (
        lambda d: d["services"][1].update(machine_type="n2-standard-3"),
        "services[1].machine_type",
        "catalog.machine_type",
    ),
    "dangling dependency": (
        lambda d: d["dependencies"].append({"source": "api", "target": "ghost"}),
        "dependencies[6].target",
        "dependency.dangling",
    ),
    "dependency cycle": (
        lambda d: d["dependencies"].append({"source": "shop-db", "target": "api"}),
        "dependencies[6]",
        "dependency.cycle",
    ),
    "min > max": (
        lambda d: d["services"][2].update(replicas={"min": 4, "target": 4, "max": 2}),
        "services[2].replicas",
        "replicas.order",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("command", ["validate", "cost"])
def test_invalid_specs_exit_non_zero_naming_path_and_rule(case, command, tmp_path, example_path):
    mutate, path, rule = CASES[case]
    out = run_cli("spec", command, str(_broken(tmp_path, example_path, mutate)))
    assert out.returncode == 2
    assert path in out.stderr and rule in out.stderr
    assert "Traceback" not in out.stderr + out.stdout


def test_invalid_spec_json_lists_issues(tmp_path, example_path):
    mutate, path, rule = CASES["dependency cycle"]
    out = run_cli("spec", "validate", str(_broken(tmp_path, example_path, mutate)), "--json")
    assert out.returncode == 2
    issues = json.loads(out.stdout)["issues"]
    assert {"path": path, "rule": rule} == {k: issues[0][k] for k in ("path", "rule")}


def test_missing_file_is_a_clean_error(tmp_path):
    out = run_cli("spec", "validate", str(tmp_path / "nope.yaml"))
    assert out.returncode == 2 and "cannot read" in out.stderr and "Traceback" not in out.stderr


HEAVY = ("torch", "ray", "pandas", "matplotlib", "google.cloud", "sklearn", "torch_geometric", "duckdb")


def test_help_imports_no_heavy_library():
    """`marlform --help` stays fast because nothing heavy is imported at start-up."""
    code = (
        "import sys; import marlform.cli.main as m; "
        "sys.argv=['marlform','--help']\n"
        "try:\n    m.app()\nexcept SystemExit:\n    pass\n"
        f"print([h for h in {HEAVY!r} if h in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"
