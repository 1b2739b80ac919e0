"""`marlform ab A B`, and the rendering of `marlform evaluate --suite` (both evaluation outputs)."""

from __future__ import annotations

from pathlib import Path

import typer

from marlform.cli.output import console, print_json


def ab(
    a: str = typer.Argument(..., help="Configuration A (the incumbent): a policy name such as maddpg, "
                                       "maddpg@v0001, maddpg-no_gnn, hpa, mig or static."),
    b: str = typer.Argument(..., help="Configuration B (the challenger), same forms as A."),
    scenario: list[str] = typer.Option(["web"], "--scenario", help="Scenario(s): web, batch, ml (repeat)."),
    pattern: list[str] = typer.Option(["steady", "burst"], "--pattern",
                                      help="Workload pattern(s): steady, burst, cyclical, replay (repeat)."),
    seeds: int = typer.Option(5, "--seeds", min=2, help="Episodes per scenario and pattern (seeds)."),
    steps: int = typer.Option(48, "--steps", min=4, help="Steps of 5 minutes per episode."),
    test: str = typer.Option("welch", "--test", help="welch (Welch's t-test) or mannwhitney (Mann–Whitney U)."),
    alpha: float = typer.Option(0.05, "--alpha", min=0.001, max=0.5, help="Family-wise error rate (Holm)."),
    registry: Path = typer.Option(None, "--registry", help="Registry folder (default: $MARLFORM_REGISTRY or agents/models)."),
    workers: int = typer.Option(0, "--workers", min=0, help="Ray CPUs (0 = run in this process)."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON for scripts instead of a table."),
) -> None:
    """Compare two agent configurations on identical episodes and give a clear verdict.

    Both run the same seeds of the same scenarios and patterns. Per metric: means, the
    95 % bootstrap CI of B − A, the test's p-value Holm-corrected across the metrics, Hedges' g
    and Cliff's delta. B wins if it is significantly better somewhere and worse nowhere.
    """
    from evaluation.ab import run_ab
    from marlform.cli.output import fail

    if test not in ("welch", "mannwhitney"):
        fail(f"--test must be welch or mannwhitney, not {test!r}")
    result = run_ab(a, b, scenarios=tuple(scenario), patterns=tuple(pattern), seeds=seeds, steps=steps,
                    test=test, alpha=alpha, registry=str(registry) if registry else None, workers=workers)
    if json_output:
        print_json(result)
        return
    from rich.table import Table

    table = Table(title=f"A = {a}  vs  B = {b}: {result['episodes_per_policy']} episodes each "
                        f"({test}, Holm, α = {alpha})")
    for column in ("metric", "better", "A mean", "B mean", "B − A [95 % CI]", "p (Holm)", "Hedges g",
                   "Cliff's δ", "winner"):
        table.add_column(column, justify="left" if column in ("metric", "better", "winner") else "right")
    for c in result["comparisons"]:
        d = c["diff"]
        table.add_row(c["metric"], c["direction"], f"{c['mean_a']:.4g}", f"{c['mean_b']:.4g}",
                      f"{d['estimate']:+.4g} [{d['low']:+.4g}, {d['high']:+.4g}]", f"{c['pvalue_holm']:.3g}",
                      f"{c['hedges_g']:+.2f}", f"{c['cliffs_delta']:+.2f} ({c['magnitude']})", c["better"])
    console.print(table)
    colour = {"A": "yellow", "B": "green", "mixed": "yellow", "none": "white"}[result["verdict"]["winner"]]
    console.print(f"[bold {colour}]verdict:[/] {result['verdict']['text']}")


def run_suite_command(suite: str, out: Path | None, workers: int, registry: Path | None,
                      json_output: bool) -> None:
    """`marlform evaluate --suite`: run it, write the results folder, print where and the headline."""
    from evaluation.suites import run

    folder = out or Path("results") / suite
    results = run(suite, folder, workers=workers, registry=str(registry) if registry else None)
    episodes = results.episodes
    base = episodes[episodes["perturbation"] == "none"]
    headline = base.groupby("policy")[["cost_ratio", "slo_attainment", "availability", "reward_total"]].mean()
    summary = {"suite": suite, "out": str(folder), "episodes": len(episodes),
               "report": str(folder / "report.md"), "html": str(folder / "report.html"),
               "headline": headline.reset_index().to_dict(orient="records")}
    if json_output:
        print_json(summary)
        return
    from rich.table import Table

    table = Table(title=f"{suite} suite: {len(episodes)} episodes (unperturbed means)")
    for column in ("policy", "cost / oracle", "SLO attainment", "availability", "reward"):
        table.add_column(column, justify="left" if column == "policy" else "right")
    for policy, row in headline.iterrows():
        table.add_row(policy, f"{row['cost_ratio']:.3f}", f"{row['slo_attainment']:.3f}",
                      f"{row['availability']:.4f}", f"{row['reward_total']:.2f}")
    console.print(table)
    console.print(f"report: {folder / 'report.md'} and {folder / 'report.html'}")
