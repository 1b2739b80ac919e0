"""`marlform stage`: see rollout stages, promote on evidence (approved), demote at once."""

from __future__ import annotations

from pathlib import Path

import typer

from marlform.cli.output import console, home_option, json_option, open_workspace, print_json

app = typer.Typer(no_args_is_help=True)
Deployment = typer.Argument(..., help="Deployment name.")
Service = typer.Option("*", "--service", help="One service; '*' (default) is the deployment itself.")
By = typer.Option(..., "--by", help="Your name, as listed in the deployment's approvers.")


@app.command()
def show(deployment: str = Deployment, home: Path = home_option(),
         json_output: bool = json_option()) -> None:
    """Stage of the deployment and each service, the evidence so far, and pending promotions."""
    from marlform.config import STAGES
    from marlform.stages import current_stages, evidence, missing_evidence

    ws = open_workspace(home)
    spec = ws.store.deployment_spec(deployment)
    services = [s.name for s in spec.services] if spec else list(ws.config(deployment).stages.services)
    rows = []
    for name, stage in current_stages(ws, deployment, services).items():
        seen = evidence(ws, deployment, name, stage)
        nxt = STAGES[STAGES.index(stage) + 1] if stage != STAGES[-1] else None
        gaps = missing_evidence(ws, deployment, nxt, seen) if nxt else []
        rows.append({"service": name, "stage": stage, "next": nxt, "evidence": seen, "missing": gaps})
    pending = [p for p in ws.store.promotions(deployment) if p["status"] == "pending"]
    if json_output:
        print_json({"deployment": deployment, "stages": rows, "pending_promotions": pending})
        return
    for row in rows:
        who = "deployment" if row["service"] == "*" else f"service {row['service']}"
        ready = "ready to promote" if row["next"] and not row["missing"] else "; ".join(row["missing"])
        console.print(f"{who}: [bold]{row['stage']}[/]" + (f" → {row['next']}: {ready}" if row["next"] else ""))
    for promo in pending:
        console.print(f"pending {promo['id']}: {promo['service']} {promo['from_stage']} → "
                      f"{promo['to_stage']}, asked by {promo['requested_by']}, approved by "
                      f"{', '.join(promo['approvers']) or 'nobody yet'}")


@app.command()
def promote(deployment: str = Deployment, service: str = Service, by: str = By,
            home: Path = home_option(), json_output: bool = json_option()) -> None:
    """Ask to move one stage forward. Refused (exit 5) without the configured evidence;
    takes effect once another approver runs `marlform stage approve`."""
    from marlform.stages import request_promotion

    promo = request_promotion(open_workspace(home), deployment, service, by)
    if json_output:
        print_json(promo)
        return
    console.print(f"promotion {promo['id']} requested: {promo['from_stage']} → {promo['to_stage']}; "
                  f"another approver runs: marlform stage approve {promo['id']} --by NAME")


@app.command("approve")
def approve_promotion(promotion_id: str = typer.Argument(..., help="The promotion request id."),
                      by: str = By, home: Path = home_option(),
                      json_output: bool = json_option()) -> None:
    """Approve someone else's promotion request; the stage changes once enough have approved."""
    from marlform.stages import approve_promotion as do_approve

    promo = do_approve(open_workspace(home), promotion_id, by)
    if json_output:
        print_json(promo)
    elif promo["status"] == "approved":
        console.print(f"[green]promoted[/] {promo['deployment']} {promo['service']} to {promo['to_stage']}")
    else:
        console.print(f"approval recorded; {promo['id']} still pending")


@app.command()
def demote(deployment: str = Deployment, to: str = typer.Option(..., "--to", help="An earlier stage."),
           service: str = Service, by: str = By,
           reason: str = typer.Option(None, "--reason", help="Why; recorded in the audit log."),
           home: Path = home_option(), json_output: bool = json_option()) -> None:
    """Move back to an earlier stage at once (no approval needed to be more careful)."""
    from marlform.cli.output import fail
    from marlform.config import STAGES
    from marlform.stages import demote as do_demote

    if to not in STAGES:
        fail(f"--to {to!r}: expected one of {', '.join(STAGES)}")
    stage = do_demote(open_workspace(home), deployment, service, to, by, reason)
    if json_output:
        print_json({"deployment": deployment, "service": service, "stage": stage})
    else:
        console.print(f"{deployment} {service}: now {stage}")
