"""The machine-failure rate of the 2011 Google cluster trace, recomputed from machine_events.

Why a module: the number in `envs/data/availability.json` must be reproducible
from the real data; `tests/envs/test_data.py` recomputes it with this function.
"""

from __future__ import annotations

import gzip
from pathlib import Path

#: The 2011 trace window: times count from 600 s before it opens; it closes at 2,506,200 s.
WINDOW_OPEN_US = 600_000_000
WINDOW_CLOSE_US = 2_506_200_000_000


def failure_rate_per_machine_hour(machine_events_csv_gz: str | Path) -> float:
    """REMOVE events inside the window / (machines at time 0 x window hours)."""
    removes = 0
    initial: set[str] = set()
    with gzip.open(machine_events_csv_gz, "rt") as handle:
        for line in handle:
            fields = line.split(",", 3)
            time, machine, event = int(fields[0]), fields[1], fields[2]
            if time == 0:
                initial.add(machine)
            elif event == "1":
                removes += 1
    hours = (WINDOW_CLOSE_US - WINDOW_OPEN_US) / 3.6e9
    return removes / (len(initial) * hours)
