"""The explanation dataset: what one agent saw, and what it chose, step by step.

Proxies are fit to the agent's own decisions (not to rewards or to what a
good policy would do): a proxy explains *this* agent. The dataset keeps the
full batched observation besides the named feature matrix, because
faithfulness re-queries the agent on perturbed copies of the same states.
The held-out split is by episode when episodes are known: consecutive steps
of one trajectory are near-duplicates, and scoring a proxy on the neighbours
of its training rows would overstate its fidelity.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agents.explain.features import Feature, Knob, gather, take

#: A batched observation dict → per-knob action probabilities, each (B, n_choices).
ProbFn = Callable[[Mapping[str, Any]], list[np.ndarray]]
HELD_OUT = 0.2


@dataclass(frozen=True)
class AgentView:
    """One agent as the explainer sees it: its named features, its knobs, its probabilities.

    Any policy fits behind `probs`: a MADDPG actor's masked softmax per knob, or
    one-hot probabilities for a deterministic rule policy.
    """

    name: str
    features: tuple[Feature, ...]
    knobs: tuple[Knob, ...]
    probs: ProbFn

    def __post_init__(self) -> None:
        names = [f.name for f in self.features]
        if len(set(names)) != len(names):
            raise ValueError(f"agent {self.name!r}: duplicate feature names")


@dataclass
class ExplanationDataset:
    agent: str
    features: tuple[Feature, ...]
    knobs: tuple[Knob, ...]
    obs: dict[str, Any]
    X: np.ndarray  # (n, d) named features
    actions: np.ndarray  # (n, n_knobs) chosen choice per knob
    probs: list[np.ndarray]  # per knob (n, n_choices)
    episode: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.X)

    def subset(self, rows: np.ndarray) -> ExplanationDataset:
        return ExplanationDataset(
            self.agent, self.features, self.knobs, take(self.obs, rows), self.X[rows],
            self.actions[rows], [p[rows] for p in self.probs], self.episode[rows],
        )

    def split(self, seed: int = 0, held_out: float = HELD_OUT) -> tuple[ExplanationDataset, ExplanationDataset]:
        """(train, test): 80/20, whole episodes held out when there are enough of them."""
        rng = np.random.default_rng(seed)
        episodes = np.unique(self.episode)
        if len(episodes) >= 5:
            chosen = rng.permutation(episodes)[: max(1, round(held_out * len(episodes)))]
            test = np.isin(self.episode, chosen)
        else:
            test = np.zeros(len(self), dtype=bool)
            test[rng.permutation(len(self))[: max(1, round(held_out * len(self)))]] = True
        return self.subset(np.flatnonzero(~test)), self.subset(np.flatnonzero(test))


def collect(
    view: AgentView,
    obs: Mapping[str, Any],
    episode: np.ndarray | None = None,
    actions: np.ndarray | None = None,
) -> ExplanationDataset:
    """Query the agent on a batch of observations and record features, probabilities, choices.

    actions: the choices actually executed (e.g. sampled); by default the greedy choice,
    which is what a deployed policy does.
    """
    probs = [np.asarray(p, dtype=np.float64) for p in view.probs(obs)]
    if len(probs) != len(view.knobs):
        raise ValueError(f"agent {view.name!r}: {len(probs)} probability blocks for {len(view.knobs)} knobs")
    chosen = np.stack([p.argmax(axis=1) for p in probs], axis=1) if actions is None else np.asarray(actions)
    n = len(chosen)
    return ExplanationDataset(
        agent=view.name,
        features=view.features,
        knobs=view.knobs,
        obs=dict(obs),
        X=gather(obs, view.features),
        actions=chosen.astype(np.int64),
        probs=probs,
        episode=np.zeros(n, dtype=np.int64) if episode is None else np.asarray(episode, dtype=np.int64),
    )


def one_hot_probs(choices: np.ndarray, knobs: Sequence[Knob]) -> list[np.ndarray]:
    """Probabilities of a deterministic policy: all mass on the chosen choice of each knob."""
    choices = np.asarray(choices, dtype=np.int64)
    return [np.eye(len(k.choices))[choices[:, i]] for i, k in enumerate(knobs)]
