"""A synthetic agent with known rules, so tests can check what the proxies must find.

The agent is a soft threshold function (probabilities from logistic margins,
like a trained actor's softmax), over an observation laid out like the
simulator's: a compute telemetry block (services × `gcp.telemetry` metrics)
and own-resource features.
"""

from __future__ import annotations

import numpy as np

from agents.explain.dataset import AgentView
from agents.explain.features import Feature, Knob, metric_features

SERVICES = ("web", "api")
SLO_MS = (200.0, 300.0)
KNOBS = (Knob("replicas", ("-1", "hold", "+1")), Knob("spot", ("off", "on")))


def features() -> tuple[Feature, ...]:
    metrics = metric_features("compute", SERVICES, ("compute", "metrics"), SLO_MS, "service")
    own = [
        Feature("cost_rate", ("compute", "own"), (0,), "cost rate", "USD/h", "raw"),
        Feature("quota_headroom", ("compute", "own"), (1,), "CPU quota headroom", "ratio", "unit"),
    ]
    return (*metrics, *own)


def observations(n: int, seed: int = 0, episodes: int = 20) -> tuple[dict, np.ndarray]:
    rng = np.random.default_rng(seed)
    metrics = rng.uniform(0, 1, size=(n, len(SERVICES), 6))
    metrics[:, :, 1:4] *= 2.5  # latencies in units of the SLO
    own = rng.uniform(0, 1, size=(n, 2))
    mask = np.ones((n, 5), dtype=bool)
    return {"compute": {"metrics": metrics, "own": own, "mask": mask}}, np.arange(n) % episodes


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def true_probs(obs: dict, sharpness: float = 40.0) -> list[np.ndarray]:
    """replicas: +1 when web p99 > 1.2 × SLO and web CPU > 0.7; -1 when web CPU < 0.3; spot: cost > 0.5."""
    m, own = obs["compute"]["metrics"], obs["compute"]["own"]
    cpu, p99 = m[:, 0, 0], m[:, 0, 3]
    up = _sigmoid(sharpness * (p99 - 1.2)) * _sigmoid(sharpness * (cpu - 0.7))
    down = _sigmoid(sharpness * (0.3 - cpu)) * (1 - up)
    hold = np.clip(1 - up - down, 0, 1)
    replicas = np.stack([down, hold, up], axis=1)
    spot_on = _sigmoid(sharpness * (own[:, 0] - 0.5))
    spot = np.stack([1 - spot_on, spot_on], axis=1)
    return [replicas / replicas.sum(1, keepdims=True), spot]


def view(probs=true_probs) -> AgentView:
    return AgentView(name="compute", features=features(), knobs=KNOBS, probs=probs)
