"""The human side of a bundle: summary.md (what changes, cost, risk, what it needs) and
explanation.md (why the agents chose it, what safety did).

Issue 10 will add decision-tree rules with their fidelity to the explanation;
until then it states plainly what the policy reported and what safety decided,
and says that no surrogate explanation exists yet.
"""

from __future__ import annotations

from typing import Any

from gcp.spec import DeploymentSpec
from marlform.impact import resource_actions, spec_changes


def summary_md(plan_id: str, deployment: str, stage: str, outcome: str, source: str,
               impact: dict[str, Any], plan_json: dict[str, Any], findings: list[dict[str, Any]],
               needs: list[str], before: DeploymentSpec, after: DeploymentSpec) -> str:
    lines = [
        f"# Plan {plan_id}",
        "",
        f"- deployment: **{deployment}**, stage: **{stage}**, outcome: **{outcome}**",
        f"- plan source: {source}" + (" (offline preview: Terraform did not run)"
                                      if source == "preview" else ""),
        f"- monthly cost: {impact['cost_before']:,.2f} → {impact['cost_after']:,.2f} USD "
        f"(**{impact['cost_delta']:+,.2f}**)",
        f"- risk: **{impact['risk']}**"
        + (f" (destructive: {', '.join(impact['destructive_resources'])})"
           if impact["destructive"] else ""),
        "",
        "## Spec changes",
        "",
    ]
    edits = spec_changes(before, after)
    if edits:
        lines += ["| field | before | after |", "|---|---|---|"]
        lines += [f"| `{path}` | {old} | {new} |" for path, old, new in edits]
    else:
        lines.append("None.")
    lines += ["", "## Terraform resource changes", ""]
    changes = resource_actions(plan_json)
    if changes:
        lines += ["| action | resource |", "|---|---|"]
        lines += [f"| {action} | `{address}` |" for address, _, action in changes]
    else:
        lines.append("None (a change of running replicas under an autoscaler is not a Terraform "
                     "setting)." if edits else "None.")
    lines += ["", "## Safety findings", ""]
    if findings:
        lines += [f"- **{f['severity']}** `{f['rule']}` on `{f.get('address') or '-'}`: "
                  f"{f['reason']}" for f in findings]
    else:
        lines.append("None.")
    lines += ["", "## What it needs", ""] + [f"- {n}" for n in needs]
    return "\n".join(lines) + "\n"


def explanation_md(policy_version: str, decisions: list[dict[str, Any]],
                   overrides: list[dict[str, Any]], safety: dict[str, Any],
                   shadow: dict[str, Any] | None, rules: str | None = None,
                   no_rules: str | None = None) -> str:
    """`rules` is the decision-tree explanation of a trained policy (agents.explain); without
    it the file says why, and reports only what the policy and the safety policies said."""
    lines = ["# Why this plan", ""]
    if rules is None:
        lines += [f"> No decision-tree explanation: {no_rules or 'none available'}. This file "
                  "reports what the policy said about each action and what the safety policies "
                  "decided; it does not claim more.", ""]
    lines += ["## Agent actions", ""]
    if decisions:
        lines += ["| agent | resource | action | confidence | expected outcome |", "|---|---|---|---|---|"]
        for d in decisions:
            outcome = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                                for k, v in (d.get("expected") or {}).items()) or "-"
            confidence = d.get("confidence")
            lines.append(f"| {d['agent']} | {d.get('resource') or '-'} | {d['action']} | "
                         f"{'-' if confidence is None else f'{confidence:.2f}'} | {outcome} |")
    else:
        lines.append("The policy chose no change.")
    if overrides:
        lines += ["", "## Overrides in force", ""]
        lines += [f"- `{o['path']}` pinned to {o['override']!r} (the agents chose {o['agents_chose']!r})"
                  for o in overrides]
    lines += ["", "## Safety", ""]
    fallbacks = safety.get("fallbacks") or []
    if fallbacks:
        lines += [f"- fallback: {f.get('reason') or f}" for f in fallbacks]
    else:
        lines.append("- no fallback was needed")
    if rules is not None:
        body = rules.split("\n", 1)[1] if rules.startswith("# ") else rules
        lines += ["", f"## The rules behind each action (decision-tree proxies of `{policy_version}`)",
                  "", body.strip()]
    if shadow:
        lines += ["", "## Shadow comparison with the current autoscaler", "",
                  f"Agreement: {shadow['agreement']:.2f} over {len(shadow['services'])} service(s).", ""]
        lines += [f"- {name}: agents {v['agents']}, autoscaler {v['autoscaler']}"
                  for name, v in sorted(shadow["services"].items())]
    return "\n".join(lines) + "\n"
