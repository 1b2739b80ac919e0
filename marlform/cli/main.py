"""The `marlform` command.

Command groups live in their own modules and are registered in `GROUPS`.
Each module imports only typer and rich at the top, and heavy libraries
(torch, ray, pandas) inside the commands, so `marlform --help` stays fast.
"""

from __future__ import annotations

import importlib

import typer
from rich.markup import escape

from marlform import __version__
from marlform.cli.output import err_console

#: (name, module, help) of each command group; a module exposes `app: typer.Typer`.
GROUPS: list[tuple[str, str, str]] = [
    ("spec", "marlform.cli.spec", "Validate and price DeploymentSpecs."),
    ("tf", "marlform.cli.tf", "Terraform: render specs, plan (real or preview), check plan JSON."),
    ("trace", "marlform.cli.trace", "Google cluster traces: fetch, prepare, profile, show."),
    ("workload", "marlform.cli.workload", "Generate seeded workloads from profiles or traces."),
    ("plans", "marlform.cli.plan", "List plan bundles, show one, verify its hashes."),
    ("audit", "marlform.cli.audit", "Verify and read the hash-chained audit log."),
    ("stage", "marlform.cli.stage", "Rollout stages: show, promote on evidence, demote."),
    ("override", "marlform.cli.control", "Pin settings the agents must respect until released."),
    ("gcp", "marlform.cli.gcp", "Observe, inventory and validate a real GCP project; IAM roles."),
    ("models", "marlform.cli.models", "Trained policies in the model registry: list, promote, roll back."),
]

#: Single commands registered at the top level: (module, function name).
COMMANDS: list[tuple[str, str]] = [
    ("marlform.cli.demo", "demo"),
    ("marlform.cli.plan", "plan"),
    ("marlform.cli.approve", "approve"),
    ("marlform.cli.approve", "reject"),
    ("marlform.cli.apply", "apply"),
    ("marlform.cli.control", "pause"),
    ("marlform.cli.control", "resume"),
    ("marlform.cli.explain", "explain"),
    ("marlform.cli.train", "train"),
    ("marlform.cli.evaluate", "evaluate"),
    ("marlform.cli.ab", "ab"),
]

app = typer.Typer(
    name="marlform",
    help=(
        "Cooperating RL agents whose provisioning decisions become reviewable Terraform plans "
        "for Google Cloud.\n\nPlatform teams plan, read and approve; researchers evaluate; "
        "operators roll agents out stage by stage. Every command that reports takes --json."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"marlform {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """marlform."""


for name, module, help_text in GROUPS:
    app.add_typer(importlib.import_module(module).app, name=name, help=help_text)
for module, function in COMMANDS:
    app.command(name=function.replace("_", "-"))(getattr(importlib.import_module(module), function))


def run() -> None:
    """Console-script entry: known errors become a message and an exit code, not a traceback."""
    from gcp.errors import MarlformError

    try:
        app()
    except MarlformError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise SystemExit(exc.exit_code) from None
    except KeyboardInterrupt:
        err_console.print("interrupted")
        raise SystemExit(130) from None
