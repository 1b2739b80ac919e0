"""`marlform demo`: the main job on embedded defaults, end to end up to the human decision."""

from __future__ import annotations

from pathlib import Path

import typer

from marlform.cli.output import console, home_option

DEFAULT_SPEC = Path(__file__).resolve().parents[2] / "examples" / "web-app.yaml"


def demo(
    spec: Path | None = typer.Option(
        None, "--spec", help="Deployment to run the demo on (default: examples/web-app.yaml)."
    ),
    home: Path = home_option(),
) -> None:
    """Plan the web example with the shipped policy in the simulator, show the safety report,
    and print how to approve and apply the plan (SQLite and a local plans folder in HOME)."""
    import json

    from rich.markdown import Markdown

    from marlform.cli.output import open_workspace
    from marlform.pipeline import PlanRequest, run_plan

    ws = open_workspace(home)
    spec = spec or DEFAULT_SPEC
    console.print(f"[bold]marlform demo[/]: planning {spec.name} in the simulator "
                  f"(state in {ws.home.root})")
    result = run_plan(ws, PlanRequest(spec, auto_apply=False))
    for note in result.notes:
        console.print(f"[dim]note: {note}[/]")
    bundle = ws.bundle_path(result.record.bundle_uri)
    console.print(Markdown((bundle / "summary.md").read_text()))
    safety = json.loads((bundle / "safety.json").read_text())
    console.print(f"[bold]safety[/]: decision {safety['decision']}, {len(safety['findings'])} "
                  f"finding(s), {len(safety['fallbacks'])} fallback(s); full report: "
                  f"{bundle / 'safety.json'}")
    plan_id = result.record.id
    if result.record.outcome == "changes":
        console.print("\n[bold]next[/]: read the bundle, then\n"
                      f"  marlform approve {plan_id} --by YOUR-NAME\n"
                      f"  marlform apply {plan_id}\n"
                      f"  marlform audit verify")
    else:
        console.print(f"\nplan outcome: {result.record.outcome}; nothing to approve")
