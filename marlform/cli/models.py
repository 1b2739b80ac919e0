"""`marlform models`: list, promote and roll back trained policies in the model registry."""

from __future__ import annotations

from pathlib import Path

import typer

from marlform.cli.output import console, print_json

app = typer.Typer(no_args_is_help=True)

JsonFlag = typer.Option(False, "--json", help="Print JSON for scripts instead of a table.")
RegistryOpt = typer.Option(
    None,
    "--registry",
    help="Registry folder (default: $MARLFORM_REGISTRY, else the models shipped in agents/models).",
)


@app.command("list")
def list_models(
    name: str = typer.Argument(None, help="Only this model's versions."),
    registry: Path = RegistryOpt,
    json_output: bool = JsonFlag,
) -> None:
    """Every version with its creation time, simulator version, git commit and headline metrics.

    The promoted version (the one `marlform plan` and `evaluate` load) is marked with *.
    """
    from rich.table import Table

    from agents.registry import ModelRegistry

    reg = ModelRegistry(registry)
    names = [name] if name else reg.names()
    rows = [v.summary(reg.promoted(n)) for n in names for v in reg.versions(n)]
    if json_output:
        print_json({"registry": str(reg.root), "models": rows})
        return
    if not rows:
        console.print(f"no models in {reg.root}")
        return
    table = Table(title=f"models in {reg.root}")
    for col in ("name", "version", "created", "simulator", "commit", "eval cost $", "eval SLO", "size"):
        table.add_column(col)
    for row in rows:
        metrics = row["metrics"]
        table.add_row(
            row["name"],
            ("* " if row["promoted"] else "  ") + row["version"],
            str(row["created_at"]),
            str(row["simulator_version"]),
            (row["git_commit"] or "-")[:10],
            _fmt(metrics.get("eval_cost_usd"), "{:.2f}"),
            _fmt(metrics.get("eval_slo_attainment"), "{:.2%}"),
            f"{(row['size_bytes'] or 0) / 1024:.0f} KiB",
        )
    console.print(table)


@app.command()
def promote(
    name: str = typer.Argument(..., help="Model name, e.g. web-maddpg."),
    version: str = typer.Argument(..., help="Version to promote, e.g. v0003."),
    registry: Path = RegistryOpt,
    json_output: bool = JsonFlag,
) -> None:
    """Make VERSION the version that is loaded by default; its checksum is verified first."""
    from agents.registry import ModelRegistry, load_verified

    reg = ModelRegistry(registry)
    load_verified(reg.get(name, version))
    reg.promote(name, version)
    _report(json_output, name, version, "promoted")


@app.command()
def rollback(
    name: str = typer.Argument(..., help="Model name."),
    registry: Path = RegistryOpt,
    json_output: bool = JsonFlag,
) -> None:
    """Return to the version that was promoted before the current one."""
    from agents.registry import ModelRegistry

    version = ModelRegistry(registry).rollback(name)
    _report(json_output, name, version, "rolled back to")


def _report(json_output: bool, name: str, version: str, verb: str) -> None:
    if json_output:
        print_json({"name": name, "promoted": version})
    else:
        console.print(f"{name}: {verb} [bold]{version}[/]")


def _fmt(value: float | None, pattern: str) -> str:
    return "-" if value is None else pattern.format(value)
