"""`marlform plan` (make a plan bundle) and `marlform plans` (list, show, verify them)."""

from __future__ import annotations

from pathlib import Path

import typer

from marlform.cli.output import (
    console,
    home_option,
    json_option,
    open_workspace,
    print_json,
    store_option,
)

app = typer.Typer(no_args_is_help=True)


def plan(
    deployment: Path = typer.Option(..., "--deployment", help="The deployment's spec file (YAML or JSON)."),
    scenario: str = typer.Option("steady", "--scenario", help="Workload scenario the simulator runs "
                                 "(steady, burst, cyclical, ...)."),
    policy: str = typer.Option(None, "--policy", help="Policy version from the model registry, or a "
                               "rule policy (rules:hpa, rules:gce, rules:static) (default: shipped policy)."),
    observe: str = typer.Option("sim", "--observe", help="Where to observe: sim (the simulator) or gcp "
                                "(Cloud Monitoring of the live project)."),
    target: str = typer.Option(None, "--target", help="Terraform provider: google or aws "
                               "[default: terraform.target in the deployment config]."),
    preview: bool = typer.Option(False, "--preview", help="Use the offline preview even where "
                                 "Terraform can run."),
    seed: int = typer.Option(0, "--seed", help="Seed of the simulator's workload and noise."),
    no_apply: bool = typer.Option(False, "--no-apply", help="In the autonomous stage, do not let a "
                                  "low-impact plan apply itself."),
    wait: float = typer.Option(0.0, "--wait", min=0, help="Seconds to wait for the deployment lock."),
    endpoint: list[str] = typer.Option([], "--endpoint", help="--observe gcp: NAME=URL of a local "
                                       "server or emulator (NAME: compute, monitoring, storage, "
                                       "sql); repeatable. Env: MARLFORM_GCP_ENDPOINT_<NAME>."),
    key_file: Path = typer.Option(None, "--key-file", help="--observe gcp: service-account key "
                                  "file; default: Application Default Credentials."),
    home: Path = home_option(), store: str = store_option(), json_output: bool = json_option(),
) -> None:
    """Make a plan bundle: observe → policy acts → spec after → Terraform plan → safety → bundle.

    Prints the changes, the monthly cost delta, the risk, the findings and what needs approval.
    Exit codes: 0 no changes, 3 changes planned, 4 denied by safety, 5 refused (paused,
    rate-limited), 6 deployment locked, 2 bad input.
    """
    from marlform.cli.output import fail
    from marlform.pipeline import PlanRequest, run_plan

    if observe not in ("sim", "gcp"):
        fail(f"--observe {observe!r}: expected sim or gcp")
    if (endpoint or key_file) and observe != "gcp":
        fail("--endpoint and --key-file read a live project: use them with --observe gcp")
    if target not in (None, "google", "aws"):
        fail(f"--target {target!r}: expected google or aws")
    ws = open_workspace(home, store)
    request = PlanRequest(deployment, scenario, policy, observe, seed, target=target,
                          real_terraform=False if preview else None, auto_apply=not no_apply,
                          wait_s=wait, endpoints=tuple(endpoint),
                          key_file=str(key_file) if key_file else None)
    result = run_plan(ws, request)
    if json_output:
        print_json(result.to_dict())
    else:
        from rich.markdown import Markdown

        for note in result.notes:
            console.print(f"[dim]note: {note}[/]")
        console.print(Markdown(result.summary))
        console.print(f"bundle: {result.record.bundle_uri}")
        if result.applied:
            console.print(f"[green]applied autonomously[/]: {result.applied['status']}")
    raise typer.Exit(result.exit_code)


@app.command("list")
def list_plans(
    deployment: str = typer.Option(None, "--deployment", help="Only this deployment (its name)."),
    limit: int = typer.Option(20, "--limit", min=1, help="The newest N plans."),
    home: Path = home_option(), json_output: bool = json_option(),
) -> None:
    """Plans, newest first: status, outcome, stage, cost delta, risk."""
    from rich.table import Table

    plans = open_workspace(home).store.plans(deployment, limit)
    if json_output:
        print_json([p.to_dict() for p in plans])
        return
    table = Table()
    for column in ("plan", "status", "outcome", "stage", "Δ $/month", "risk", "policy"):
        table.add_column(column)
    for p in plans:
        table.add_row(p.id, p.status, p.outcome, p.stage, f"{p.impact['cost_delta']:+,.2f}",
                      p.impact["risk"], p.policy_version)
    console.print(table)


@app.command()
def show(plan_id: str = typer.Argument(..., help="Plan id."), home: Path = home_option(),
         json_output: bool = json_option()) -> None:
    """A plan's summary, its approvals so far, and whether its bundle is intact."""
    from marlform.approvals import approval_state
    from marlform.bundle import verify_bundle

    ws = open_workspace(home)
    record = ws.store.plan(plan_id)
    folder = ws.bundle_path(record.bundle_uri)
    problems = verify_bundle(folder, record.plan_hash)
    state = approval_state(ws.store.approvals(plan_id), record,
                           ws.config(record.deployment).approval)
    if json_output:
        print_json({**record.to_dict(), "approvals": state.to_dict(), "intact": not problems,
                    "problems": problems})
        return
    from rich.markdown import Markdown

    console.print(Markdown((folder / "summary.md").read_text()))
    console.print(f"status: {record.status}; approvals: {', '.join(state.approved_by) or 'none'} "
                  f"({len(state.approved_by)} of {state.required})")
    console.print("[green]bundle intact[/]" if not problems else
                  "[bold red]bundle TAMPERED[/]:\n  - " + "\n  - ".join(problems), highlight=False)


@app.command()
def verify(plan_id: str = typer.Argument(..., help="Plan id."), home: Path = home_option(),
           json_output: bool = json_option()) -> None:
    """Check a bundle's files against its manifest and the recorded plan hash (exit 1 if not)."""
    from marlform.bundle import verify_bundle

    ws = open_workspace(home)
    record = ws.store.plan(plan_id)
    problems = verify_bundle(ws.bundle_path(record.bundle_uri), record.plan_hash)
    if json_output:
        print_json({"plan_id": plan_id, "plan_hash": record.plan_hash, "intact": not problems,
                    "problems": problems})
    else:
        console.print(f"[green]intact[/]: {plan_id} {record.plan_hash}" if not problems else
                      "[bold red]TAMPERED[/]:\n  - " + "\n  - ".join(problems), highlight=False)
    if problems:
        raise typer.Exit(1)
