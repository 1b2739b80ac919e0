"""What a reviewer reads about a policy's proxies: trees as text and PNG, and the metrics table."""

from __future__ import annotations

import io
import re
from typing import Any

from agents.explain.metrics import FIDELITY_TARGET
from agents.explain.proxy import PolicyProxies
from agents.explain.rules import tree_text

_SCALE_NOTE = {"unit": "ratio", "slo": "× SLO", "log": "log-scaled"}


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def metrics_rows(proxies: PolicyProxies) -> list[dict[str, Any]]:
    """One row per agent and knob: the numbers of the metrics table."""
    rows = []
    for name, agent in proxies.agents.items():
        m = agent.metrics
        rows.append({"agent": name, "knob": "(all knobs)", "fidelity": m["fidelity"],
                     "majority_baseline": None, "faithfulness": m["faithfulness"],
                     "stability": m["stability"], "depth": m["max_depth"], "leaves": m["leaves"],
                     "features": len(m["features_used"]), "meets_target": m["meets_target"]})
        for k in m["knobs"]:
            rows.append({"agent": name, "knob": k["knob"], "fidelity": k["fidelity"],
                         "majority_baseline": k["majority_baseline"], "faithfulness": k["faithfulness"],
                         "stability": k["path_jaccard"], "depth": k["depth"], "leaves": k["leaves"],
                         "features": len(k["features_used"]), "meets_target": None})
    return rows


def metrics_markdown(proxies: PolicyProxies) -> str:
    """The metrics table in Markdown (docs/results and the CLI's text output)."""
    head = ("| agent | knob | fidelity | majority | faithfulness | stability | depth | leaves | features |\n"
            "|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    for r in metrics_rows(proxies):
        bold = "**" if r["knob"] == "(all knobs)" else ""
        lines.append(
            f"| {bold}{r['agent']}{bold} | {r['knob']} | {bold}{_fmt(r['fidelity'])}{bold} | "
            f"{_fmt(r['majority_baseline'])} | {_fmt(r['faithfulness'])} | {_fmt(r['stability'])} | "
            f"{r['depth']} | {r['leaves']} | {r['features']} |"
        )
    short = [n for n, a in proxies.agents.items() if not a.metrics["meets_target"]]
    verdict = (f"All agents reach held-out fidelity ≥ {FIDELITY_TARGET:.2f} at depth ≤ 6."
               if not short else
               f"Below the {FIDELITY_TARGET:.2f} target (all knobs together): {', '.join(short)}.")
    return "\n".join(lines) + "\n\n" + verdict + "\n"


def trees_text(proxies: PolicyProxies) -> str:
    """Every tree as nested rules with thresholds in engineer's units."""
    parts = []
    for name, agent in proxies.agents.items():
        for kp, km in zip(agent.knobs, agent.metrics["knobs"], strict=True):
            parts.append(f"## {name} · {kp.knob.name}  (held-out fidelity {_fmt(km['fidelity'])})\n"
                         + tree_text(kp, agent.features))
    return "\n\n".join(parts) + "\n"


def png_name(agent: str, knob: str) -> str:
    return f"{agent}/{re.sub(r'[^A-Za-z0-9_.-]+', '-', knob).strip('-')}.png"


def tree_pngs(proxies: PolicyProxies) -> dict[str, bytes]:
    """One PNG per agent and knob (sklearn.tree.plot_tree on the Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.tree import plot_tree

    out = {}
    for name, agent in proxies.agents.items():
        for kp in agent.knobs:
            features = [agent.features[c] for c in kp.columns]
            labels = [f"{f.text} ({_SCALE_NOTE.get(f.scaling, f.unit or 'value')})" for f in features]
            classes = [str(kp.knob.choices[c]) for c in kp.tree.classes_]
            leaves = kp.tree.get_n_leaves()
            fig, ax = plt.subplots(figsize=(max(6.0, 2.4 * leaves), 1.8 + 1.6 * kp.tree.get_depth()))
            plot_tree(kp.tree, feature_names=labels, class_names=classes, filled=True, impurity=False,
                      proportion=True, rounded=True, fontsize=8, ax=ax)
            ax.set_title(f"{name} · {kp.knob.name}")
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
            plt.close(fig)
            out[png_name(name, kp.knob.name)] = buffer.getvalue()
    return out


def results_markdown(proxies: PolicyProxies, note: str = "") -> str:
    """The docs/results page of one policy's proxies: provenance, the table, the verdict."""
    meta = proxies.meta
    head = [
        f"# Explainability results: `{proxies.policy}`",
        "",
        f"- recorded: {meta.get('steps', 0):,} simulated steps over {', '.join(meta.get('scenarios') or [])}",
        "- split: 80/20, whole trajectories held out; every number below is on the held-out 20 %",
        f"- proxies: one decision tree per action slot, depth ≤ {meta.get('max_depth')}, "
        f"scikit-learn {meta.get('sklearn_version')}, seed {meta.get('seed')}; built {meta.get('created_at')}",
        "- fidelity of an agent (bold rows) = share of held-out states where the proxies match "
        "every slot of the agent at once; majority = the share of the agent's most common choice",
    ]
    if note:
        head += ["", note]
    return "\n".join(head) + "\n\n" + metrics_markdown(proxies)


def results_json(proxies: PolicyProxies) -> dict[str, Any]:
    return {"policy": proxies.policy, "meta": proxies.meta,
            "agents": {n: a.metrics for n, a in proxies.agents.items()}}
