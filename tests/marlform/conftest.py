"""Fixtures for the rollout tests: a fresh marlform home, and plans recorded without a policy."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
import yaml

from gcp.spec import DeploymentSpec, load_spec
from marlform.audit import Entry, now
from marlform.bundle import FILES
from marlform.publish import publish_plan
from marlform.store import PlanRecord, spec_hash
from marlform.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]
WEB_APP = REPO / "examples" / "web-app.yaml"


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "home"
    monkeypatch.setenv("MARLFORM_HOME", str(path))
    monkeypatch.delenv("MARLFORM_STORE", raising=False)
    monkeypatch.delenv("MARLFORM_CRASH_AT", raising=False)
    return path


@pytest.fixture
def ws(home):
    workspace = Workspace.open(home)
    yield workspace
    workspace.close()


def write_config(home: Path, deployment: str, config: dict) -> None:
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / f"{deployment}.yaml").write_text(yaml.safe_dump(config))


def impact(**changes) -> dict:
    base = {
        "changes": 1, "actions": {"update": 1}, "destructive": False, "destructive_resources": [],
        "cost_before": 1000.0, "cost_after": 1010.0, "cost_delta": 10.0, "denies": 0,
        "warnings": 0, "rules": [], "fallback": False, "services_changed": ["api"],
        "other_changed": False, "risk": "low",
    }
    return {**base, **changes}


def scaled(spec: DeploymentSpec, service: str = "api", target: int = 4) -> DeploymentSpec:
    data = spec.model_dump(mode="json")
    next(s for s in data["services"] if s["name"] == service)["replicas"]["target"] = target
    return DeploymentSpec.from_data(data)


def record_plan(ws: Workspace, stage: str = "approve", shadow: dict | None = None,
                outcome: str = "changes", before: DeploymentSpec | None = None,
                after: DeploymentSpec | None = None, **impact_changes) -> PlanRecord:
    """A plan recorded through the real publish path; placeholder files besides the specs."""
    spec = before or load_spec(WEB_APP)
    after = after or scaled(spec)
    plan_id = f"{spec.name}-test-{secrets.token_hex(3)}"
    contents = {name: {"file": name, "plan_id": plan_id} for name in FILES if name.endswith(".json")}
    contents.update({name: f"# {name}\n" for name in FILES if name.endswith(".md")})
    contents.update({"spec.before.json": spec.to_json(), "spec.after.json": after.to_json()})
    record = PlanRecord(
        id=plan_id, deployment=spec.name, created_at=now(), status="planned", outcome=outcome,
        stage=stage, plan_hash="", before_hash=spec_hash(spec), after_hash=spec_hash(after),
        policy_version="rules:test", observe="sim", bundle_uri="",
        impact=impact(**impact_changes), shadow=shadow)
    entry = Entry("decision", "agent:rules:test", spec.name, policy_version="rules:test",
                  value=0.5, payload={"agent": "compute"})
    return publish_plan(ws, record, contents, [entry])
