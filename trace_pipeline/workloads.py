"""Workload generators: the demand the simulator replays, one row per service.

THE stable API that `envs/` codes against:

    from trace_pipeline.workloads import WorkloadConfig, Workload, generate
    wl = generate(WorkloadConfig(scenario="web", pattern="burst", steps=2016, n_series=100))
    wl.demand  # float64 (n_series, steps), finite, >= 0, long-run mean ~= cfg.level
    wl.bursts  # bool, same shape, True on burst steps
    wl.meta    # profile, workload class, seed, source, pattern, ...

Demand is a unitless level: 1.0 is the mean of the profile's class in the real
trace. Defaults (cycle amplitude and phase, noise, autocorrelation, burst rate,
duration and size) come from the shipped profile of the scenario's class. Every
pattern is generated for all series at once with numpy (no Python loop over
time), so a week at 5-minute steps for 100 series takes milliseconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from trace_pipeline.errors import ConfigError
from trace_pipeline.profiles import SCENARIO_CLASS, detect_bursts, load_profile

Scenario = Literal["web", "batch", "ml"]
Pattern = Literal["steady", "burst", "cyclical", "replay"]
SCENARIOS: tuple[str, ...] = ("web", "batch", "ml")
PATTERNS: tuple[str, ...] = ("steady", "burst", "cyclical", "replay")


@dataclass(frozen=True)
class WorkloadConfig:
    """What to generate. None means "take it from the profile"; all fields are validated."""

    scenario: Scenario
    pattern: Pattern
    steps: int = 288
    step_s: int = 300
    n_series: int = 1
    level: float = 1.0
    amplitude: float | None = None
    period_steps: int | None = None
    burst_rate: float | None = None
    seed: int = 0
    profile: str | Path | None = None
    trace: str | Path | None = None
    replay_offset: int = 0

    def __post_init__(self) -> None:
        if self.scenario not in SCENARIOS:
            raise ConfigError(f"scenario must be one of {', '.join(SCENARIOS)}, got {self.scenario!r}")
        if self.pattern not in PATTERNS:
            raise ConfigError(f"pattern must be one of {', '.join(PATTERNS)}, got {self.pattern!r}")
        for name in ("steps", "step_s", "n_series"):
            _check_int(name, getattr(self, name), minimum=1)
        _check_int("replay_offset", self.replay_offset, minimum=0)
        _check_int("seed", self.seed, minimum=0)
        _check_real("level", self.level, low=0.0)
        if self.amplitude is not None:
            _check_real("amplitude", self.amplitude, low=0.0, high=1.0)
        if self.period_steps is not None:
            _check_int("period_steps", self.period_steps, minimum=2)
        if self.burst_rate is not None:
            _check_real("burst_rate", self.burst_rate, low=0.0, high=1.0)
        if self.trace is not None and self.pattern != "replay":
            raise ConfigError("trace= is only used by pattern='replay'")


@dataclass(frozen=True)
class Workload:
    """Generated demand: `demand` and `bursts` are (n_series, steps); `meta` says where from."""

    demand: np.ndarray
    bursts: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)


def generate(cfg: WorkloadConfig) -> Workload:
    """Generate `cfg.n_series` demand series of `cfg.steps` steps (seeded, reproducible)."""
    profile = load_profile(cfg.profile if cfg.profile is not None else SCENARIO_CLASS[cfg.scenario])
    meta: dict[str, Any] = {
        "profile": profile["name"],
        "workload_class": profile["workload_class"],
        "seed": cfg.seed,
        "pattern": cfg.pattern,
        "scenario": cfg.scenario,
        "step_s": cfg.step_s,
        "level": cfg.level,
    }
    if cfg.pattern == "replay":
        demand, bursts, source = _replay(cfg, profile)
        meta.update(source=source, replay_offset=cfg.replay_offset)
        return _frozen(demand, bursts, meta)

    rng = np.random.default_rng(cfg.seed)
    shape = (cfg.n_series, cfg.steps)
    demand = _ar1_lognormal(rng, shape, profile["noise"]["sigma"], profile["noise"]["ar1"])
    bursts = np.zeros(shape, dtype=bool)
    if cfg.pattern == "cyclical":
        cycle = profile["cycle"]
        period = cfg.period_steps or max(2, round(cycle["period_s"] / cfg.step_s))
        amplitude = cycle["amplitude"] if cfg.amplitude is None else cfg.amplitude
        phase_steps = cycle["phase_s"] / cycle["period_s"] * period
        angle = 2 * np.pi * (np.arange(cfg.steps) + phase_steps) / period
        demand *= 1.0 + amplitude * np.sin(angle)
        meta.update(period_steps=period, amplitude=amplitude)
    elif cfg.pattern == "burst":
        burst = profile["burst"]
        rate = burst["rate_per_step"] if cfg.burst_rate is None else cfg.burst_rate
        duration = max(1.0, burst["mean_duration_steps"])
        bursts, factor = _bursts(rng, shape, rate, duration,
                                 burst["size_log_mean"], burst["size_log_sigma"])
        demand *= factor
        meta.update(burst_rate=rate, burst_mean_duration_steps=duration)
    meta["source"] = profile["source"]
    return _frozen(cfg.level * demand, bursts, meta)


def _ar1_lognormal(rng: np.random.Generator, shape: tuple[int, int], sigma: float,
                   phi: float) -> np.ndarray:
    """Mean-one multiplicative noise exp(x - sigma^2/2), x a stationary AR(1) with sd sigma."""
    from scipy.signal import lfilter

    if sigma <= 0:
        return np.ones(shape)
    shocks = rng.standard_normal(shape) * sigma * math.sqrt(1.0 - phi * phi)
    shocks[:, 0] = rng.standard_normal(shape[0]) * sigma  # start in the stationary law
    x = lfilter([1.0], [1.0, -phi], shocks, axis=1)
    return np.exp(x - 0.5 * sigma * sigma)


def _bursts(rng: np.random.Generator, shape: tuple[int, int], rate: float, duration: float,
            size_log_mean: float, size_log_sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Burst mask and the demand factor it causes, normalised to mean one.

    Onsets are Bernoulli(rate) at every step, so P(burst starts | no burst before)
    is exactly `rate`; each lasts a geometric number of steps (mean `duration`) and
    multiplies demand by 1 + a lognormal excess. Overlapping bursts merge.
    """
    n, steps = shape
    onsets = rng.random(shape) < rate
    rows, starts = np.nonzero(onsets)
    lengths = rng.geometric(1.0 / duration, size=starts.size)
    delta = np.zeros((n, steps + 1), dtype=np.int32)
    np.add.at(delta, (rows, starts), 1)
    np.add.at(delta, (rows, np.minimum(starts + lengths, steps)), -1)
    active = np.cumsum(delta[:, :steps], axis=1) > 0
    # The size of a burst step is the size drawn at the latest onset before it.
    latest = np.maximum.accumulate(np.where(onsets, np.arange(steps), 0), axis=1)
    sizes = np.exp(size_log_mean + size_log_sigma * rng.standard_normal(shape))
    factor = 1.0 + active * np.take_along_axis(sizes, latest, axis=1)
    # Stationary share of burst steps: P(some onset k steps ago lasts past k).
    q = 1.0 - 1.0 / duration
    k = np.arange(int(50 * duration) + 1)
    covered = 1.0 - float(np.prod(1.0 - rate * q**k))
    expected = 1.0 + covered * math.exp(size_log_mean + 0.5 * size_log_sigma**2)
    return active, factor / expected


def _replay(cfg: WorkloadConfig, profile: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, Any]:
    """The trace series normalised by its whole-series mean, sliced at replay_offset, exactly."""
    if cfg.trace is not None:
        from trace_pipeline.prepare import read_class_series

        values, step_s = read_class_series(cfg.trace, profile["workload_class"], profile["metric"])
        source: Any = {"trace": str(cfg.trace), "metric": profile["metric"]}
    else:
        values = np.asarray(profile["replay"]["values"], dtype=np.float64)
        step_s = profile["replay"]["step_s"]
        source = {"replay": "shipped profile series", "metric": profile["metric"],
                  **profile["source"]}
    if step_s != cfg.step_s:
        raise ConfigError(f"replay series has step_s={step_s}, config asks for {cfg.step_s}")
    end = cfg.replay_offset + cfg.steps
    if end > len(values):
        raise ConfigError(
            f"replay needs steps [{cfg.replay_offset}, {end}) but the series has {len(values)} "
            "steps; lower steps/replay_offset or pass a longer prepared trace (trace=...)"
        )
    mean = float(values.mean())
    if not np.isfinite(mean) or mean <= 0:
        raise ConfigError("replay series has no positive finite mean")
    normalised = values / mean
    window = slice(cfg.replay_offset, end)
    demand = np.tile(cfg.level * normalised[window], (cfg.n_series, 1))
    bursts = np.tile(detect_bursts(values)[window], (cfg.n_series, 1))
    return demand, bursts, source


def _frozen(demand: np.ndarray, bursts: np.ndarray, meta: dict[str, Any]) -> Workload:
    demand = np.ascontiguousarray(np.maximum(demand, 0.0), dtype=np.float64)
    demand.setflags(write=False)
    bursts = np.ascontiguousarray(bursts, dtype=bool)
    bursts.setflags(write=False)
    return Workload(demand=demand, bursts=bursts, meta=meta)


def _check_int(name: str, value: Any, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")


def _check_real(name: str, value: Any, *, low: float, high: float | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be finite, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise ConfigError(f"{name} must be {bound}, got {value}")
