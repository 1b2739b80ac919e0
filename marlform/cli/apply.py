"""`marlform apply PLAN_ID`: apply an approved plan, validate it, roll back on failure."""

from __future__ import annotations

import getpass
from pathlib import Path

import typer

from marlform.cli.output import console, home_option, json_option, open_workspace, print_json


def apply(
    plan_id: str = typer.Argument(..., help="The plan id that `marlform plan` printed."),
    by: str = typer.Option(None, "--by", help="Who applies (recorded in the audit log) "
                           "[default: your login name]."),
    scenario: str = typer.Option(None, "--scenario", help="Scenario the simulator validates with "
                                 "[default: the plan's]."),
    wait: float = typer.Option(0.0, "--wait", min=0, help="Seconds to wait for the deployment lock."),
    home: Path = home_option(), json_output: bool = json_option(),
) -> None:
    """Apply an approved, intact, current plan; validate; roll back when validation fails.

    Refused unless approved as its stage demands, its bundle's hashes match and the
    deployment has not changed since the plan was made.

    Exit codes: 0 applied and valid, 5 refused (says why), 6 locked, 7 rolled back.
    Rerun it after a crash: a plan left half-applied is resumed.
    """
    from marlform.apply import apply_plan
    from marlform.errors import RolledBackError
    from marlform.targets import target_for

    ws = open_workspace(home)
    record = ws.store.plan(plan_id)
    target = target_for(ws, record, scenario)
    actor = f"user:{by or getpass.getuser()}"
    try:
        result = apply_plan(ws, plan_id, target, actor, wait)
    except RolledBackError as exc:
        if json_output:
            print_json(exc.result)
            raise typer.Exit(exc.exit_code) from None
        raise
    if json_output:
        print_json(result)
        return
    console.print(f"[green]applied[/] {plan_id} on {result['target']} ({result['mode']}); "
                  "validation passed:")
    for check in result["validation"]["checks"]:
        console.print(f"  - {check['name']}: {'ok' if check['ok'] else 'FAILED'} "
                      f"({check.get('detail', '')})", highlight=False)
