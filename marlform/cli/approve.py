"""`marlform approve` and `marlform reject`: a person signs, or turns down, one plan's hash."""

from __future__ import annotations

from pathlib import Path

import typer

from marlform.cli.output import console, home_option, json_option, open_workspace, print_json

PlanId = typer.Argument(..., help="The plan id that `marlform plan` printed.")
By = typer.Option(..., "--by", help="Your name, as listed in the deployment's approvers.")
Comment = typer.Option(None, "--comment", help="Why; kept with the approval and in the audit log.")


def _decide(plan_id: str, by: str, comment: str | None, decision: str, home: Path | None,
            json_output: bool) -> None:
    from marlform.approvals import decide

    ws = open_workspace(home)
    state = decide(ws, plan_id, by, decision, comment)
    if json_output:
        print_json({"plan_id": plan_id, "decision": decision, "by": by, **state.to_dict()})
        return
    if decision == "reject":
        console.print(f"[red]rejected[/] {plan_id} by {by}")
    elif state.satisfied:
        console.print(f"[green]approved[/] {plan_id} by {', '.join(state.approved_by)}; "
                      f"apply it with: marlform apply {plan_id}")
    else:
        console.print(f"approval by {by} recorded for {plan_id}: {len(state.approved_by)} of "
                      f"{state.required} ({'; '.join(state.reasons)})")


def approve(
    plan_id: str = PlanId, by: str = By, comment: str = Comment,
    home: Path = home_option(), json_output: bool = json_option(),
) -> None:
    """Approve a plan: binds your name to its plan hash, after checking the bundle is intact.

    Destructive or expensive plans may need more than one approver (approval.rules in
    HOME/config/DEPLOYMENT.yaml). Exit 5 when you are not an approver or the bundle changed.
    """
    _decide(plan_id, by, comment, "approve", home, json_output)


def reject(
    plan_id: str = PlanId, by: str = By, comment: str = Comment,
    home: Path = home_option(), json_output: bool = json_option(),
) -> None:
    """Reject a plan: it can no longer be approved or applied."""
    _decide(plan_id, by, comment, "reject", home, json_output)
