"""The suite report: every table and figure, in Markdown and HTML, beside the CSV results.

Why one function builds both: the Markdown (diffable, committed) and the HTML
(for reading) come from the same `Document`, so they always agree.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from evaluation import aggregate, figures
from evaluation.document import Code, Document, Heading, Image, Paragraph, Table
from evaluation.results import SuiteResults
from evaluation.schema import (
    COST_DOMAINS,
    HEADLINE_METRICS,
    METRICS,
    NO_PERTURBATION,
    reward_terms,
)
from gcp.files import atomic_write_text

if TYPE_CHECKING:
    import pandas as pd

#: Tolerance of the lower-bound check: the oracle's LP is solved to HiGHS's default gap.
ORACLE_TOLERANCE = 1e-6
SUMMARY_METRICS = (
    "cost_ratio", "cost_total", "slo_attainment", "p99_latency_ms", "availability", "carbon_kg",
    "violations", "actions_per_hour", "reward_total",
)


def _fmt(metric: str, value: float) -> str:
    if value is None or not np.isfinite(value):
        return "–"
    fmt = METRICS[metric].fmt if metric in METRICS else "{:.3g}"
    return fmt.format(value)


def _ci(row: pd.Series, metric: str) -> str:
    mean, lo, hi = row.get(metric), row.get(f"{metric}_lo"), row.get(f"{metric}_hi")
    if mean is None or not np.isfinite(mean):
        return "–"
    if lo is None or not np.isfinite(lo) or lo == hi:
        return _fmt(metric, mean)
    return f"{_fmt(metric, mean)} [{_fmt(metric, lo)}, {_fmt(metric, hi)}]"


def _header(metric: str) -> str:
    info = METRICS.get(metric)
    arrow = {"lower": " ↓", "higher": " ↑"}.get(info.direction, "") if info else ""
    return (info.label if info else metric.removeprefix("reward_")) + arrow


def build_report(results: SuiteResults, folder: str | Path) -> dict[str, Path]:
    """Write figures/*.png, report.md and report.html into `folder`; return their paths."""
    folder = Path(folder)
    results.validate()
    eps = results.episodes
    base = eps[eps["perturbation"] == NO_PERTURBATION]
    perturbed = eps[eps["perturbation"] != NO_PERTURBATION]
    if base.empty:
        base = eps
    policy_summary = aggregate.summarise(base, ["policy"], SUMMARY_METRICS)
    scenario_summary = aggregate.summarise(base, ["policy", "scenario"], ("cost_ratio", "slo_attainment"))
    doc = Document(f"marlform evaluation: {results.suite} suite")
    doc.add(Paragraph(_overview(results, base, perturbed)))
    figs: dict[str, Path] = {}

    def figure(name: str, fig, caption: str) -> None:
        path = figures.save(fig, folder / "figures" / f"{name}.png")
        figs[name] = path
        doc.add(Image(f"figures/{name}.png", caption))

    doc.add(Heading("Headline results"))
    doc.add(Paragraph(
        "Unperturbed episodes, all scenarios and patterns pooled; mean and 95 % BCa bootstrap CI "
        "over episodes (seeds). Cost ratio is the episode's cost over the perfect-foresight oracle's "
        "cost on the same episode (demand, prices and delays): 1.0 is the lower bound."
    ))
    doc.add(Table(["policy", *(_header(m) for m in SUMMARY_METRICS)],
                  [[r["policy"], *(_ci(r, m) for m in SUMMARY_METRICS)]
                   for _, r in policy_summary.iterrows()]))
    doc.add(Paragraph(_oracle_check(base)))
    doc.add(Heading("Cost by domain", 3))
    domains = base.groupby("policy")[[f"cost_{d}" for d in COST_DOMAINS]].mean()
    doc.add(Table(["policy", *(f"{d} (USD)" for d in COST_DOMAINS)],
                  [[p, *(f"{v:.2f}" for v in row)] for p, row in domains.iterrows()]))
    doc.add(Heading("Per scenario"))
    doc.add(Table(["policy", "scenario", "cost / oracle ↓", "SLO attainment ↑", "n"],
                  [[r["policy"], r["scenario"], _ci(r, "cost_ratio"), _ci(r, "slo_attainment"),
                    str(int(r["n"]))] for _, r in scenario_summary.iterrows()]))
    figure("cost_slo_tradeoff", figures.cost_slo_tradeoff(scenario_summary), "Cost–SLO trade-off")
    figure("scenario_cost_ratio", figures.scenario_bars(scenario_summary, "cost_ratio"),
           "Cost over the oracle per scenario, 95 % CI")
    figure("scenario_slo", figures.scenario_bars(scenario_summary, "slo_attainment"),
           "SLO attainment per scenario, 95 % CI")
    doc.add(Heading("Per workload pattern", 3))
    pattern = base.pivot_table(index=["scenario", "pattern"], columns="policy", values="cost_ratio",
                               aggfunc="mean")
    doc.add(Table(["scenario", "pattern", *pattern.columns],
                  [[s, p, *(f"{v:.3f}" for v in row)] for (s, p), row in pattern.iterrows()],
                  caption="mean cost / oracle"))
    _significance(doc, results, base)
    _perturbations(doc, results, perturbed, figure)
    doc.add(Heading("Reward decomposition"))
    terms = reward_terms(base)
    if terms:
        means = base.groupby("policy")[[*terms, "reward_total"]].mean()
        doc.add(Table(["policy", *(t.removeprefix("reward_") for t in terms), "total"],
                      [[p, *(f"{v:.2f}" for v in row)] for p, row in means.iterrows()]))
        figure("reward_decomposition", figures.reward_decomposition(base),
               "Reward decomposition per policy")
    doc.add(Heading("Learning"))
    if not results.training.empty:
        last = results.training.sort_values("env_steps").groupby("policy").tail(1)
        doc.add(Table(["policy", "iterations", "env steps", "final reward", "final SLO attainment"],
                      [[r["policy"], str(int(r["iteration"])), f"{int(r['env_steps']):,}",
                        f"{r['reward']:.2f}", f"{r['slo_attainment']:.3f}"] for _, r in last.iterrows()]))
        figure("training_curves", figures.training_curves(results.training),
               "Policy evolution during training")
        doc.add(Paragraph("MADDPG's reward is its greedy evaluation return on held-out episodes; "
                          "the RLlib baselines' is their mean training-episode return, so the two "
                          "scales are not comparable."))
    else:
        doc.add(Paragraph("No training log was recorded for this run."))
    no_curve = {k: v["training_curve"] for k, v in results.record.get("policies", {}).items()
                if isinstance(v, dict) and "training_curve" in v}
    if no_curve:
        doc.add(Paragraph("Without a curve: " + "; ".join(f"{k}: {why}" for k, why in no_curve.items())
                          + "."))
    if not results.boundaries.empty:
        figure("decision_boundaries", figures.decision_boundaries(results.boundaries),
               f"Decision boundaries of {results.reference}")
    _reproducibility(doc, results)
    md, html = folder / "report.md", folder / "report.html"
    atomic_write_text(md, doc.to_markdown())
    atomic_write_text(html, doc.to_html())
    return {"markdown": md, "html": html, **figs}


def _overview(results: SuiteResults, base: pd.DataFrame, perturbed: pd.DataFrame) -> str:
    eps = results.episodes
    seeds = sorted(eps["seed"].unique())
    return (
        f"**{len(eps)} episodes**: {eps['policy'].nunique()} policies "
        f"({', '.join(sorted(eps['policy'].unique()))}) × scenarios "
        f"{', '.join(sorted(eps['scenario'].unique()))} × patterns "
        f"{', '.join(sorted(eps['pattern'].unique()))} × {len(seeds)} seeds "
        f"({', '.join(map(str, seeds))}); {len(base)} unperturbed and {len(perturbed)} perturbed. "
        f"Reference policy for the tests: `{results.reference}`."
    )


def _oracle_check(base: pd.DataFrame) -> str:
    """The lower-bound property, checked on every episode of the run.

    The full oracle bounds episodes that met every SLO; the matched oracle
    (`oracle_bound`, the cheapest way to meet at least as many service-steps)
    bounds every episode, whatever its SLO attainment.
    """
    floor = 1.0 - ORACLE_TOLERANCE
    matched = base["cost_total"] / base["oracle_bound"]
    full = base[base["slo_attainment"] >= 1.0]
    full_ratio = full["cost_ratio"].min() if not full.empty else np.nan
    worst = base.loc[matched.idxmin()]
    ok = matched.min() >= floor and (full.empty or full_ratio >= floor)
    return (
        f"Lower-bound check over {len(base)} episodes: the smallest cost over the matched oracle "
        f"(same SLO attainment) is **{matched.min():.4f}** ({worst['policy']}, "
        f"{worst['scenario']}/{worst['pattern']}, seed {worst['seed']}), and over the full oracle, among "
        f"the {len(full)} episodes that met every SLO, **{full_ratio:.4f}**; "
        + ("no policy beat the oracle." if ok else "CHECK FAILED: a policy beat the oracle.")
    )


def _significance(doc: Document, results: SuiteResults, base: pd.DataFrame) -> None:
    doc.add(Heading("Significance against the reference"))
    table = aggregate.significance(base, results.reference, HEADLINE_METRICS)
    if table.empty:
        doc.add(Paragraph("Too few seeds for tests (at least two per policy are needed)."))
        return
    doc.add(Paragraph(
        f"Each policy against `{results.reference}` on every headline metric; Welch's t-test, "
        f"Holm–Bonferroni over all {len(table)} comparisons (α = 0.05); effect sizes Hedges' g and "
        "Cliff's delta (magnitude after Romano et al.). 'better' and 'worse' are the policy's "
        "standing relative to the reference."
    ))
    doc.add(Table(
        ["policy", "metric", "reference mean", "policy mean", "p", "p (Holm)", "Hedges g",
         "Cliff's δ", "verdict"],
        [[r["policy"], r["metric"], _fmt(r["metric"], r["mean_reference"]),
          _fmt(r["metric"], r["mean_policy"]), f"{r['pvalue']:.2g}", f"{r['pvalue_holm']:.2g}",
          f"{r['hedges_g']:.2f}", f"{r['cliffs_delta']:.2f} ({r['magnitude']})", r["verdict"]]
         for _, r in table.iterrows()],
    ))
    lines = []
    for verdict, word in (("worse", "beats"), ("better", "loses to")):
        hits = table[table["verdict"] == verdict]
        for metric, rows in hits.groupby("metric"):
            lines.append(f"{results.reference} {word} {', '.join(sorted(rows['policy']))} on {metric}")
    doc.add(Paragraph(("Where the reference wins and where it does not: " + "; ".join(lines) + ".")
                      if lines else "No difference survives the correction."))


def _perturbations(doc: Document, results: SuiteResults, perturbed: pd.DataFrame, figure) -> None:
    doc.add(Heading("Perturbations"))
    if perturbed.empty:
        doc.add(Paragraph("This suite ran no perturbation studies."))
        return
    doc.add(Paragraph(
        "Time to recover: minutes from the perturbation's onset until every service meets its SLO "
        "again for three consecutive steps (censored at the episode's end). SLO lost: service-steps "
        "below SLO from the onset on, minus those of the same policy and seed without the "
        "perturbation."
    ))
    summary = aggregate.summarise(perturbed, ["perturbation", "policy"], ("recovery_min", "slo_lost"))
    doc.add(Table(["perturbation", "policy", "time to recover (min) ↓", "SLO lost ↓", "n"],
                  [[r["perturbation"], r["policy"], _ci(r, "recovery_min"), _ci(r, "slo_lost"),
                    str(int(r["n"]))] for _, r in summary.iterrows()]))
    if not results.timelines.empty:
        figure("perturbation_timelines", figures.perturbation_timelines(results.timelines),
               "Perturbation timelines")


def _reproducibility(doc: Document, results: SuiteResults) -> None:
    rec = results.record
    doc.add(Heading("Reproducibility"))
    if rec.get("command"):
        doc.add(Paragraph("Command:"), Code(rec["command"]))
    rows = [["git commit", str(rec.get("git_commit"))], ["created", str(rec.get("created_at"))],
            ["python", str(rec.get("python"))], ["platform", str(rec.get("platform"))],
            ["seeds", ", ".join(map(str, rec.get("seeds", [])))], ["wall time (s)", str(rec.get("wall_s"))]]
    rows += [[name, str(version)] for name, version in rec.get("packages", {}).items()]
    doc.add(Table(["item", "value"], rows))
    manifest = rec.get("data_manifest", [])
    if manifest:
        doc.add(Table(["data file", "bytes", "sha256"],
                      [[m["path"], str(m["bytes"]), m["sha256"][:16] + "…"] for m in manifest],
                      caption="data manifest"))
    if rec.get("policies"):
        doc.add(Paragraph("Policies and configuration:"),
                Code(json.dumps({"policies": rec["policies"], "config": rec.get("config", {})},
                                indent=2, sort_keys=True, default=str)))
