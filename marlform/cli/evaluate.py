"""`marlform evaluate`: trained policies against the rule baselines on held-out workloads."""

from __future__ import annotations

from pathlib import Path

import typer

from marlform.cli.output import console, fail, print_json


def evaluate(
    quick: bool = typer.Option(False, "--quick", help="The quick held-out comparison (minutes, not hours)."),
    scenario: str = typer.Option("web", "--scenario", help="web, batch or ml."),
    model: list[str] = typer.Option(
        None, "--model",
        help="Registry model NAME or NAME:VERSION (repeat for several training seeds; they are pooled). "
             "Default: <scenario>-maddpg, promoted version.",
    ),
    episodes: int = typer.Option(8, "--episodes", min=2, help="Held-out episodes per policy (and per model)."),
    seed: int = typer.Option(0, "--seed", help="Simulator and bootstrap seed."),
    registry: Path = typer.Option(None, "--registry", help="Registry folder (default: $MARLFORM_REGISTRY or agents/models)."),
    suite: str = typer.Option(
        None, "--suite",
        help="Run an evaluation suite instead: quick (minutes, CI) or thesis (hours). Writes the results "
             "CSVs, figures and report.md/.html into --out (docs/evaluation.md).",
    ),
    out: Path = typer.Option(None, "--out", help="Results folder of --suite (default: results/<suite>)."),
    workers: int = typer.Option(2, "--workers", min=0, help="Ray CPUs for --suite (0 = in this process)."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON for scripts instead of a table."),
) -> None:
    """MADDPG vs the HPA, MIG-autoscaler and static-expert rules on workloads training never saw.

    Every policy runs the same held-out episodes (the second half of the trace's replay
    series); the table gives mean cost, SLO attainment, reliability and carbon with 95 %
    bootstrap CIs, and the paired MADDPG − HPA cost difference with its CI.
    """
    if suite:
        from marlform.cli.ab import run_suite_command

        run_suite_command(suite, out, workers, registry, json_output)
        return
    if not quick:
        fail("choose an evaluation: --quick or --suite quick|thesis")
    from agents.baselines.rules import RULES
    from agents.evaluate import compare, held_out_core
    from agents.maddpg_policy import MADDPGPolicy
    from agents.sim_env import layout_of

    expect = layout_of(held_out_core(scenario, 1)).to_dict()
    learned = []
    for ref in model or [f"{scenario}-maddpg"]:
        name, _, version = ref.partition(":")
        learned.append(MADDPGPolicy.from_registry(name, version or None, registry=registry, expect_layout=expect))
    policies = {"maddpg": learned, **{n: [cls()] for n, cls in RULES.items()}}
    report = compare(policies, scenario, episodes=episodes, seed=seed)
    report["models"] = [p.version for p in learned]
    if json_output:
        print_json(report)
        return
    _print(report)


def _print(report: dict) -> None:
    from rich.table import Table

    from agents.evaluate import METRICS

    table = Table(title=f"{report['scenario']}: {report['workload']}, "
                        f"{report['episodes_per_policy_instance']} episodes x {report['steps_per_episode']} steps "
                        "(mean [95 % CI])")
    table.add_column("policy")
    for _, label in METRICS:
        table.add_column(label, justify="right")
    for name, summary in report["policies"].items():
        cells = []
        for key, _ in METRICS:
            s = summary[key]
            fmt = "{:.2%}" if key in ("slo_attainment", "reliability") else "{:.3f}"
            cells.append(f"{fmt.format(s['mean'])} [{fmt.format(s['lo'])}, {fmt.format(s['hi'])}]")
        table.add_row(name, *cells)
    console.print(table)
    versus = report.get("vs_hpa", {}).get("maddpg")
    if versus:
        console.print(
            f"MADDPG − HPA cost: {versus['cost_diff_usd']:+.3f} $ [{versus['cost_diff_lo']:+.3f}, "
            f"{versus['cost_diff_hi']:+.3f}] ({versus['cost_change_pct']:+.1f} %); CI excludes zero: "
            f"{'yes' if versus['ci_excludes_zero'] else 'no'}; SLO not below HPA: "
            f"{'yes' if versus['slo_not_lower'] else 'no'}. Models: {', '.join(report['models'])}"
        )
