"""Shared CLI plumbing: one way to print JSON, tables and errors."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

console = Console()
err_console = Console(stderr=True)


def print_json(data: Any) -> None:
    """JSON for scripts: plain stdout, no colour, stable key order."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def fail(message: str, code: int = 2) -> None:
    """Print a clean error (no traceback) and exit non-zero."""
    import typer
    from rich.markup import escape

    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


# Options shared by the rollout commands (plan, approve, apply, audit, stage, pause, override).
def home_option():
    import typer

    return typer.Option(None, "--home", envvar="MARLFORM_HOME", show_default=False,
                        help="State folder: database, plans, locks, config (default: ./.marlform).")


def store_option():
    import typer

    return typer.Option(None, "--store", envvar="MARLFORM_STORE", show_default=False,
                        help="Where plan bundles go: a folder, or gs://BUCKET/PREFIX "
                             "[default: HOME/plans].")


def json_option():
    import typer

    return typer.Option(False, "--json", help="Print JSON for scripts.")


def open_workspace(home=None, store=None):
    """The Workspace the rollout commands share (recovers from any earlier crash on open)."""
    from marlform.workspace import Workspace

    return Workspace.open(home, store_url=store)
