"""`marlform train`: train the MADDPG agents on Ray and register the policy.

`marlform train --preset default` is the one documented command that produces
the shipped default policy (docs/agents.md).
"""

from __future__ import annotations

from pathlib import Path

import typer

from marlform.cli.output import console, print_json

ABLATIONS = {
    "no-gnn": {"use_gnn": False},
    "no-central-critic": {"central_critic": False},
    "no-attention": {"use_attention": False},
    "no-per": {"use_per": False},
}


def train(
    preset: str = typer.Option("default", "--preset", help="Named settings: default (the shipped policy) or tiny."),
    scenario: str = typer.Option(None, "--scenario", help="web, batch or ml (default: the preset's, web)."),
    seed: int = typer.Option(None, "--seed", help="Random seed (default: the preset's)."),
    iterations: int = typer.Option(None, "--iterations", min=1, help="Override the number of iterations."),
    rollout_actors: int = typer.Option(None, "--rollout-actors", min=0, help="Ray rollout actors (0 = in-process)."),
    ablation: list[str] = typer.Option(
        [], "--ablation", help=f"Switch a component off (repeatable): {', '.join(ABLATIONS)}."
    ),
    run_dir: Path = typer.Option(None, "--run-dir", help="Run folder (default: runs/<name>-s<seed>)."),
    resume: bool = typer.Option(False, "--resume", help="Continue from the run folder's checkpoint.pt."),
    ray_address: str = typer.Option(
        None, "--ray-address", help="Join a Ray cluster (e.g. ray://head:10001); default: a local ray.init()."
    ),
    name: str = typer.Option(None, "--name", help="Registry model name (default: <scenario>-maddpg)."),
    registry: Path = typer.Option(None, "--registry", help="Registry folder (default: $MARLFORM_REGISTRY or agents/models)."),
    register: bool = typer.Option(True, "--register/--no-register", help="Save the result as a new registry version."),
    promote: bool = typer.Option(False, "--promote", help="Promote the new version (becomes the default policy)."),
    track: bool = typer.Option(True, "--track/--no-track", help="TensorBoard + MLflow logs under the run folder."),
    tune_trials: int = typer.Option(
        0, "--tune", min=0,
        help="Instead of one run, a Ray Tune + Optuna search of N trials over lr, gamma and layer sizes.",
    ),
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Train MADDPG (GNN + attention + transformer encoders) with Ray rollout actors.

    Shows a progress bar with ETA; writes checkpoint.pt after every evaluation, so an
    interrupted run continues with --resume. At the end the actors chosen on validation episodes
    (training-distribution workloads, never the held-out ones: SLO attainment >= 99 % first, then
    the best return) are saved as a new, immutable registry version with its metadata
    (see `marlform models list`).
    """
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from agents.config import ConfigError
    from agents.config import preset as get_preset
    from agents.policy_io import register_result
    from agents.training.trainer import train as run_training

    cfg = get_preset(preset)
    overrides = {k: v for k, v in {"scenario": scenario, "seed": seed, "iterations": iterations,
                                   "rollout_actors": rollout_actors}.items() if v is not None}
    for item in ablation:
        if item not in ABLATIONS:
            raise ConfigError(f"unknown --ablation {item!r}; choose from {', '.join(ABLATIONS)}")
        overrides.update(ABLATIONS[item])
    cfg = cfg.with_overrides(**overrides)
    model_name = name or f"{cfg.scenario}-maddpg" + "".join(f"-{a}" for a in ablation)
    folder = run_dir or Path("runs") / f"{model_name}-s{cfg.seed}"
    if tune_trials:
        _tune(cfg, tune_trials, folder, ray_address, json_output)
        return
    columns = [TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
               TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn()]
    with Progress(*columns, console=console, disable=json_output, transient=False) as bar:
        task = bar.add_task(f"training {model_name}", total=cfg.iterations, info="")

        def progress(done: int, total: int, metrics: dict) -> None:
            info = f"stage {metrics['stage']}"
            if "eval/return" in metrics:
                info += f"  eval return {metrics['eval/return']:.2f}  cost ${metrics.get('eval/cost_usd', 0):.2f}"
            bar.update(task, completed=done, info=info)

        result = run_training(cfg, folder, ray_address=ray_address, resume=resume, progress=progress, track=track)
    summary = {
        "run_dir": str(folder),
        "seconds": round(result.seconds, 1),
        "env_steps": result.env_steps,
        "updates": result.updates,
        "rollbacks": result.rollbacks,
        "first_eval": result.first_eval,
        "last_eval": result.evaluations[-1],
        "selected_eval": result.selected_eval,
    }
    if register:
        item = register_result(result, cfg, model_name, registry=registry, promote=promote)
        summary.update({"model": model_name, "version": item.version, "promoted": promote})
    if json_output:
        print_json(summary)
        return
    chosen = result.selected_eval
    console.print(
        f"trained in {result.seconds / 60:.1f} min: {result.env_steps} env steps, {result.updates} updates, "
        f"{result.rollbacks} rollbacks; "
        f"held-out return {result.first_eval['return']:.2f} → {result.evaluations[-1]['return']:.2f} (last); "
        f"kept iteration {chosen['iteration']:.0f} (validation return {chosen['validation_return']:.2f}): "
        f"held-out return {chosen['return']:.2f}, cost ${chosen.get('cost_usd', float('nan')):.2f}, "
        f"SLO {chosen.get('slo_attainment', float('nan')):.2%}"
    )
    if register:
        console.print(f"registered [bold]{model_name} {summary['version']}[/]" + (" (promoted)" if promote else ""))


def _tune(cfg, trials: int, folder: Path, ray_address: str | None, json_output: bool) -> None:
    """Run the search and print the trials, best first (nothing is registered)."""
    from rich.table import Table

    from agents.training.tune import tune_search

    rows = tune_search(cfg, trials, folder / "tune", seed=cfg.seed, ray_address=ray_address)
    if json_output:
        print_json({"trials": rows})
        return
    table = Table(title=f"Tune + Optuna: {trials} trials, best validation return first")
    for col in ("lr", "gamma", "hidden", "embed", "validation return", "held-out return", "held-out cost $"):
        table.add_column(col)
    for r in rows:
        table.add_row(f"{r['lr']:.2e}", f"{r['gamma']:.3f}", str(r["hidden"]), str(r["embed"]),
                      f"{r['validation_return']:.2f}", f"{r['eval_return']:.2f}", f"{r['eval_cost_usd']:.2f}")
    console.print(table)
