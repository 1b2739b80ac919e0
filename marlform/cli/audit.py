"""`marlform audit`: check and read the hash-chained audit log."""

from __future__ import annotations

from pathlib import Path

import typer

from marlform.cli.output import console, home_option, json_option, open_workspace, print_json

app = typer.Typer(no_args_is_help=True)


@app.command()
def verify(home: Path = home_option(), json_output: bool = json_option()) -> None:
    """Recompute the hash chain and check the anchor: exit 0 when intact, 1 on any edit,
    reordering or deletion (each broken entry is named)."""
    ws = open_workspace(home)
    report = ws.store.verify_audit()
    if json_output:
        print_json(report.to_dict())
    elif report.ok:
        lag = f" (anchor {report.anchor_lag} behind: a crash after commit)" if report.anchor_lag else ""
        console.print(f"[green]intact[/]: {report.entries} entries, chain and anchor check out{lag}")
    else:
        console.print(f"[bold red]TAMPERED[/]: {len(report.problems)} problem(s) in "
                      f"{report.entries} entries")
        for problem in report.problems:
            console.print(f"  - {problem}", highlight=False)
    if not report.ok:
        raise typer.Exit(1)


@app.command("log")
def show_log(
    deployment: str = typer.Option(None, "--deployment", help="Only this deployment."),
    kind: str = typer.Option(None, "--kind", help="Only this kind (decision, approval, apply.started, …)."),
    limit: int = typer.Option(50, "--limit", min=1, help="The newest N entries."),
    home: Path = home_option(), json_output: bool = json_option(),
) -> None:
    """The newest audit entries: who did what, when, under which policy version and hash."""
    from rich.table import Table

    entries = open_workspace(home).store.audit_entries(deployment, kind, limit)
    if json_output:
        print_json(entries)
        return
    table = Table(show_lines=False)
    for column in ("seq", "time (UTC)", "actor", "kind", "deployment", "plan", "detail"):
        table.add_column(column)
    for e in entries:
        detail = ", ".join(f"{k}={v}" for k, v in e["payload"].items()
                           if k in ("decision", "agent", "action", "outcome", "reason", "to_stage",
                                    "path", "value", "valid"))
        table.add_row(str(e["seq"]), e["ts"][:19], e["actor"], e["kind"], e["deployment"],
                      e["plan_id"] or "", detail)
    console.print(table)
