"""`marlform spec`: validate and price a DeploymentSpec."""

from __future__ import annotations

from pathlib import Path

import typer

from marlform.cli.output import console, print_json

app = typer.Typer(no_args_is_help=True)

SpecFile = typer.Argument(..., help="A DeploymentSpec as YAML (.yaml/.yml) or JSON (.json).")
JsonFlag = typer.Option(False, "--json", help="Print JSON for scripts instead of a table.")


@app.command()
def validate(file: Path = SpecFile, json_output: bool = JsonFlag) -> None:
    """Check a spec against GCP's naming, network, catalog, replica and dependency rules.

    Exits 0 when the spec is valid and 2 with every problem (field path and rule) when not.
    """
    from gcp.errors import SpecError
    from gcp.spec import load_spec

    try:
        spec = load_spec(file)
    except SpecError as exc:
        if json_output:
            print_json({"valid": False, "file": str(file), "issues": [i.to_dict() for i in exc.issues]})
            raise typer.Exit(2) from None
        raise
    summary = {
        "valid": True,
        "file": str(file),
        "deployment": spec.name,
        "services": len(spec.services),
        "buckets": len(spec.buckets),
        "databases": len(spec.databases),
        "dependencies": len(spec.dependencies),
    }
    if json_output:
        print_json(summary)
    else:
        console.print(
            f"[green]valid[/]: {file} — deployment {spec.name!r} with {summary['services']} services, "
            f"{summary['buckets']} buckets, {summary['databases']} databases, "
            f"{summary['dependencies']} dependencies"
        )


@app.command()
def cost(
    file: Path = SpecFile,
    hours: float = typer.Option(730.0, "--hours", min=1.0, help="Billing window in hours (730 = one month)."),
    json_output: bool = JsonFlag,
) -> None:
    """Itemised cost of a spec: per resource and per agent domain, spot and sustained-use rules applied."""
    from gcp.pricing import price_spec
    from gcp.spec import load_spec

    report = price_spec(load_spec(file), hours=hours)
    if json_output:
        print_json({"file": str(file), **report.to_dict()})
        return
    print_cost_report(report, title=f"{file} — {hours:g} h")


def print_cost_report(report, title: str) -> None:
    """Render a CostReport as a rich table (shared with `marlform demo`)."""
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    for column, justify in (("resource", "left"), ("domain", "left"), ("item", "left"),
                            ("quantity", "right"), ("unit price", "right"), ("cost (USD)", "right")):
        table.add_column(column, justify=justify)
    for item in report.items:
        table.add_row(item.resource, item.domain, item.description,
                      f"{item.quantity:,.2f} {item.unit}", f"{item.unit_price:.6g}", f"{item.cost:,.2f}")
    table.add_section()
    for domain, amount in report.by_domain().items():
        table.add_row("", domain, "subtotal", "", "", f"{amount:,.2f}")
    table.add_row("", "", "[bold]total[/]", "", "", f"[bold]{report.total:,.2f}[/]")
    console.print(table)
