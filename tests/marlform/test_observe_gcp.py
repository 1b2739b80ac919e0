"""`marlform plan --observe gcp` end to end against local Compute/SQL REST, Monitoring gRPC and
GCS servers (tests/gcp/gcpfakes, driven through the real client libraries): the agents see the
live project's Monitoring history in the simulator's observation layout, and a plan bundle with
its manifest comes out."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from envs.external import observe_external
from envs.knobs import AGENTS
from envs.provisioning import ProvisioningEnv
from gcp.observe import step_ends
from gcp.spec import DeploymentSpec, load_spec
from gcp.telemetry import STEP_SECONDS
from marlform.bundle import verify_bundle
from marlform.observe import hours_into_month
from marlform.pipeline import PlanRequest, run_plan
from tests.marlform.conftest import WEB_APP
from tests.marlform.test_crash_cli import cli

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gcp"))
from gcpfakes import metrics
from gcpfakes.compute_server import ComputeServer
from gcpfakes.monitoring_server import MonitoringServer
from gcpfakes.project import populate_compute, populate_storage
from gcpfakes.storage_proxy import StorageProxy

#: Steps `GcpBackend` reads by default.
STEPS = 12


@dataclass
class Live:
    spec: DeploymentSpec
    compute: ComputeServer
    monitoring: MonitoringServer
    endpoints: tuple[str, ...]
    #: Seeded raw series per domain (rows, metrics, len(ends)), NaN where missing.
    expected: dict[str, np.ndarray]
    ends: np.ndarray

    def cli_args(self) -> list[str]:
        return [arg for pair in self.endpoints for arg in ("--endpoint", pair)]

    def seen(self, step_end_s: list[float]) -> dict[str, np.ndarray]:
        """The seeded series over the steps a run actually read."""
        index = [int(np.flatnonzero(self.ends == end)[0]) for end in step_end_s]
        return {d: v[..., index] for d, v in self.expected.items()}


@pytest.fixture
def live(gcs_emulator) -> Iterator[Live]:
    """The web example deployed in a fresh local project, with 20 % of its metric points missing.

    Points are seeded one step beyond the newest step a run reads now, so a run that
    crosses a 5-minute boundary still reads only seeded steps.
    """
    spec = load_spec(WEB_APP)
    gcs_emulator.wipe()
    upstream = f"http://127.0.0.1:{gcs_emulator._api._httpd.server_address[1]}"
    compute = ComputeServer(spec.project).start()
    monitoring = MonitoringServer(spec.project).start()
    storage = StorageProxy(upstream).start()
    populate_compute(compute, spec)
    populate_storage(upstream, spec)
    ends = step_ends(STEPS + 2, time.time() + STEP_SECONDS)
    expected = metrics.seed(monitoring, spec, ends)
    endpoints = (f"compute={compute.url}", f"sql={compute.url}",
                 f"monitoring={monitoring.endpoint}", f"storage={storage.url}")
    try:
        yield Live(spec, compute, monitoring, endpoints, expected, ends)
    finally:
        storage.stop()
        monitoring.stop()
        compute.stop()


def as_arrays(observations: dict) -> dict[str, dict[str, np.ndarray]]:
    """observation.json's lists back into the Dict observation's dtypes."""
    return {a: {k: np.asarray(v, dtype=np.int8 if k == "action_mask" else np.float32)
                for k, v in o.items()} for a, o in observations.items()}


def test_plan_observes_the_live_project_through_the_cli(home, live):
    out = cli(home, "plan", "--deployment", str(WEB_APP), "--observe", "gcp", "--preview",
              "--policy", "rules:hpa", "--json", *live.cli_args())
    assert out.returncode in (0, 3), out.stderr
    plan = json.loads(out.stdout)
    assert plan["observe"] == "gcp"
    assert any("Cloud Monitoring" in note for note in plan["notes"])
    bundle = home / "plans" / plan["id"]
    assert (bundle / "manifest.json").is_file()
    assert verify_bundle(bundle, plan["plan_hash"]) == []
    assert json.loads((bundle / "request.json").read_text())["observe"] == "gcp"

    record = json.loads((bundle / "observation.json").read_text())
    assert record["source"] == "gcp" and record["project"] == live.spec.project
    assert len(record["step_end_s"]) == STEPS
    assert record["hours_into_month"] == pytest.approx(
        hours_into_month(record["step_end_s"][-1] - STEP_SECONDS))
    seen = live.seen(record["step_end_s"])
    for domain, raw in seen.items():  # the newest raw point, missing ones as null
        np.testing.assert_allclose(np.array(record["telemetry"][domain], dtype=float),
                                   raw[..., -1], rtol=1e-9, equal_nan=True)

    # What the agents saw is the simulator's observation of that history, in its spaces.
    before = DeploymentSpec.from_data(json.loads((bundle / "spec.before.json").read_text()))
    env = ProvisioningEnv(spec=before)
    want = observe_external(before, seen, record["hours_into_month"]).observations
    got = as_arrays(record["observations"])
    for agent in AGENTS:
        assert env.observation_space(agent).contains(got[agent]), agent
        for key, value in want[agent].items():
            np.testing.assert_allclose(got[agent][key], value, rtol=1e-6, err_msg=f"{agent} {key}")
    # A missing newest point is carried forward with staleness, as in the simulator.
    newest_missing = np.isnan(seen["compute"][..., -1])
    assert newest_missing.any()
    assert (got["compute"]["staleness"][newest_missing] > 0).all()
    assert (got["compute"]["staleness"][~newest_missing] == 0).all()


def test_late_data_and_a_missing_service_through_the_pipeline(ws, live):
    """The newest step not yet ingested, and a declared service that does not exist: the live
    spec drops it, the observation has one row less, and the plan is still made."""
    live.monitoring.visible_until = float(step_ends(STEPS, time.time())[-2])
    live.compute.scoped["instanceGroupManagers"] = [
        (scope, mig) for scope, mig in live.compute.scoped["instanceGroupManagers"]
        if mig["name"] != "cache"]
    result = run_plan(ws, PlanRequest(WEB_APP, policy="rules:hpa", observe="gcp", endpoints=live.endpoints,
                                      real_terraform=False))
    assert result.exit_code in (0, 3)
    bundle = ws.bundle_path(result.record.bundle_uri)
    before = json.loads((bundle / "spec.before.json").read_text())
    assert [s["name"] for s in before["services"]] == ["frontend", "api", "queue-worker"]
    record = json.loads((bundle / "observation.json").read_text())
    assert record["resources"]["compute"] == ["frontend", "api", "queue-worker"]
    got = as_arrays(record["observations"])
    assert got["compute"]["telemetry"].shape == (3, 6)
    # nothing is fresh: every value is a carried-forward one (or 0 with staleness 1)
    for agent in AGENTS:
        assert (got[agent]["staleness"] >= 1 / 3 - 1e-6).all(), agent
    assert all(share > 0 for share in record["missing_share"].values())


def test_a_project_without_metrics_still_plans_and_the_autoscaler_holds(ws, live):
    live.monitoring.visible_until = 0.0  # Monitoring has nothing for this deployment
    result = run_plan(ws, PlanRequest(WEB_APP, policy="rules:hpa", observe="gcp", endpoints=live.endpoints,
                                      real_terraform=False))
    record = json.loads((ws.bundle_path(result.record.bundle_uri) / "observation.json").read_text())
    got = as_arrays(record["observations"])
    for agent in AGENTS:
        assert (got[agent]["telemetry"] == 0).all() and (got[agent]["staleness"] == 1).all()
    # HPA counts a missing metric as at target: no scaling, so nothing to plan
    assert result.record.outcome == "no_changes" and result.exit_code == 0


def test_endpoints_need_observe_gcp(home):
    out = cli(home, "plan", "--deployment", str(WEB_APP), "--endpoint", "compute=http://x")
    assert out.returncode == 2 and "--observe gcp" in out.stderr
