"""From recorded observations to measured proxies: collect, split 80/20, fit, evaluate."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from agents.explain.dataset import AgentView, ExplanationDataset, collect
from agents.explain.metrics import evaluate
from agents.explain.proxy import MAX_DEPTH, AgentProxy, PolicyProxies, fit_agent_proxy


def build_agent_proxy(
    view: AgentView, data: ExplanationDataset, seed: int = 0, max_depth: int = MAX_DEPTH
) -> AgentProxy:
    """Fit on the training 80 %, measure every metric on the held-out 20 %."""
    train, test = data.split(seed)
    proxy = fit_agent_proxy(train, seed=seed, max_depth=max_depth)
    evaluate(proxy, test, view.probs, seed=seed)
    proxy.metrics["n_train"] = len(train)
    return proxy


def build_proxies(
    policy: str,
    views: Sequence[AgentView],
    obs: Mapping[str, Any],
    episode: np.ndarray | None = None,
    *,
    seed: int = 0,
    max_depth: int = MAX_DEPTH,
    meta: Mapping[str, Any] | None = None,
) -> PolicyProxies:
    """Proxies for every agent from one batch of joint observations (one row per simulated step)."""
    import sklearn

    agents, steps = {}, 0
    for view in views:
        data = collect(view, obs, episode)
        steps = len(data)
        agents[view.name] = build_agent_proxy(view, data, seed, max_depth)
    info = {
        "steps": steps,
        "seed": seed,
        "max_depth": max_depth,
        "sklearn_version": sklearn.__version__,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **(meta or {}),
    }
    return PolicyProxies(policy=policy, agents=agents, meta=info)


def steps_to_envs(steps: int, patterns: int, episode_steps: int) -> int:
    """Environments per pattern so that patterns × envs × episode length reaches `steps`."""
    return max(1, -(-steps // (patterns * episode_steps)))


def build_for_registry(
    ref: str, *, steps: int = 10_000, registry: Any = None, seed: int = 0, max_depth: int = MAX_DEPTH,
    save: bool = True,
) -> PolicyProxies:
    """Record a registry policy in the simulator (all patterns), fit and measure proxies, store them."""
    from agents.explain.policies import registry_policy
    from agents.explain.report import tree_pngs
    from agents.explain.simulate import PATTERNS, record, scenario_cores, views
    from agents.explain.store import save_for_version
    from envs.config import SimConfig
    from envs.scenarios import scenario_spec

    policy, item, scenario = registry_policy(ref, registry)
    spec = scenario_spec(scenario)
    episode = SimConfig().steps
    cores = scenario_cores(spec, steps_to_envs(steps, len(PATTERNS), episode), PATTERNS, seed, scenario)
    obs, episodes = record(cores, policy, seed=seed)
    agent_names = [a["name"] for a in item.metadata["layout"]["agents"]]
    proxies = build_proxies(
        f"{item.name}:{item.version}", views(cores[0], policy, agent_names, peers=True), obs, episodes,
        seed=seed, max_depth=max_depth,
        meta={"scenarios": [f"{spec.name}/{p}" for p in PATTERNS]},
    )
    if save:
        save_for_version(item, proxies, tree_pngs(proxies))
    return proxies
