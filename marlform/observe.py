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
    #: Decision-tree rules for the actions (markdown), or why there are none.
    explanation: str | None = None
    no_explanation: str | None = None


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
    #: The simulator core the observation follows; a trained policy must fit its layout.
    core: Any = None


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
                    lambda actions: spec_after(live, actions), notes, seen.core)


#: Without --policy, the promoted registry model `<workload>-maddpg` acts; where the
#: registry has none for the workload, the HPA rules do, and the plan says so.
DEFAULT_MODEL = "{workload}-maddpg"
FALLBACK_POLICY = "rules:hpa"


def parse_scenario(scenario: str) -> tuple[str, str]:
    """`[WORKLOAD:]PATTERN`, e.g. `steady`, `web:burst`, `batch:cyclical` (workload default web)."""
    workload, _, pattern = scenario.rpartition(":")
    return workload or "web", pattern


@dataclass
class LoadedPolicy:
    policy: Any
    version: str
    #: The registry version behind a trained policy (None for rules): explanations live there.
    model: Any = None
    notes: list[str] = field(default_factory=list)


def load_policy(name: str | None, workload: str, core) -> LoadedPolicy:
    """A policy behind `agents.policy.Policy`: `rules:NAME`, or a registry model `NAME[:VERSION]`
    whose layout must fit the observed deployment (`core`)."""
    from agents.baselines.rules import RULES
    from gcp.errors import MarlformError

    if name and name.startswith("rules:"):
        rule = name.partition(":")[2]
        if rule not in RULES:
            raise MarlformError(f"--policy {name!r}: known rules are "
                                f"{', '.join('rules:' + r for r in RULES)}")
        return LoadedPolicy(RULES[rule](), name)
    from agents.maddpg_policy import MADDPGPolicy
    from agents.registry import CheckpointError, ModelRegistry
    from agents.sim_env import layout_of

    registry = ModelRegistry()
    model_name, _, version = (name or DEFAULT_MODEL.format(workload=workload)).partition(":")
    if name is None and model_name not in registry.names():
        return LoadedPolicy(RULES["hpa"](), FALLBACK_POLICY, notes=[
            f"no trained model {model_name!r} in the registry {registry.root}; the HPA rules acted"])
    try:
        policy = MADDPGPolicy.from_registry(model_name, version or None, registry=registry.root,
                                            expect_layout=layout_of(core).to_dict())
    except CheckpointError as exc:
        if name is not None:
            raise
        return LoadedPolicy(RULES["hpa"](), FALLBACK_POLICY, notes=[
            f"the default model does not fit this deployment ({exc}); the HPA rules acted"])
    return LoadedPolicy(policy, policy.version, registry.get(model_name, policy.version.partition(":")[2]))


def describe_action(core, decision) -> list[tuple[str, str]]:
    """(resource, "knob: choice") for every slot of an agent's action that changes something."""
    from envs.knobs import resource_names

    slots, action, rows, i = core.slots[decision.agent], decision.action, [], 0
    for knob, count in zip(slots.knobs, slots.counts, strict=True):
        names = resource_names(core.topo, knob.resource)
        for r in range(count):
            choice = int(action[i])
            i += 1
            if choice:
                value = knob.choices[choice]
                shown = f"{value:+g}" if isinstance(value, int | float) and not isinstance(value, bool) else value
                rows.append((names[r], f"{knob.name}: {shown}"))
    return rows


def explain_decisions(loaded: LoadedPolicy, observations: dict[str, Any],
                      actions: dict[str, Any]) -> tuple[str | None, str | None]:
    """The decision-tree explanation of a trained policy's actions, or why there is none."""
    if loaded.model is None:
        return None, f"policy `{loaded.version}` is a fixed rule: its rationale is its rule"
    from agents.explain import explain_plan, load_for_version
    from gcp.errors import MarlformError

    try:
        proxies = load_for_version(loaded.model)
    except MarlformError as exc:
        return None, f"no decision-tree proxies for `{loaded.version}`: {exc}"
    return explain_plan(proxies, observations, actions), None


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

    return Observed(obs, from_core(env.core), record, after, core=env.core)


def decide(before: DeploymentSpec, scenario: str, policy_name: str | None, observe: str, seed: int,
           warmup_steps: int, backend=None) -> Outcome:
    """Observe the deployment (the simulator, or the live project through `backend`), let the
    policy act once, and read the spec after. The current autoscaler (HPA rules) acts on the
    same observation, for the shadow comparison.
    """
    from agents.baselines.rules import HPAPolicy

    seen = observe_gcp(backend, before) if observe == "gcp" else observe_sim(
        before, scenario, seed, warmup_steps)
    loaded = load_policy(policy_name, parse_scenario(scenario)[0], seen.core)
    policy, version = loaded.policy, loaded.version
    policy.reset(seed)
    chosen = policy.decisions(seen.observations, seen.info)
    actions = {a: d.action for a, d in chosen.items()}
    rules_md, no_rules = explain_decisions(loaded, seen.observations, actions)
    autoscaler = HPAPolicy()
    autoscaler.reset(seed)
    reference = autoscaler.decisions(seen.observations, seen.info)
    decisions = [{**d.to_dict(), "expected": d.expected_outcome, "value": d.expected_value,
                  "resource": resource, "action": change}
                 for d in chosen.values() for resource, change in describe_action(seen.core, d)]
    return Outcome(version, seen.spec_after(actions), decisions, seen.record,
                   autoscaler_spec=seen.spec_after({a: d.action for a, d in reference.items()}),
                   notes=[*loaded.notes, *seen.notes], explanation=rules_md,
                   no_explanation=no_rules)


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
