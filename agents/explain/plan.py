"""Per-plan explanations: why each agent chose what it chose, and how far to trust the why.

For each knob of each agent the proxy's rule path on the very state the
agent saw is rendered in plain words, with the proxy's held-out fidelity
beside it. When the proxy would have chosen differently on this state the
explanation says so loudly: a rule that does not match the decision must
not be read as its reason. The JSON form is the source; the Markdown
(`explanation.md` of a plan bundle) is rendered from it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from agents.explain.features import gather
from agents.explain.metrics import FIDELITY_TARGET
from agents.explain.proxy import PolicyProxies
from agents.explain.rules import rule_path


def batch_of_one(observation: Mapping[str, Any]) -> dict[str, Any]:
    """One unbatched observation (arrays or JSON lists) as a batch of size 1."""
    return {
        key: batch_of_one(value) if isinstance(value, Mapping) else np.asarray(value)[None, ...]
        for key, value in observation.items()
    }


def _choice_indices(agent: str, knobs: Sequence[Any], chosen: Any) -> list[int]:
    """Accept [index per knob] or {knob name: index or choice label}."""
    if isinstance(chosen, Mapping):
        out = []
        for knob in knobs:
            if knob.name not in chosen:
                raise ValueError(f"actions[{agent!r}] has no choice for knob {knob.name!r}")
            value = chosen[knob.name]
            out.append(knob.choices.index(value) if isinstance(value, str) else int(value))
        return out
    values = [int(v) for v in chosen]
    if len(values) != len(knobs):
        raise ValueError(f"actions[{agent!r}]: {len(values)} choices for {len(knobs)} knobs")
    return values


def explain_plan_json(
    proxies: PolicyProxies, observation: Mapping[str, Any], actions: Mapping[str, Any]
) -> dict[str, Any]:
    """The explanation of one decision as data.

    observation: the joint observation of one step, unbatched, keyed as the policy sees it
    (e.g. {"compute": {"metrics": ..., "own": ...}, ...}); JSON lists are fine.
    actions: {agent: [choice index per knob]} or {agent: {knob: index or label}}.
    Agents without proxies are listed under "unexplained".
    """
    batch = batch_of_one(observation)
    agents, unexplained = [], sorted(set(actions) - set(proxies.agents))
    for name, proxy in proxies.agents.items():
        if name not in actions:
            continue
        x = gather(batch, proxy.features)[0]
        chosen = _choice_indices(name, [k.knob for k in proxy.knobs], actions[name])
        knob_metrics = {k["knob"]: k for k in proxy.metrics.get("knobs", [])}
        knobs = []
        for kp, choice in zip(proxy.knobs, chosen, strict=True):
            rule = rule_path(kp, proxy.features, x)
            agrees = rule.choice == choice
            fid = knob_metrics.get(kp.knob.name, {}).get("fidelity")
            knobs.append(
                {
                    "knob": kp.knob.name,
                    "chosen": choice,
                    "chosen_label": kp.knob.choices[choice],
                    "predicted": rule.choice,
                    "predicted_label": kp.knob.choices[rule.choice],
                    "agrees": agrees,
                    "fidelity": fid,
                    "because": rule.because(),
                    "conditions": [c.to_dict() for c in rule.conditions],
                    "leaf_share": rule.leaf_share,
                    "leaf_support": rule.support,
                }
            )
        agents.append(
            {
                "agent": name,
                "fidelity": proxy.metrics.get("fidelity"),
                "meets_target": proxy.metrics.get("meets_target"),
                "knobs": knobs,
            }
        )
    return {
        "policy": proxies.policy,
        "fidelity_target": FIDELITY_TARGET,
        "dataset": {k: proxies.meta.get(k) for k in ("steps", "scenarios", "created_at")},
        "agents": agents,
        "unexplained": unexplained,
    }


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def render_markdown(data: Mapping[str, Any]) -> str:
    """explanation.md from `explain_plan_json` output."""
    steps = data["dataset"].get("steps")
    lines = [
        "# Why the agents acted",
        "",
        f"Each agent's decisions are explained by decision-tree proxies fit to policy "
        f"`{data['policy']}`"
        + (f" on {steps:,} simulated steps" if steps else "")
        + ". Fidelity is the share of held-out simulated states on which the proxy chose what the "
        f"agent chose (target ≥ {data['fidelity_target']:.2f}). A rule explains a decision only "
        "where the proxy agrees with the agent on that state.",
    ]
    for agent in data["agents"]:
        lines += ["", f"## {agent['agent']} (proxy fidelity {_num(agent['fidelity'])}, all knobs together)", ""]
        if agent["meets_target"] is False:
            lines.append(
                f"> ⚠ This agent's proxy is below the {data['fidelity_target']:.2f} fidelity target: "
                "read its rules as approximate."
            )
            lines.append("")
        for knob in agent["knobs"]:
            trust = (f"proxy fidelity {_num(knob['fidelity'])} for this knob; "
                     f"{knob['leaf_share']:.0%} of the {knob['leaf_support']:,} training states on "
                     "this rule got this choice")
            if knob["agrees"]:
                lines.append(f"- **{knob['knob']}: {knob['chosen_label']}** because {knob['because']} "
                             f"({trust}).")
            else:
                lines.append(
                    f"- **{knob['knob']}: {knob['chosen_label']}**: ⚠ no faithful explanation. On this "
                    f"very state the proxy predicts **{knob['predicted_label']}** (its rule: "
                    f"{knob['because']}; {trust}), so its rule is not the reason for the agent's choice."
                )
    if data["unexplained"]:
        lines += ["", "Agents without proxies (no explanation available): "
                  + ", ".join(data["unexplained"]) + "."]
    return "\n".join(lines) + "\n"


def explain_plan(proxies: PolicyProxies, observation: Mapping[str, Any], actions: Mapping[str, Any]) -> str:
    """explanation.md content for a plan bundle (see `explain_plan_json` for the arguments)."""
    return render_markdown(explain_plan_json(proxies, observation, actions))
