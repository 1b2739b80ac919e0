"""`marlform pause|resume` (the kill switch) and `marlform override` (pinned settings)."""

from __future__ import annotations

from pathlib import Path

import typer

from marlform.cli.output import console, home_option, json_option, open_workspace, print_json

app = typer.Typer(no_args_is_help=True)
Deployment = typer.Argument(..., help="Deployment name, or '*' for every deployment.")
By = typer.Option(..., "--by", help="Your name (recorded in the audit log).")
Reason = typer.Option(None, "--reason", help="Why; recorded in the audit log.")


def pause(deployment: str = Deployment, by: str = By, reason: str = Reason,
          home: Path = home_option(), json_output: bool = json_option()) -> None:
    """Kill switch: agents stop planning and nothing is applied until `marlform resume`."""
    from marlform.controls import pause as do_pause

    do_pause(open_workspace(home), deployment, by, reason)
    if json_output:
        print_json({"deployment": deployment, "paused": True, "by": by, "reason": reason})
    else:
        console.print(f"[bold red]paused[/] {deployment}: no plans, no applies until "
                      f"`marlform resume {deployment} --by NAME`")


def resume(deployment: str = Deployment, by: str = By, reason: str = Reason,
           home: Path = home_option(), json_output: bool = json_option()) -> None:
    """Lift a pause set by `marlform pause`."""
    from marlform.controls import pause as do_pause

    do_pause(open_workspace(home), deployment, by, reason, paused=False)
    if json_output:
        print_json({"deployment": deployment, "paused": False, "by": by})
    else:
        console.print(f"[green]resumed[/] {deployment}")


@app.command("set")
def set_(
    deployment: Path = typer.Argument(..., help="The deployment's spec file (YAML or JSON)."),
    path: str = typer.Argument(..., help="Field to pin, e.g. services[api].replicas.min, network.tier."),
    value: str = typer.Argument(..., help="Value (YAML scalar: 4, true, n2-standard-8)."),
    by: str = By, reason: str = Reason,
    home: Path = home_option(), json_output: bool = json_option(),
) -> None:
    """Pin a setting: every plan keeps it, whatever the agents choose, until released."""
    from gcp.spec import load_spec
    from marlform.controls import set_override

    spec = load_spec(deployment)
    ws = open_workspace(home)
    current = ws.store.deployment_spec(spec.name) or spec
    pinned = set_override(ws, current, path, value, by, reason)
    if json_output:
        print_json({"deployment": spec.name, "path": path, "value": pinned, "by": by})
    else:
        console.print(f"override on {spec.name}: {path} = {pinned!r} (until "
                      f"`marlform override release {spec.name} {path}`)")


@app.command()
def release(
    deployment: str = typer.Argument(..., help="Deployment name."),
    path: str = typer.Argument(..., help="The pinned field."),
    by: str = By, home: Path = home_option(), json_output: bool = json_option(),
) -> None:
    """Release an override: the agents decide that field again."""
    from marlform.controls import release_override

    release_override(open_workspace(home), deployment, path, by)
    if json_output:
        print_json({"deployment": deployment, "path": path, "released": True})
    else:
        console.print(f"released {path} on {deployment}")


@app.command("list")
def list_(deployment: str = typer.Argument(..., help="Deployment name."),
          home: Path = home_option(), json_output: bool = json_option()) -> None:
    """Overrides in force, with who set them and why."""
    rows = open_workspace(home).store.overrides(deployment)
    if json_output:
        print_json(list(rows.values()))
        return
    if not rows:
        console.print(f"no overrides on {deployment}")
    for path, row in rows.items():
        console.print(f"{path} = {row['value']!r}  (by {row['by']} at {row['at'][:19]}"
                      f"{'; ' + row['reason'] if row['reason'] else ''})")
