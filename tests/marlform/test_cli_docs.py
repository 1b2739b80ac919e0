"""docs/cli.md is generated from the command tree; this keeps it true."""

from pathlib import Path

from marlform.cli.docgen import render

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_cli_reference_is_current():
    assert DOC.read_text() == render(), "docs/cli.md is stale: run `make docs`"
