"""Rule paths in plain words, with thresholds in the units an engineer knows.

sklearn sends a sample left when `x <= threshold`. A path is merged per
feature into one interval ("CPU utilisation between 0.40 and 0.72") so a
reviewer reads each feature once, in the order the tree first tested it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from agents.explain.features import Feature
from agents.explain.proxy import KnobProxy


@dataclass(frozen=True)
class Condition:
    """lower < value <= upper on one feature (either bound may be open)."""

    feature: Feature
    lower: float | None
    upper: float | None
    value: float | None = None  # the state's own value, when a state was given

    def text(self) -> str:
        f = self.feature
        if self.lower is not None and self.upper is not None:
            return f"{f.text} between {f.format(self.lower)} and {f.format(self.upper)}"
        if self.lower is not None:
            return f"{f.text} > {f.format(self.lower)}"
        return f"{f.text} ≤ {f.format(self.upper)}"

    def to_dict(self) -> dict[str, object]:
        f = self.feature
        return {
            "feature": f.name,
            "label": f.text,
            "lower": self.lower,
            "upper": self.upper,
            "lower_text": None if self.lower is None else f.format(self.lower),
            "upper_text": None if self.upper is None else f.format(self.upper),
            "observed": self.value,
            "observed_text": None if self.value is None else f.format(self.value),
            "text": self.text(),
        }


@dataclass(frozen=True)
class Rule:
    """The path one state took: its conditions, the leaf's choice, and how sure the leaf is."""

    conditions: tuple[Condition, ...]
    choice: int
    leaf_share: float  # share of training states in the leaf that made the leaf's choice
    support: int  # training states in the leaf

    def because(self) -> str:
        if not self.conditions:
            return "this is what the agent chose in almost all states (no condition)"
        return " and ".join(c.text() for c in self.conditions)


def rule_path(proxy: KnobProxy, features: Sequence[Feature], x: np.ndarray) -> Rule:
    """The rule the proxy applies to one state (x: the agent's full feature vector)."""
    tree = proxy.tree.tree_
    xs = np.asarray(x, dtype=np.float64)[proxy.columns]
    bounds: dict[int, list[float | None]] = {}
    node = 0
    while tree.children_left[node] != -1:
        col, thr = int(tree.feature[node]), float(tree.threshold[node])
        low_high = bounds.setdefault(col, [None, None])
        if xs[col] <= thr:
            low_high[1] = thr if low_high[1] is None else min(low_high[1], thr)
            node = tree.children_left[node]
        else:
            low_high[0] = thr if low_high[0] is None else max(low_high[0], thr)
            node = tree.children_right[node]
    counts = tree.value[node][0]
    leaf = int(np.argmax(counts))
    conditions = tuple(
        Condition(features[int(proxy.columns[c])], lo, hi, float(xs[c])) for c, (lo, hi) in bounds.items()
    )
    return Rule(
        conditions=conditions,
        choice=int(proxy.tree.classes_[leaf]),
        leaf_share=float(counts[leaf] / counts.sum()),
        support=int(tree.n_node_samples[node]),
    )


def tree_text(proxy: KnobProxy, features: Sequence[Feature]) -> str:
    """The whole tree as nested if/else lines in engineer's units."""
    tree = proxy.tree.tree_
    choices = proxy.knob.choices
    lines: list[str] = []

    def walk(node: int, indent: str) -> None:
        if tree.children_left[node] == -1:
            counts = tree.value[node][0]
            leaf = int(np.argmax(counts))
            share = counts[leaf] / counts.sum()
            choice = choices[int(proxy.tree.classes_[leaf])]
            lines.append(f"{indent}→ {proxy.knob.name} = {choice}  "
                         f"({share:.0%} of {tree.n_node_samples[node]} training states)")
            return
        f = features[int(proxy.columns[tree.feature[node]])]
        thr = float(tree.threshold[node])
        lines.append(f"{indent}if {f.text} ≤ {f.format(thr)}:")
        walk(tree.children_left[node], indent + "    ")
        lines.append(f"{indent}else ({f.text} > {f.format(thr)}):")
        walk(tree.children_right[node], indent + "    ")

    walk(0, "")
    return "\n".join(lines)
