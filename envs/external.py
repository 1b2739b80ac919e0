"""The policy's observation of a deployment the simulator does not run: a real project.

A policy trained in `envs` can act on a live project only if it sees exactly
the Dict observation it learned on. This module builds it from the live spec
and the project's raw telemetry history (per agent domain, `(rows, metrics, T)`
in `gcp.telemetry.METRICS` order and the spec's resource order, NaN where a
point is missing, the newest visible point last: what `gcp.observe.collect`
returns).

- Telemetry, history and staleness: `gcp.telemetry.normalise` and
  `gcp.telemetry.fill_missing` over the history, with the SLO references of
  the simulator's `Observer`; these are the functions the Observer's online
  form is tested equal to. The history's newest point is what the policy sees
  as "now" (Monitoring's data is already one step late, as the simulator's is),
  and a history shorter than the window is padded with its first point, as
  the Observer's ring starts.
- Everything else comes from the simulator's own code for that spec: a
  `BatchedCore` of the spec (deterministic) gives the observation spaces, the
  action masks, the own-resources and pending rows (no operation known to be
  in flight: zeros), quota headroom, the spot price multiplier (1: the catalog's
  spot price is the current list price) and the region's carbon intensity.
  Cost rates come from `gcp.pricing` (the monthly price of the spec), and a
  database's data size from its observed disk utilisation where that is fresh.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from envs.config import SimConfig
from envs.core import BatchedCore
from envs.errors import EnvConfigError
from envs.knobs import AGENTS
from envs.provisioning import ProvisioningEnv
from gcp.pricing import price_spec
from gcp.spec import DeploymentSpec
from gcp.telemetry import METRICS, fill_missing, metric_names, normalise

#: The simulator's options for a live deployment: no random events, no noise, no gaps
#: (the real data has its own).
LIVE_CONFIG = SimConfig(stochastic=False)


@dataclass
class ExternalObservation:
    """Per agent, the unbatched Dict observation, and the spaces it lies in."""

    observations: dict[str, dict[str, np.ndarray]]
    spaces: dict
    #: Per domain, the share of the visible window's points that were missing (NaN).
    missing: dict[str, float]
    #: The deterministic core built for the live spec: its layout is what a policy must fit.
    core: Any = None


def live_core(spec: DeploymentSpec) -> BatchedCore:
    """The simulator's core for one live deployment, at its initial (as-deployed) state."""
    return BatchedCore(spec, 1, config=LIVE_CONFIG, seed=0)


def _checked(domain: str, series: np.ndarray | None, rows: int) -> np.ndarray:
    """The domain's raw history as float64 (rows, metrics, T); clear errors for a bad layout."""
    m = len(METRICS[domain])
    if series is None:
        raise EnvConfigError(f"telemetry history has no {domain!r} domain")
    series = np.asarray(series, dtype=np.float64)
    if series.ndim != 3 or series.shape[:2] != (rows, m) or series.shape[2] < 1:
        raise EnvConfigError(
            f"telemetry history of {domain!r} has shape {series.shape}; expected "
            f"({rows}, {m}, T>=1): one row per {domain} resource of the spec, metrics "
            f"{metric_names(domain)}"
        )
    return series


def filled_history(domain: str, series: np.ndarray, slo_ms, window: int) -> tuple[np.ndarray, ...]:
    """(telemetry (r, m), history (window, r, m), staleness (r, m)) as float32, the Observer's view.

    A domain without resources is one row that is never observed (0, staleness 1),
    as in the simulator.
    """
    if series.shape[0] == 0:
        series = np.full((1, *series.shape[1:]), np.nan)
    slo = np.asarray(slo_ms, dtype=np.float64)
    per_step = normalise(domain, np.moveaxis(series, -1, 0), slo)  # (T, r, m); slo per row
    values, staleness = fill_missing(np.moveaxis(per_step, 0, -1))  # (r, m, T)
    values = np.moveaxis(values, -1, 0).astype(np.float32)  # (T, r, m)
    if len(values) < window:
        values = np.concatenate([np.repeat(values[:1], window - len(values), axis=0), values])
    history = values[-window:].copy()
    return history[-1].copy(), history, staleness[..., -1].astype(np.float32)


def _observed_db_data(core: BatchedCore, history: Mapping[str, np.ndarray]) -> None:
    """Database data GiB from the newest fresh disk utilisation (the simulator's own metric)."""
    disk = history["database"][:, metric_names("database").index("disk_utilization"), :]
    if disk.size == 0:
        return
    values, staleness = fill_missing(np.clip(disk, 0.0, 1.0))
    st = core.state
    fresh = staleness[:, -1] < 1.0
    st.db_data[0] = np.where(fresh, values[:, -1] * st.db_disk[0], st.db_data[0])


def costs_per_step(spec: DeploymentSpec, step_s: int, hours_into_month: float | None = None
                   ) -> dict[str, np.ndarray]:
    """USD per agent domain for one step of running `spec`, from `gcp.pricing`, shape (1,) each.

    With `hours_into_month` (hours the deployment has run this month when the step
    starts), the step's own cost, sustained-use position included, which is what the
    simulator charges a step at that month position; without it, the month's average.
    """
    step_h = step_s / 3600.0
    if hours_into_month is None:
        report = price_spec(spec)
        return {a: np.array([report.by_domain()[a] / report.hours * step_h]) for a in AGENTS}
    start = max(float(hours_into_month), 0.0)
    after = price_spec(spec, hours=start + step_h).by_domain()
    before = price_spec(spec, hours=start).by_domain() if start > 0 else dict.fromkeys(after, 0.0)
    return {a: np.array([after[a] - before[a]]) for a in AGENTS}


def observe_external(spec: DeploymentSpec, history: Mapping[str, np.ndarray],
                     hours_into_month: float | None = None) -> ExternalObservation:
    """The policy's observation of the deployment `spec` from its raw telemetry `history`.

    `hours_into_month`: the month position of the newest step, for its cost (see
    `costs_per_step`).
    """
    core = live_core(spec)
    observer = core.observer
    rows = observer.rows
    raw = {a: _checked(a, history.get(a), rows[a]) for a in AGENTS}
    _observed_db_data(core, raw)
    # The non-telemetry keys, computed by the Observer itself; its telemetry keys (the
    # simulated reset point) are replaced by the real history below.
    costs = costs_per_step(spec, core.config.step_s, hours_into_month)
    batched = observer.observe(core.state, core.flat_masks(), costs)
    observations, missing = {}, {}
    for agent in AGENTS:
        single = {k: v[0] for k, v in batched[agent].items()}
        telemetry, window, staleness = filled_history(agent, raw[agent], observer.slo[agent],
                                                      observer.window)
        single.update(telemetry=telemetry, history=window, staleness=staleness)
        observations[agent] = single
        visible = raw[agent][..., -observer.window:]
        missing[agent] = float(np.isnan(visible).mean()) if visible.size else 1.0
    return ExternalObservation(observations, dict(observer.spaces), missing, core)


def spec_after(spec: DeploymentSpec, actions: Mapping[str, np.ndarray]) -> DeploymentSpec:
    """The spec that the agents' knob choices make of the live `spec`, as the simulator applies
    them (a masked choice is kept, a pending SQL change shows its target tier)."""
    env = ProvisioningEnv(spec=spec, config=LIVE_CONFIG, seed=0)
    env.reset(0)
    env.step({a: np.asarray(actions[a], dtype=np.int64) for a in AGENTS if a in actions})
    return env.deployment_spec()
