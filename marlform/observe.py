"""Observation and decision for a plan: what the agents saw, what they chose, and what the
current autoscaler would have chosen (the shadow-stage comparison)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gcp.spec import DeploymentSpec


@dataclass
class Outcome:
    """The policy's decision on one observation of a deployment."""

    policy_version: str
    spec_after: DeploymentSpec
    #: Per action: agent, resource, action, confidence, expected (critic's outcome), value,
    #: exploration.
    decisions: list[dict[str, Any]]
    observation: dict[str, Any]
    #: What the current autoscaler would run, for the shadow comparison.
    autoscaler_spec: DeploymentSpec | None = None
    notes: list[str] = field(default_factory=list)


def _direction(old: int, new: int) -> str:
    return "up" if new > old else "down" if new < old else "hold"


def shadow_compare(outcome: Outcome, before: DeploymentSpec) -> dict[str, Any] | None:
    """Agreement between the agents and the current autoscaler: the share of services where
    both move replicas the same way (up, down or hold), plus each side's targets."""
    reference = outcome.autoscaler_spec
    if reference is None or not before.services:
        return None
    services = {}
    for svc in before.services:
        old = svc.replicas.target
        agents = outcome.spec_after.service(svc.name).replicas.target
        auto = reference.service(svc.name).replicas.target
        services[svc.name] = {"agents": f"{_direction(old, agents)} to {agents}",
                              "autoscaler": f"{_direction(old, auto)} to {auto}",
                              "agree": _direction(old, agents) == _direction(old, auto)}
    agreement = sum(v["agree"] for v in services.values()) / len(services)
    return {"agreement": agreement, "services": services}


def gcp_backend(spec: DeploymentSpec, endpoints: Sequence[str] = (), key_file: str | None = None):
    """The live project behind `spec`, read through the GCP layer (`--observe gcp`).

    `endpoints` are `NAME=URL` overrides (local servers, emulators) on top of
    `MARLFORM_GCP_ENDPOINT_<NAME>`; credentials are ADC or `key_file`.
    """
    from gcp.clients.session import Endpoints, open_session
    from gcp.gcp_backend import GcpBackend

    chosen = Endpoints.from_env().with_overrides(list(endpoints))
    return GcpBackend(open_session(spec.project, key_file, chosen, region=spec.region), spec)


@dataclass
class Observed:
    """What the policy sees of a deployment, and how its choices become the spec after."""

    observations: dict[str, dict[str, Any]]
    info: dict[str, Any]
    #: The JSON record of the observation for the bundle (`observation.json`).
    record: dict[str, Any]
    spec_after: Callable[[dict[str, Any]], DeploymentSpec]
    notes: list[str] = field(default_factory=list)


def hours_into_month(start_s: float) -> float:
    """Hours from the start of the (UTC) calendar month to `start_s`: the sustained-use position."""
    moment = datetime.fromtimestamp(start_s, UTC)
    first = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (moment - first).total_seconds() / 3600.0


def _lists(array) -> list:
    """An array as nested lists, NaN (missing) as None: observation.json stays valid JSON."""
    import numpy as np

    array = np.asarray(array, dtype=np.float64)
    return np.where(np.isnan(array), None, array).tolist()


def observe_gcp(backend, live: DeploymentSpec) -> Observed:
    """Observe the live project: its Monitoring history for the live spec's resources, mapped
    into the policy's observations by `envs.external` (the simulator's layout and rules)."""
    from envs.external import observe_external, spec_after
    from envs.policy_info import from_spec
    from gcp.observe import collect
    from gcp.telemetry import STEP_SECONDS, metric_names

    raw = collect(backend.session, live, backend.inventory(), backend.steps)
    month_h = hours_into_month(float(raw.step_end_s[-1]) - STEP_SECONDS)
    seen = observe_external(live, raw.series, month_h)
    latest = raw.latest()
    record = {
        "source": "gcp", "project": live.project, "deployment": live.name,
        "step_end_s": raw.step_end_s.tolist(), "hours_into_month": month_h,
        "telemetry": {d: _lists(v) for d, v in latest.items()},
        "metrics": {d: metric_names(d) for d in latest},
        "resources": raw.resources, "missing_share": seen.missing,
        "observations": {a: {k: v.tolist() for k, v in o.items()}
                         for a, o in seen.observations.items()},
    }
    gaps = ", ".join(f"{d} {share:.0%}" for d, share in seen.missing.items() if share > 0)
    notes = [f"observed project {live.project!r} through Cloud Monitoring: {len(raw.step_end_s)} "
             f"steps to {datetime.fromtimestamp(float(raw.step_end_s[-1]), UTC):%Y-%m-%dT%H:%MZ}"
             + (f"; missing points in the window: {gaps} (carried forward, staleness)" if gaps else "")]
    return Observed(seen.observations, from_spec(live), record,
                    lambda actions: spec_after(live, actions), notes)


#: The policy used when none is named, until the trained default policy is in the registry.
DEFAULT_POLICY = "rules:hpa"


def parse_scenario(scenario: str) -> tuple[str, str]:
    """`[WORKLOAD:]PATTERN`, e.g. `steady`, `web:burst`, `batch:cyclical` (workload default web)."""
    workload, _, pattern = scenario.rpartition(":")
    return workload or "web", pattern


def load_policy(name: str | None):
    """A policy behind `agents.policy.Policy` and its version string for the audit log."""
    from agents.baselines.rules import RULES
    from gcp.errors import MarlformError

    version = name or DEFAULT_POLICY
    kind, _, rule = version.partition(":")
    if kind == "rules" and rule in RULES:
        return RULES[rule](), version
    raise MarlformError(f"--policy {version!r}: known policies are "
                        f"{', '.join('rules:' + r for r in RULES)}")


def _env(spec: DeploymentSpec, scenario: str, seed: int):
    from envs.provisioning import ProvisioningEnv

    workload, pattern = parse_scenario(scenario)
    env = ProvisioningEnv(scenario=workload, pattern=pattern, spec=spec, seed=seed)
    obs, _ = env.reset(seed)
    return env, obs


def _hold(env, obs, steps: int):
    """Run `steps` steps keeping every knob (action 0): the deployment as it is."""
    import numpy as np

    keep = {a: np.zeros(env.action_space(a).shape, dtype=np.int64) for a in env.possible_agents}
    for _ in range(steps):
        obs, *_ = env.step(keep)
    return obs


def observe_sim(before: DeploymentSpec, scenario: str, seed: int, warmup_steps: int) -> Observed:
    """Observe the simulator running `before` for `warmup_steps` unchanged, so the agents see
    steady telemetry of what runs now; each choice is applied to a twin at the same state."""
    from envs.policy_info import from_core

    env, obs = _env(before, scenario, seed)
    obs = _hold(env, obs, warmup_steps)
    record = {"source": "sim", "scenario": scenario, "seed": seed,
              "telemetry": {a: v.tolist() for a, v in env.telemetry().items()},
              "observations": {a: {k: v.tolist() for k, v in o.items()} for a, o in obs.items()},
              "step": int(env.core.state.t)}

    def after(actions: dict[str, Any]) -> DeploymentSpec:
        twin, twin_obs = _env(before, scenario, seed)
        _hold(twin, twin_obs, warmup_steps)
        twin.step(actions)
        return twin.deployment_spec()

    return Observed(obs, from_core(env.core), record, after)


def decide(before: DeploymentSpec, scenario: str, policy_name: str | None, observe: str, seed: int,
           warmup_steps: int, backend=None) -> Outcome:
    """Observe the deployment (the simulator, or the live project through `backend`), let the
    policy act once, and read the spec after. The current autoscaler (HPA rules) acts on the
    same observation, for the shadow comparison.
    """
    from agents.baselines.rules import HPAPolicy

    policy, version = load_policy(policy_name)
    policy.reset(seed)
    seen = observe_gcp(backend, before) if observe == "gcp" else observe_sim(
        before, scenario, seed, warmup_steps)
    chosen = policy.decisions(seen.observations, seen.info)
    autoscaler = HPAPolicy()
    autoscaler.reset(seed)
    reference = autoscaler.decisions(seen.observations, seen.info)
    decisions = [{**d.to_dict(), "expected": d.expected_outcome, "value": d.expected_value,
                  "resource": None, "action": d.rationale or str(d.to_dict()["action"])}
                 for d in chosen.values() if d.action.any()]
    return Outcome(version, seen.spec_after({a: d.action for a, d in chosen.items()}), decisions,
                   seen.record,
                   autoscaler_spec=seen.spec_after({a: d.action for a, d in reference.items()}),
                   notes=seen.notes)


def health(spec: DeploymentSpec, scenario: str, limits, seed: int):
    """Validation on the simulator: the spec runs as applied, with errors and SLOs in limits."""
    import numpy as np

    from marlform.apply import Validation
    from marlform.store import spec_hash

    env, _ = _env(spec, scenario, seed)
    errors, violations = [], []
    keep = {a: np.zeros(env.action_space(a).shape, dtype=np.int64) for a in env.possible_agents}
    for _ in range(limits.steps):
        env.step(keep)
        last = env.core.last
        entries = env.core.topo.entries
        errors.append(float(last.error[0, entries].mean()))
        violations.append(bool(not last.slo_met[0].all()))
    error_rate = float(np.mean(errors))
    slo_share = float(np.mean(violations))
    matches = spec_hash(env.deployment_spec()) == spec_hash(spec)
    checks = [
        {"name": "matches-spec", "ok": matches,
         "detail": "the simulator runs the applied spec" if matches else "the simulator's spec differs"},
        {"name": "error-rate", "ok": error_rate <= limits.max_error_rate,
         "detail": f"{error_rate:.4f} mean at the entry points, limit {limits.max_error_rate}"},
        {"name": "slo", "ok": slo_share <= limits.max_slo_violation_share,
         "detail": f"{slo_share:.2f} of {limits.steps} steps with a p99 over its SLO, limit "
                   f"{limits.max_slo_violation_share}"},
    ]
    return Validation(all(c["ok"] for c in checks), checks)
