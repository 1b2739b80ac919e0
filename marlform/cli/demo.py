"""`marlform demo`: the main job on embedded defaults, as far as it exists today."""

from __future__ import annotations

from pathlib import Path

import typer

DEFAULT_SPEC = Path(__file__).resolve().parents[2] / "examples" / "web-app.yaml"


def demo(
    spec: Path | None = typer.Option(
        None, "--spec", help="Deployment to run the demo on (default: examples/web-app.yaml)."
    ),
) -> None:
    """Run the main job on embedded defaults: today, the itemised monthly cost of the web example."""
    from gcp.pricing import price_spec
    from gcp.spec import load_spec
    from marlform.cli.spec import print_cost_report

    deployment = load_spec(spec or DEFAULT_SPEC)
    print_cost_report(price_spec(deployment), title=f"{deployment.name}: monthly cost (730 h)")
