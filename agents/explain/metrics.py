"""How far a proxy can be trusted: fidelity, faithfulness, stability, comprehensibility.

All four are measured on the held-out split, against the agent itself:

- fidelity: how often the proxy predicts the choice the agent really made;
  reported beside the majority-choice rate, because an agent that holds
  still 85 % of the time makes 0.85 easy;
- faithfulness: does the proxy react to its features the way the agent does?
  Each feature the tree uses is replaced, state by state, with values drawn
  from its held-out distribution; the agent is queried again, and the change
  in its choice probabilities is correlated (Pearson) with the change in the
  proxy's leaf probabilities. A tree that splits on the right features in
  the wrong direction scores negative; one that explains noise scores ~0;
- stability: near-identical states (each feature moved by 1 % of its spread)
  should be explained by the same rule path: mean Jaccard similarity of the
  two decision paths, and the share that end in the same leaf;
- comprehensibility: depth, leaves, features used.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from agents.explain.dataset import ExplanationDataset, ProbFn
from agents.explain.features import concat, scatter, take
from agents.explain.proxy import AgentProxy, KnobProxy

FIDELITY_TARGET = 0.90
FAITHFULNESS_STATES = 200
FAITHFULNESS_DRAWS = 2
STABILITY_NOISE = 0.01


def fidelity(proxy: KnobProxy, X: np.ndarray, chosen: np.ndarray) -> float:
    """Accuracy of the proxy against the agent's real choices."""
    return float((proxy.predict(X) == np.asarray(chosen)).mean()) if len(X) else float("nan")


def faithfulness(
    proxy: KnobProxy, knob: int, probs: ProbFn, test: ExplanationDataset, seed: int = 0,
    states: int = FAITHFULNESS_STATES, draws: int = FAITHFULNESS_DRAWS,
) -> float | None:
    """Correlation of agent and proxy probability changes under perturbation of the tree's features.

    None when it is undefined: the tree is a single leaf, or neither the agent nor
    the proxy ever changed under the perturbations (nothing to correlate).
    """
    used = proxy.used_columns()
    if not used or len(test) == 0:
        return None
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(test), size=min(states, len(test)), replace=False)
    base_obs, base_X = take(test.obs, rows), test.X[rows]
    agent_base = np.asarray(probs(base_obs)[knob])
    proxy_base = proxy.predict_proba(base_X)
    perturbed_obs, perturbed_X = [], []
    for col in used:
        for _ in range(draws):
            X2 = base_X.copy()
            X2[:, col] = rng.choice(test.X[:, col], size=len(rows))
            perturbed_obs.append(scatter(base_obs, [test.features[col]], X2[:, [col]]))
            perturbed_X.append(X2)
    # one query of the agent for every perturbation: a policy forward pass is the costly part
    agent_new = np.asarray(probs(concat(perturbed_obs))[knob])
    proxy_new = proxy.predict_proba(np.concatenate(perturbed_X))
    d_agent = agent_new - np.tile(agent_base, (len(perturbed_X), 1))
    d_proxy = proxy_new - np.tile(proxy_base, (len(perturbed_X), 1))
    a, p = d_agent.ravel(), d_proxy.ravel()
    if a.std() == 0 or p.std() == 0:
        return None
    return float(np.corrcoef(a, p)[0, 1])


def stability(proxy: KnobProxy, X: np.ndarray, seed: int = 0, noise: float = STABILITY_NOISE) -> dict[str, float]:
    """Path similarity of each state and a near-identical copy (every feature moved by noise × spread)."""
    if len(X) == 0:
        return {"path_jaccard": float("nan"), "same_leaf": float("nan")}
    rng = np.random.default_rng(seed)
    spread = X.std(axis=0)
    X2 = X + rng.normal(size=X.shape) * noise * spread
    tree, cols = proxy.tree, proxy.columns
    p1 = tree.decision_path(X[:, cols]).tocsr()
    p2 = tree.decision_path(X2[:, cols]).tocsr()
    inter = np.asarray(p1.multiply(p2).sum(axis=1)).ravel()
    union = np.asarray(p1.sum(axis=1)).ravel() + np.asarray(p2.sum(axis=1)).ravel() - inter
    same_leaf = tree.apply(X[:, cols]) == tree.apply(X2[:, cols])
    return {"path_jaccard": float((inter / union).mean()), "same_leaf": float(same_leaf.mean())}


def comprehensibility(proxy: KnobProxy, feature_names: list[str]) -> dict[str, Any]:
    used = proxy.used_columns()
    return {
        "depth": int(proxy.tree.get_depth()),
        "leaves": int(proxy.tree.get_n_leaves()),
        "features_used": [feature_names[c] for c in used],
    }


def evaluate(proxy: AgentProxy, test: ExplanationDataset, probs: ProbFn, seed: int = 0) -> dict[str, Any]:
    """All metrics of an agent's proxies on its held-out split; stored in `proxy.metrics` too."""
    names = [f.name for f in test.features]
    knobs = []
    for i, kp in enumerate(proxy.knobs):
        chosen = test.actions[:, i]
        counts = np.bincount(chosen, minlength=len(kp.knob.choices)) if len(chosen) else np.zeros(1)
        knobs.append(
            {
                "knob": kp.knob.name,
                "fidelity": fidelity(kp, test.X, chosen),
                "majority_baseline": float(counts.max() / max(1, counts.sum())),
                "faithfulness": faithfulness(kp, i, probs, test, seed=seed + i),
                **stability(kp, test.X, seed=seed + i),
                **comprehensibility(kp, names),
                "params": kp.params,
            }
        )
    joint = float((proxy.predict(test.X) == test.actions).all(axis=1).mean()) if len(test) else float("nan")
    faith = [k["faithfulness"] for k in knobs if k["faithfulness"] is not None]
    depth = max(k["depth"] for k in knobs)
    metrics = {
        "agent": proxy.agent,
        "fidelity": joint,
        "fidelity_mean_knob": float(np.mean([k["fidelity"] for k in knobs])),
        "faithfulness": float(np.mean(faith)) if faith else None,
        "stability": float(np.mean([k["path_jaccard"] for k in knobs])),
        "max_depth": depth,
        "leaves": int(sum(k["leaves"] for k in knobs)),
        "features_used": sorted({f for k in knobs for f in k["features_used"]}),
        "n_test": len(test),
        "meets_target": bool(joint >= FIDELITY_TARGET and depth <= 6),
        "knobs": knobs,
    }
    proxy.metrics = metrics
    return metrics
