"""Observation and decision for a plan: what the agents saw, what they chose, and what the
current autoscaler would have chosen (the shadow-stage comparison)."""

from __future__ import annotations

from dataclasses import dataclass, field
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


def gcp_backend(spec: DeploymentSpec):
    """The live project behind `spec`, read through the GCP layer (`--observe gcp`)."""
    from gcp.clients.session import open_session
    from gcp.gcp_backend import GcpBackend

    return GcpBackend(open_session(spec.project, region=spec.region), spec)


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


def _observation(env, obs) -> dict[str, Any]:
    return {"telemetry": {a: v.tolist() for a, v in env.telemetry().items()},
            "observations": {a: {k: v.tolist() for k, v in o.items()} for a, o in obs.items()},
            "step": int(env.core.state.t)}


def decide(before: DeploymentSpec, scenario: str, policy_name: str | None, observe: str, seed: int,
           warmup_steps: int) -> Outcome:
    """Observe the deployment, let the policy act once, and read the spec after.

    On the simulator the deployment runs `warmup_steps` unchanged first, so the agents see
    steady telemetry of what runs now. The current autoscaler (HPA rules) acts on the same
    observation in a twin environment, for the shadow comparison.
    """
    from agents.baselines.rules import HPAPolicy
    from envs.policy_info import from_core

    if observe != "sim":
        from gcp.errors import MarlformError

        raise MarlformError("--observe gcp: mapping live telemetry into the policy's observations "
                            "is not wired yet; use --observe sim")
    policy, version = load_policy(policy_name)
    policy.reset(seed)
    env, obs = _env(before, scenario, seed)
    obs = _hold(env, obs, warmup_steps)
    chosen = policy.decisions(obs, from_core(env.core))
    observation = _observation(env, obs)
    env.step({a: d.action for a, d in chosen.items()})
    twin, twin_obs = _env(before, scenario, seed)
    twin_obs = _hold(twin, twin_obs, warmup_steps)
    autoscaler = HPAPolicy()
    autoscaler.reset(seed)
    twin.step({a: d.action for a, d in autoscaler.decisions(twin_obs, from_core(twin.core)).items()})
    decisions = [{**d.to_dict(), "expected": d.expected_outcome, "value": d.expected_value,
                  "resource": None, "action": d.rationale or str(d.to_dict()["action"])}
                 for d in chosen.values() if d.action.any()]
    return Outcome(version, env.deployment_spec(), decisions, observation,
                   autoscaler_spec=twin.deployment_spec())


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
