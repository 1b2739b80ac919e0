"""Named scenarios: a deployment from `examples/` plus the workload that drives it.

`web`, `batch` and `ml` are the three example specs; each runs with a steady,
burst, cyclical or replay workload from the trace pipeline.
"""

from __future__ import annotations

from pathlib import Path

from envs.errors import EnvConfigError
from envs.workload import PATTERNS, SCENARIOS
from gcp.spec import DeploymentSpec, load_spec

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCENARIO_SPECS = {"web": "web-app.yaml", "batch": "batch-pipeline.yaml", "ml": "ml-system.yaml"}


def scenario_spec(scenario: str) -> DeploymentSpec:
    """The example deployment of a scenario."""
    if scenario not in SCENARIO_SPECS:
        raise EnvConfigError(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
    path = EXAMPLES / SCENARIO_SPECS[scenario]
    if not path.is_file():
        raise EnvConfigError(f"scenario {scenario!r} needs {path}, which is missing")
    return load_spec(path)


def check_pattern(pattern: str) -> None:
    if pattern not in PATTERNS:
        raise EnvConfigError(f"unknown workload pattern {pattern!r}; known: {', '.join(PATTERNS)}")
