"""Decision-tree proxies that explain each agent's decisions, with measured fidelity.

Public API (docs/explainability.md):

- `explain_plan(proxies, observation, actions) -> str`: explanation.md of a plan;
  `explain_plan_json(...)`: the same as data.
- `load_for_version(ModelVersion) -> PolicyProxies`, `save_for_version(...)`: proxies
  stored beside a registry version.
- `build_for_registry(ref, steps=...)`: record a registry policy in the simulator, fit,
  measure and store its proxies; `build_proxies(policy, views, obs, episode)` for any policy.

Only numpy is imported here; scikit-learn, torch and matplotlib load when used.
"""

from agents.explain.build import build_for_registry, build_proxies
from agents.explain.plan import explain_plan, explain_plan_json
from agents.explain.proxy import AgentProxy, KnobProxy, PolicyProxies
from agents.explain.store import ExplainError, load_for_version, proxies_dir, save_for_version

__all__ = [
    "AgentProxy",
    "ExplainError",
    "KnobProxy",
    "PolicyProxies",
    "build_for_registry",
    "build_proxies",
    "explain_plan",
    "explain_plan_json",
    "load_for_version",
    "proxies_dir",
    "save_for_version",
]
