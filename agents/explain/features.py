"""Named observation features and discrete knobs: what an explanation may talk about.

An explanation is only honest if it speaks of what the agent actually saw.
So a `Feature` is not a free-standing column: it points at one element of the
agent's observation (a key path into the observation dict and an index after
the batch axis), carries the name the environment gave it, and knows how the
environment normalised it (`gcp.telemetry` scalings), so a threshold learnt
on the policy's scale can be read back in the units an engineer knows
("p99 latency > 180 ms", not "x[7] > 1.2").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from gcp.telemetry import METRICS, AgentDomain

#: "unit"/"slo"/"log" are the telemetry scalings; "linear" means value × scale;
#: "raw" means the value is shown as observed.
SCALINGS = ("unit", "slo", "log", "linear", "raw")


@dataclass(frozen=True)
class Feature:
    """One scalar the actor observes.

    path: keys into the observation dict, e.g. ("compute", "metrics");
    index: position inside that array after the batch axis, e.g. (0, 3);
    label: plain words ("p99 latency of service web");
    scaling/scale/unit: how the value was normalised (see `gcp.telemetry.normalise`);
    slo_ms: the resource's p99 SLO, needed to read back "slo"-scaled latencies.
    """

    name: str
    path: tuple[str, ...]
    index: tuple[int, ...]
    label: str = ""
    unit: str = ""
    scaling: str = "raw"
    scale: float = 1.0
    slo_ms: float | None = None

    def __post_init__(self) -> None:
        if self.scaling not in SCALINGS:
            raise ValueError(f"feature {self.name!r}: scaling {self.scaling!r} not in {SCALINGS}")

    @property
    def text(self) -> str:
        return self.label or self.name

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"], data["index"] = list(self.path), list(self.index)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Feature:
        return cls(**{**data, "path": tuple(data["path"]), "index": tuple(data["index"])})

    def raw(self, value: float) -> float | None:
        """The observed value in the metric's own unit, or None when it cannot be recovered."""
        if self.scaling == "log":
            return math.expm1(value * math.log1p(self.scale))
        if self.scaling == "slo":
            return None if self.slo_ms is None else value * self.slo_ms
        if self.scaling == "linear":
            return value * self.scale
        return value

    def format(self, value: float) -> str:
        """A threshold in the engineer's units: "180 ms", "0.72", "1.8 × SLO", "3,400 req/s"."""
        raw = self.raw(value)
        if raw is None:  # an slo-scaled latency without a known SLO: say it relative to the SLO
            return f"{value:.2f} × SLO"
        unit = {"1/s": "req/s", "ratio": "", "count": ""}.get(self.unit, self.unit)
        return f"{_number(raw)} {unit}".strip()


def _number(x: float) -> str:
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


@dataclass(frozen=True)
class Knob:
    """One discrete decision of an agent and the words for each of its choices."""

    name: str
    choices: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "choices": list(self.choices)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Knob:
        return cls(name=data["name"], choices=tuple(data["choices"]))


#: Plain words for the `gcp.telemetry` metric names (a name not listed reads with spaces).
METRIC_WORDS = {
    "cpu_utilization": "CPU utilisation",
    "memory_utilization": "memory utilisation",
    "disk_utilization": "disk utilisation",
    "latency_p50_ms": "p50 latency",
    "latency_p95_ms": "p95 latency",
    "latency_p99_ms": "p99 latency",
    "error_rate": "error rate",
    "throughput_rps": "throughput",
    "request_rate_rps": "request rate",
    "egress_gib_per_hour": "egress",
    "connections": "connections",
    "object_count": "object count",
    "stored_gib": "stored data",
    "read_gib_per_hour": "reads",
}


def words(name: str) -> str:
    return METRIC_WORDS.get(name, name.replace("_", " "))


def metric_features(
    domain: AgentDomain,
    rows: Sequence[str],
    path: tuple[str, ...],
    slo_ms: Sequence[float | None] | None = None,
    row_kind: str = "",
) -> list[Feature]:
    """Features for a (rows × metrics) telemetry block laid out as in `gcp.telemetry.METRICS`.

    rows: the resource of each row (service, bucket, instance names) in the env's order.
    The names are `<row>.<metric>`, exactly the telemetry metric names, so nothing is invented.
    """
    out = []
    for r, row in enumerate(rows):
        for j, metric in enumerate(METRICS[domain]):
            out.append(
                Feature(
                    name=f"{row}.{metric.name}",
                    path=path,
                    index=(r, j),
                    label=f"{words(metric.name)} of {row_kind + ' ' if row_kind else ''}{row}",
                    unit=metric.unit,
                    scaling=metric.scaling,
                    scale=metric.scale,
                    slo_ms=None if slo_ms is None else slo_ms[r],
                )
            )
    return out


def _leaf(obs: Mapping[str, Any], path: tuple[str, ...]) -> np.ndarray:
    """The array at `path`, in a nested dict ({"compute": {"metrics": ...}}) or a flat one
    keyed "compute/metrics" (the learner's layout, `agents.env_adapter`)."""
    node: Any = obs
    for depth, key in enumerate(path):
        if key not in node:
            joined = "/".join(path[depth:])
            if joined not in node:
                raise KeyError(f"observation has no {'/'.join(path)!r}")
            return node[joined]
        node = node[key]
    return node


def gather(obs: Mapping[str, Any], features: Sequence[Feature]) -> np.ndarray:
    """(B, len(features)) float matrix of the named features of a batched observation dict."""
    cols = []
    for f in features:
        arr = np.asarray(_leaf(obs, f.path))
        cols.append(arr[(slice(None), *f.index)].astype(np.float64))
    return np.stack(cols, axis=1) if cols else np.zeros((0, 0))


def scatter(obs: Mapping[str, Any], features: Sequence[Feature], values: np.ndarray) -> dict[str, Any]:
    """A copy of the observation with the named features replaced by `values` (B, len(features)).

    Only the arrays that hold a touched feature are copied; the rest (masks,
    pending operations, the graph) are shared, which is what perturbation needs.
    """
    out = _copy_tree(obs, {"/".join(f.path) for f in features})
    for k, f in enumerate(features):
        arr = _leaf(out, f.path)
        arr[(slice(None), *f.index)] = values[:, k].astype(arr.dtype)
    return out


def _copy_tree(obs: Mapping[str, Any], paths: set[str], prefix: str = "") -> dict:
    """Copy the arrays at `paths` ("a/b", nested or flat keys alike); share everything else."""
    out: dict[str, Any] = {}
    for key, value in obs.items():
        here = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out[key] = _copy_tree(value, paths, here + "/")
        elif here in paths:
            out[key] = np.array(value, copy=True)
        else:
            out[key] = value
    return out


def take(obs: Mapping[str, Any], rows: np.ndarray) -> dict[str, Any]:
    """The observation restricted to some batch rows (every array is indexed on axis 0)."""
    return {
        key: take(value, rows) if isinstance(value, Mapping) else np.asarray(value)[rows]
        for key, value in obs.items()
    }


def concat(batches: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Stack observation batches along the batch axis."""
    first = batches[0]
    return {
        key: concat([b[key] for b in batches])
        if isinstance(value, Mapping)
        else np.concatenate([np.asarray(b[key]) for b in batches], axis=0)
        for key, value in first.items()
    }
