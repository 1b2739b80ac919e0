"""From episode rows to the tables of a report: means with bootstrap CIs, tests against a reference.

Why here and not in the report writer: the figures, the report and the A/B
command all need the same aggregates, computed once the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from evaluation import stats
from evaluation.schema import EvaluationError, directions

if TYPE_CHECKING:
    import pandas as pd


def summarise(
    episodes: pd.DataFrame, by: Sequence[str], metrics: Sequence[str], seed: int = 0
) -> pd.DataFrame:
    """One row per group: for each metric its mean, 95 % bootstrap CI (`_lo`, `_hi`) and n.

    Seeds are the unit of replication: a group's values are its episodes.
    """
    import pandas as pd

    rows = []
    for key, group in episodes.groupby(list(by), sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(by, key, strict=True))
        row["n"] = len(group)
        for m in metrics:
            values = group[m].to_numpy(dtype=np.float64)
            values = values[np.isfinite(values)]
            if values.size == 0:
                row[m], row[f"{m}_lo"], row[f"{m}_hi"] = np.nan, np.nan, np.nan
                continue
            ci = stats.bootstrap_ci(values, n_resamples=4_000, seed=seed)
            row[m], row[f"{m}_lo"], row[f"{m}_hi"] = ci.estimate, ci.low, ci.high
        rows.append(row)
    return pd.DataFrame(rows)


def significance(
    episodes: pd.DataFrame,
    reference: str,
    metrics: Sequence[str],
    test: stats.TestName = "welch",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Every other policy against `reference`, per metric, Holm-corrected over the whole family.

    The family is every (policy, metric) pair of the table: a reviewer's
    question is "which of these differences are real", asked all at once.
    """
    import pandas as pd

    policies = sorted(p for p in episodes["policy"].unique() if p != reference)
    if reference not in set(episodes["policy"]):
        raise EvaluationError(f"reference policy {reference!r} has no episodes")
    dirs = directions(metrics)
    ref = episodes[episodes["policy"] == reference]
    rows = []
    for policy in policies:
        other = episodes[episodes["policy"] == policy]
        for m, direction in dirs.items():
            a, b = _finite(ref[m]), _finite(other[m])
            if a.size < 2 or b.size < 2:
                continue
            t = stats.welch_t(a, b) if test == "welch" else stats.mann_whitney(a, b)
            rows.append({
                "policy": policy, "metric": m, "direction": direction, "reference": reference,
                "mean_reference": a.mean(), "mean_policy": b.mean(), "pvalue": t.pvalue,
                "hedges_g": stats.cohens_d(a, b), "cliffs_delta": stats.cliffs_delta(a, b),
                "_improvement": (1.0 if direction == "higher" else -1.0) * (b.mean() - a.mean()),
            })
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table["pvalue_holm"] = stats.holm_bonferroni(table["pvalue"].to_numpy())
    significant = table["pvalue_holm"] <= alpha
    table["verdict"] = np.where(
        ~significant, "no difference", np.where(table["_improvement"] > 0, "better", "worse")
    )
    table["magnitude"] = [stats.magnitude(d) for d in table["cliffs_delta"]]
    return table.drop(columns="_improvement")


def _finite(series: pd.Series) -> np.ndarray:
    values = series.to_numpy(dtype=np.float64)
    return values[np.isfinite(values)]
