"""Named crash points, so tests can kill a real process exactly where a crash hurts most.

`MARLFORM_CRASH_AT=<point>` makes the process leave through `os._exit` at that
point: no cleanup, no `finally`, no flushing, like a SIGKILL or a power cut.
Crash-safety tests run the CLI in a subprocess with it set, then check that the
bundle folder, the database and the audit chain are consistent and that a
rerun recovers. Unset (the normal case) it costs one dictionary lookup.
"""

from __future__ import annotations

import os

ENV = "MARLFORM_CRASH_AT"
EXIT_CODE = 86

#: Every point that the code declares; tests iterate over these.
POINTS = (
    "plan.observed",
    "plan.bundle_partial",
    "plan.bundle_staged",
    "plan.bundle_published",
    "plan.recorded",
    "approve.before_commit",
    "approve.committed",
    "audit.before_anchor",
    "apply.started",
    "apply.applied",
    "apply.validated",
    "apply.rolled_back",
)


def crash_point(name: str) -> None:
    """Exit at once, without cleanup, when `MARLFORM_CRASH_AT` names this point."""
    assert name in POINTS, f"undeclared crash point {name!r}"
    if os.environ.get(ENV) == name:
        os._exit(EXIT_CODE)
