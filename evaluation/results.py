"""A suite's results as files: CSV tables plus the reproducibility record, loadable again.

Why CSV: a reviewer (or a spreadsheet) reads it without marlform, and the
committed thesis results in docs/results/ diff line by line.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evaluation.schema import (
    BOUNDARY_COLUMNS,
    SCHEMA_VERSION,
    TIMELINE_COLUMNS,
    TRAINING_COLUMNS,
    EvaluationError,
    check_columns,
    check_episodes,
)
from gcp.files import atomic_write_bytes, atomic_write_json, atomic_write_text

if TYPE_CHECKING:
    import pandas as pd

TABLES = ("episodes", "timelines", "training", "boundaries")
#: Tables longer than this are written gzip-compressed (`<name>.csv.gz`): the thesis suite's
#: perturbation timelines run to ~280k rows, too large to commit as plain CSV.
GZIP_ROWS = 50_000
RECORD_FILE = "record.json"


@dataclass
class SuiteResults:
    """The tables of one suite run (see `evaluation.schema`) and how they were made."""

    suite: str
    episodes: pd.DataFrame
    timelines: pd.DataFrame
    training: pd.DataFrame
    boundaries: pd.DataFrame
    #: The policy the others are tested against (the default MARL policy).
    reference: str
    record: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        check_episodes(self.episodes)
        for name, columns in (("timelines", TIMELINE_COLUMNS), ("training", TRAINING_COLUMNS),
                              ("boundaries", BOUNDARY_COLUMNS)):
            frame = getattr(self, name)
            if not frame.empty:
                check_columns(frame, columns, name)
        if self.reference not in set(self.episodes["policy"]):
            raise EvaluationError(f"reference policy {self.reference!r} has no episodes")

    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        self.validate()
        for name in TABLES:
            frame = getattr(self, name)
            big = len(frame) > GZIP_ROWS
            plain, packed = folder / f"{name}.csv", folder / f"{name}.csv.gz"
            if big:  # mtime=0: the same table gives the same bytes, so committed results diff cleanly
                atomic_write_bytes(packed, gzip.compress(frame.to_csv(index=False).encode(), mtime=0))
            else:
                atomic_write_text(plain, frame.to_csv(index=False))
            (plain if big else packed).unlink(missing_ok=True)
        atomic_write_json(folder / RECORD_FILE, {
            "schema_version": SCHEMA_VERSION, "suite": self.suite, "reference": self.reference,
            **self.record,
        })
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> SuiteResults:
        import pandas as pd

        folder = Path(folder)
        record_path = folder / RECORD_FILE
        if not record_path.is_file():
            raise EvaluationError(f"{folder} holds no suite results ({RECORD_FILE} is missing)")
        record = json.loads(record_path.read_text())
        if record.get("schema_version") != SCHEMA_VERSION:
            raise EvaluationError(
                f"{record_path}: schema_version {record.get('schema_version')} is not {SCHEMA_VERSION}"
            )
        tables = {}
        for name in TABLES:
            path = folder / f"{name}.csv"
            if not path.is_file() and path.with_suffix(".csv.gz").is_file():
                path = path.with_suffix(".csv.gz")
            try:
                tables[name] = pd.read_csv(path) if path.stat().st_size > 1 else pd.DataFrame()
            except (FileNotFoundError, pd.errors.EmptyDataError):
                tables[name] = pd.DataFrame()
        out = cls(suite=record.pop("suite"), reference=record.pop("reference"),
                  record=record, **tables)
        out.validate()
        return out
