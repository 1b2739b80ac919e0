"""Decision-tree proxies: one small tree per knob, fit to the agent's own choices.

Why one tree per knob: a knob's rule ("replicas +2 because ...") is what a
reviewer reads, and a joint-action tree would need many more leaves to say
the same. Why this fitting procedure:

1. feature selection by random-forest importance keeps the few features that
   carry the decision, so a tree cannot split on noise that happens to help;
2. depth (≤ 6) and leaf size are tuned on a validation slice of the training
   data, preferring the smallest tree within `TOLERANCE` of the best fidelity;
3. cost-complexity pruning then removes branches that do not earn their keep;
4. the held-out 20 % is never seen here: `agents.explain.metrics` scores it.

Trees are stored as plain JSON (the arrays of sklearn's tree), never as
pickles, so loading proxies cannot execute code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from agents.explain.dataset import ExplanationDataset
from agents.explain.features import Feature, Knob

MAX_DEPTH = 6
LEAF_SIZES = (1, 5, 20, 50)
#: A smaller tree is preferred when its validation fidelity is within this of the best.
TOLERANCE = 0.005
MAX_FEATURES = 12
IMPORTANCE_COVERAGE = 0.95
#: Rows used for the random forest and the tuning grid (the final fit uses all training rows).
TUNING_ROWS = 20_000


@dataclass
class KnobProxy:
    """A fitted tree over some of the agent's features that predicts one knob's choice."""

    knob: Knob
    columns: np.ndarray  # indices into the agent's feature list, in tree column order
    tree: Any  # sklearn.tree.DecisionTreeClassifier
    params: dict[str, Any]

    def _x(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, dtype=np.float64)[:, self.columns]

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Choice index per row, from the agent's full feature matrix."""
        return self.tree.predict(self._x(X)).astype(np.int64)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """(n, n_choices): the leaf's class frequencies, placed at each class's choice index."""
        out = np.zeros((len(X), len(self.knob.choices)))
        out[:, self.tree.classes_.astype(np.int64)] = self.tree.predict_proba(self._x(X))
        return out

    def used_columns(self) -> list[int]:
        """Agent feature indices the tree actually splits on (a subset of `columns`)."""
        split = self.tree.tree_.feature
        return sorted({int(self.columns[f]) for f in split[split >= 0]})

    def to_dict(self) -> dict[str, Any]:
        state = self.tree.tree_.__getstate__()
        nodes = state["nodes"]
        return {
            "knob": self.knob.to_dict(),
            "columns": [int(c) for c in self.columns],
            "params": self.params,
            "classes": [int(c) for c in self.tree.classes_],
            "max_depth": int(state["max_depth"]),
            "nodes": {name: nodes[name].tolist() for name in nodes.dtype.names},
            "values": state["values"].tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KnobProxy:
        return cls(
            knob=Knob.from_dict(data["knob"]),
            columns=np.asarray(data["columns"], dtype=np.int64),
            tree=_rebuild_tree(data),
            params=dict(data["params"]),
        )


def _rebuild_tree(data: dict[str, Any]) -> Any:
    """An sklearn classifier from stored arrays, filling node fields this sklearn has but the file lacks."""
    from sklearn.tree import DecisionTreeClassifier
    from sklearn.tree._tree import Tree

    classes = np.asarray(data["classes"], dtype=np.int64)
    n_features = len(data["columns"])
    tree = Tree(n_features, np.array([len(classes)], dtype=np.intp), 1)
    dtype = tree.__getstate__()["nodes"].dtype
    stored = data["nodes"]
    count = len(stored["left_child"])
    nodes = np.zeros(count, dtype=dtype)
    for name in dtype.names:
        if name in stored:
            nodes[name] = stored[name]
    tree.__setstate__(
        {
            "max_depth": data["max_depth"],
            "node_count": count,
            "nodes": nodes,
            "values": np.asarray(data["values"], dtype=np.float64).reshape(count, 1, len(classes)),
        }
    )
    clf = DecisionTreeClassifier(**{k: v for k, v in data["params"].items() if k in _TREE_PARAMS})
    clf.tree_ = tree
    clf.classes_ = classes
    clf.n_classes_ = len(classes)
    clf.n_outputs_ = 1
    clf.n_features_in_ = n_features
    clf.max_features_ = n_features
    return clf


_TREE_PARAMS = ("max_depth", "min_samples_leaf", "ccp_alpha")


def select_features(X: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    """Column indices by random-forest importance: the fewest that cover 95 % of it (≤ 12)."""
    from sklearn.ensemble import RandomForestClassifier

    if len(np.unique(y)) < 2 or X.shape[1] <= 1:
        return np.arange(min(X.shape[1], 1))
    forest = RandomForestClassifier(
        n_estimators=60, max_depth=8, min_samples_leaf=5, n_jobs=1, random_state=seed
    ).fit(X, y)
    order = np.argsort(-forest.feature_importances_, kind="stable")
    cumulative = np.cumsum(forest.feature_importances_[order])
    keep = int(np.searchsorted(cumulative, IMPORTANCE_COVERAGE) + 1)
    return np.sort(order[: max(1, min(keep, MAX_FEATURES))])


def _fit(X: np.ndarray, y: np.ndarray, seed: int, **params: Any) -> Any:
    from sklearn.tree import DecisionTreeClassifier

    return DecisionTreeClassifier(random_state=seed, **params).fit(X, y)


def _smallest_good(scored: list[tuple[float, int, int, dict[str, Any]]]) -> dict[str, Any]:
    """Among (fidelity, leaves, depth, params), the smallest tree within TOLERANCE of the best."""
    best = max(s[0] for s in scored)
    good = [s for s in scored if s[0] >= best - TOLERANCE]
    return min(good, key=lambda s: (s[1], s[2], -s[0]))[3]


def fit_knob_proxy(
    X: np.ndarray,
    y: np.ndarray,
    knob: Knob,
    seed: int = 0,
    max_depth: int = MAX_DEPTH,
) -> KnobProxy:
    """Select features, tune depth/leaf size, prune, and fit on all of (X, y) (the training split)."""
    rng = np.random.default_rng(seed)
    rows = rng.permutation(len(X))[:TUNING_ROWS]
    columns = select_features(X[rows], y[rows], seed)
    Xs = X[:, columns]
    cut = max(1, int(0.75 * len(rows)))
    fit_rows, val_rows = rows[:cut], rows[cut:]
    if len(val_rows) == 0:
        val_rows = fit_rows

    def score(model: Any) -> float:
        return float((model.predict(Xs[val_rows]) == y[val_rows]).mean())

    grid = []
    for depth in range(1, max_depth + 1):
        for leaf in LEAF_SIZES:
            model = _fit(Xs[fit_rows], y[fit_rows], seed, max_depth=depth, min_samples_leaf=leaf)
            grid.append((score(model), model.get_n_leaves(), model.get_depth(),
                         {"max_depth": depth, "min_samples_leaf": leaf}))
    chosen = _smallest_good(grid)

    base = _fit(Xs[fit_rows], y[fit_rows], seed, **chosen)
    alphas = np.unique(base.cost_complexity_pruning_path(Xs[fit_rows], y[fit_rows]).ccp_alphas)
    alphas = alphas[alphas >= 0]
    if len(alphas) > 30:
        alphas = np.quantile(alphas, np.linspace(0, 1, 30))
    pruned = []
    for alpha in alphas:
        model = _fit(Xs[fit_rows], y[fit_rows], seed, **chosen, ccp_alpha=float(alpha))
        pruned.append((score(model), model.get_n_leaves(), model.get_depth(),
                       {**chosen, "ccp_alpha": float(alpha)}))
    params = _smallest_good(pruned) if pruned else {**chosen, "ccp_alpha": 0.0}
    tree = _fit(Xs, y, seed, **params)
    return KnobProxy(knob=knob, columns=columns, tree=tree, params=params)


@dataclass
class AgentProxy:
    """The proxies of one agent: one per knob, over the agent's named features."""

    agent: str
    features: tuple[Feature, ...]
    knobs: list[KnobProxy]
    metrics: dict[str, Any]

    def predict(self, X: np.ndarray) -> np.ndarray:
        """(n, n_knobs) predicted choices."""
        return np.stack([k.predict(X) for k in self.knobs], axis=1)

    def used_features(self) -> list[Feature]:
        cols = sorted({c for k in self.knobs for c in k.used_columns()})
        return [self.features[c] for c in cols]

    def to_dict(self) -> dict[str, Any]:
        return {
            "agent": self.agent,
            "features": [f.to_dict() for f in self.features],
            "knobs": [k.to_dict() for k in self.knobs],
            "metrics": self.metrics,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AgentProxy:
        return cls(
            agent=data["agent"],
            features=tuple(Feature.from_dict(f) for f in data["features"]),
            knobs=[KnobProxy.from_dict(k) for k in data["knobs"]],
            metrics=dict(data.get("metrics", {})),
        )


def fit_agent_proxy(train: ExplanationDataset, seed: int = 0, max_depth: int = MAX_DEPTH) -> AgentProxy:
    """One tuned, pruned tree per knob, fit on the training split only."""
    proxies = [
        fit_knob_proxy(train.X, train.actions[:, i], knob, seed=seed + i, max_depth=max_depth)
        for i, knob in enumerate(train.knobs)
    ]
    return AgentProxy(agent=train.agent, features=train.features, knobs=proxies, metrics={})


@dataclass
class PolicyProxies:
    """Every agent's proxies for one policy version, and where they came from."""

    policy: str
    agents: dict[str, AgentProxy]
    meta: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": PROXY_FORMAT,
            "policy": self.policy,
            "meta": self.meta,
            "agents": [a.to_dict() for a in self.agents.values()],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PolicyProxies:
        if data.get("format") != PROXY_FORMAT:
            raise ValueError(f"proxy format {data.get('format')!r} is not {PROXY_FORMAT}")
        agents = [AgentProxy.from_dict(a) for a in data["agents"]]
        return cls(policy=data["policy"], agents={a.agent: a for a in agents}, meta=dict(data["meta"]))


#: Bumped when the stored proxy layout changes incompatibly.
PROXY_FORMAT = 1
