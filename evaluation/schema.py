"""The results schema: what one evaluated episode reports, and how each metric reads.

Why one schema: the runner writes these tables, the statistics, figures and
report read them, and a results folder committed today must still load next
year. Every table is a plain pandas DataFrame (written as CSV) so that a
reviewer can open it without marlform.

Tables of a suite run:
- `episodes`: one row per (policy, scenario, pattern, perturbation, seed);
  the key columns, every metric of `METRICS`, and `reward_<term>` columns for
  the reward decomposition (the terms are the simulator's).
- `timelines`: one row per step of the perturbation episodes (`TIMELINE_COLUMNS`).
- `training`: one row per logged training iteration (`TRAINING_COLUMNS`).
- `boundaries`: the decision of one agent over a grid of two observation
  features (`BOUNDARY_COLUMNS`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from gcp.errors import MarlformError

if TYPE_CHECKING:
    import pandas as pd

SCHEMA_VERSION = 1
KEYS: tuple[str, ...] = ("policy", "scenario", "pattern", "perturbation", "seed")
#: The perturbation value of an unperturbed episode.
NO_PERTURBATION = "none"
REWARD_PREFIX = "reward_"


class EvaluationError(MarlformError):
    """A suite, results table or policy name that cannot be evaluated; the message says why."""


@dataclass(frozen=True)
class MetricInfo:
    label: str
    unit: str
    #: Which way is better; "neutral" metrics are reported but never called a win.
    direction: Literal["lower", "higher", "neutral"]
    fmt: str = "{:.3g}"


METRICS: dict[str, MetricInfo] = {
    "cost_total": MetricInfo("cost", "USD/episode", "lower", "{:.2f}"),
    "cost_compute": MetricInfo("compute cost", "USD/episode", "lower", "{:.2f}"),
    "cost_storage": MetricInfo("storage cost", "USD/episode", "lower", "{:.2f}"),
    "cost_network": MetricInfo("network cost", "USD/episode", "lower", "{:.2f}"),
    "cost_database": MetricInfo("database cost", "USD/episode", "lower", "{:.2f}"),
    "oracle_cost": MetricInfo("oracle cost", "USD/episode", "neutral", "{:.2f}"),
    #: The matched oracle: a lower bound at the episode's own SLO attainment (docs/evaluation.md).
    "oracle_bound": MetricInfo("oracle bound at own SLO", "USD/episode", "neutral", "{:.2f}"),
    "cost_ratio": MetricInfo("cost / oracle", "ratio", "lower", "{:.3f}"),
    "slo_attainment": MetricInfo("SLO attainment", "share of service-steps", "higher", "{:.3f}"),
    "p99_latency_ms": MetricInfo("p99 latency", "ms", "lower", "{:.0f}"),
    "availability": MetricInfo("availability", "share of requests served", "higher", "{:.4f}"),
    "carbon_kg": MetricInfo("carbon", "kg CO2e/episode", "lower", "{:.3f}"),
    "violations": MetricInfo("constraint violations", "count/episode", "lower", "{:.1f}"),
    "actions_per_hour": MetricInfo("actions per hour", "1/h", "neutral", "{:.2f}"),
    "reward_total": MetricInfo("reward", "sum over episode", "higher", "{:.2f}"),
    "recovery_min": MetricInfo("time to recover", "min", "lower", "{:.0f}"),
    "slo_lost": MetricInfo("SLO lost", "service-steps below SLO", "lower", "{:.1f}"),
}
#: Metrics every episode row carries (the perturbation metrics are NaN without a perturbation).
REQUIRED_METRICS: tuple[str, ...] = tuple(m for m in METRICS if m not in ("recovery_min", "slo_lost"))
#: The A/B comparison and the significance tables use these metrics.
HEADLINE_METRICS: tuple[str, ...] = (
    "cost_ratio", "slo_attainment", "p99_latency_ms", "availability", "carbon_kg", "violations",
)
COST_DOMAINS: tuple[str, ...] = ("compute", "storage", "network", "database")

TIMELINE_COLUMNS: tuple[str, ...] = (
    *KEYS, "step", "minute", "demand", "capacity", "cost_rate", "slo_met", "p99_ratio", "active",
)
TRAINING_COLUMNS: tuple[str, ...] = ("policy", "iteration", "env_steps", "reward", "cost", "slo_attainment")
BOUNDARY_COLUMNS: tuple[str, ...] = ("agent", "feature_x", "feature_y", "x", "y", "action")


def reward_terms(frame: pd.DataFrame) -> list[str]:
    """The reward-decomposition columns of a table (without the total), in table order."""
    return [c for c in frame.columns if c.startswith(REWARD_PREFIX) and c != "reward_total"]


def directions(metrics: Iterable[str]) -> dict[str, Literal["lower", "higher"]]:
    """Which way is better for each comparable metric (neutral ones are left out)."""
    out: dict[str, Literal["lower", "higher"]] = {}
    for m in metrics:
        info = METRICS.get(m)
        if info is None and m.startswith(REWARD_PREFIX):
            out[m] = "higher"
        elif info is not None and info.direction != "neutral":
            out[m] = info.direction  # type: ignore[assignment]
    return out


def check_columns(frame: pd.DataFrame, required: Iterable[str], table: str) -> None:
    """Refuse a table that lacks columns, naming the table and every missing column."""
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise EvaluationError(f"{table} table lacks column(s): {', '.join(missing)}")


def check_episodes(frame: pd.DataFrame) -> None:
    """An episodes table: keys, required metrics, at least one row, one row per key."""
    check_columns(frame, (*KEYS, *REQUIRED_METRICS), "episodes")
    if frame.empty:
        raise EvaluationError("episodes table is empty")
    duplicated = frame.duplicated(list(KEYS))
    if duplicated.any():
        first = frame.loc[duplicated, list(KEYS)].iloc[0].to_dict()
        raise EvaluationError(f"episodes table has duplicate episodes, e.g. {first}")
