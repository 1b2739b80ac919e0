"""Where marlform keeps its state: one folder, embedded by default.

`$MARLFORM_HOME` (default `./.marlform`) holds the SQLite database, the local
plans folder, lock files, the audit anchor, per-deployment config files and the
Terraform working folders. Every command resolves it the same way, so a team
points all of them at one place by exporting one variable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENV = "MARLFORM_HOME"


@dataclass(frozen=True)
class Home:
    root: Path

    @classmethod
    def resolve(cls, root: str | Path | None = None) -> Home:
        chosen = root or os.environ.get(ENV) or ".marlform"
        home = cls(Path(chosen).expanduser().resolve())
        for folder in (home.root, home.plans, home.locks, home.config_dir):
            folder.mkdir(parents=True, exist_ok=True)
        return home

    @property
    def db(self) -> Path:
        return self.root / "marlform.db"

    @property
    def plans(self) -> Path:
        return self.root / "plans"

    @property
    def locks(self) -> Path:
        return self.root / "locks"

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    @property
    def audit_anchor(self) -> Path:
        return self.root / "audit.head"

    def terraform_dir(self, deployment: str) -> Path:
        return self.root / "terraform" / deployment

    def config_file(self, deployment: str) -> Path:
        return self.config_dir / f"{deployment}.yaml"
