"""Workload profiles: statistics fitted per workload class, saved as small JSON files.

A profile holds only numbers (and the name of the data they came from), so the
default workloads come from real trace data even offline. The same burst
detector is used to fit a profile and to mark bursts in a replayed trace, so a
"burst" means one thing everywhere.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from trace_pipeline.errors import ConfigError

PROFILE_DIR = Path(__file__).resolve().parent / "profiles"
PROFILE_SCHEMA_VERSION = 1

#: Which shipped profile drives each scenario (documented in docs/trace-pipeline.md):
#: web serving is latency-sensitive production; batch is the batch tier; ML training
#: runs as low-priority, preemptible best-effort work.
SCENARIO_CLASS: dict[str, str] = {"web": "production", "batch": "batch", "ml": "best_effort"}

#: A step is in a burst when its log ratio to the rolling median passes this many
#: robust standard deviations (and at least BURST_MIN_EXCESS above it).
BURST_THRESHOLD_SIGMA = 3.0
BURST_MIN_EXCESS = 0.05
#: Rolling-median baseline width in steps (about an hour at 5-minute steps).
BASELINE_STEPS = 13

_REQUIRED = ("name", "workload_class", "source", "step_s", "level", "cycle", "noise", "burst")


def load_profile(name_or_path: str | Path) -> dict[str, Any]:
    """A shipped profile by class name (e.g. "production") or a profile JSON file by path."""
    path = Path(name_or_path)
    if path.suffix != ".json":
        path = PROFILE_DIR / f"{name_or_path}.json"
    if not path.is_file():
        shipped = sorted(p.stem for p in PROFILE_DIR.glob("*.json"))
        raise ConfigError(f"profile {name_or_path!r} not found (shipped: {', '.join(shipped)})")
    try:
        profile = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})") from None
    missing = [key for key in _REQUIRED if key not in profile]
    if missing:
        raise ConfigError(f"{path}: profile lacks {', '.join(missing)}")
    return profile


def rolling_median(series: np.ndarray, width: int = BASELINE_STEPS) -> np.ndarray:
    """Centred rolling median, edges padded by reflection; robust to the bursts it must expose."""
    from numpy.lib.stride_tricks import sliding_window_view

    n = len(series)
    width = min(width, n if n % 2 else n - 1)
    if width < 3:
        return np.asarray(series, dtype=np.float64).copy()
    padded = np.pad(series, width // 2, mode="reflect")
    return np.median(sliding_window_view(padded, width), axis=-1)


def log_ratio(series: np.ndarray) -> np.ndarray:
    """log(series / rolling median): the fast component around the slow level."""
    series = np.asarray(series, dtype=np.float64)
    floor = max(float(np.mean(series)) * 1e-3, 1e-12)
    return np.log(np.maximum(series, floor) / np.maximum(rolling_median(series), floor))


def detect_bursts(series: np.ndarray, threshold_sigma: float = BURST_THRESHOLD_SIGMA) -> np.ndarray:
    """True where a step is far above its rolling median (robust z-score of the log ratio)."""
    ratio = log_ratio(series)
    mad = float(np.median(np.abs(ratio - np.median(ratio)))) * 1.4826
    return (ratio > threshold_sigma * max(mad, 1e-9)) & (ratio > np.log1p(BURST_MIN_EXCESS))


def burst_onset_rate(mask: np.ndarray) -> float:
    """Onsets per step spent outside a burst: P(burst starts at t | no burst at t-1)."""
    mask = np.atleast_2d(mask)
    prev, cur = mask[:, :-1], mask[:, 1:]
    outside = int((~prev).sum())
    return float((cur & ~prev).sum() / outside) if outside else 0.0


def fit_cycle(series: np.ndarray, step_s: int, period_s: int = 86_400) -> dict[str, float]:
    """Least-squares sinusoid of the relative series at one period: amplitude and phase."""
    series = np.asarray(series, dtype=np.float64)
    rel = series / series.mean() - 1.0
    angle = 2 * np.pi * np.arange(len(series)) * step_s / period_s
    design = np.column_stack([np.sin(angle), np.cos(angle), np.ones_like(angle)])
    (a, b, _), *_ = np.linalg.lstsq(design, rel, rcond=None)
    amplitude = float(np.hypot(a, b))
    # a sin(x) + b cos(x) = A sin(x + phi): the peak sits phi radians earlier.
    phase_s = float((-np.arctan2(b, a) / (2 * np.pi) * period_s) % period_s)
    return {"period_s": period_s, "amplitude": amplitude, "phase_s": phase_s}


def fit_profile(
    series: np.ndarray,
    *,
    name: str,
    workload_class: str,
    step_s: int,
    metric: str,
    source: dict[str, Any],
    cycle: dict[str, Any],
    replay_start_s: float,
    burst_series: np.ndarray | None = None,
    burst_metric: str | None = None,
) -> dict[str, Any]:
    """Fit level, noise (sigma, AR(1)), bursts (rate, duration, size) of one class's series.

    `cycle` comes from a series long enough to show a day (see `fit_cycle`); the
    series here may be only hours long, which is enough for the fast components.
    Bursts come from `burst_series` when given (e.g. task arrivals, which are
    bursty where the requested load is smooth), else from `series`.
    """
    series = np.asarray(series, dtype=np.float64)
    if len(series) < 2 * BASELINE_STEPS or not np.all(np.isfinite(series)) or series.mean() <= 0:
        raise ConfigError(f"{name}: need >= {2 * BASELINE_STEPS} finite steps with a positive mean")
    ratio = log_ratio(series)
    bursts = detect_bursts(series)
    calm = np.where(bursts, 0.0, ratio)
    sigma = float(np.std(calm))
    ar1 = float(np.corrcoef(calm[:-1], calm[1:])[0, 1]) if sigma > 0 else 0.0
    if burst_series is not None:
        burst_series = np.asarray(burst_series, dtype=np.float64)
        ratio, bursts = log_ratio(burst_series), detect_bursts(burst_series)
    runs = _run_lengths(bursts)
    excess = np.expm1(ratio[bursts])
    log_excess = np.log(excess[excess > 0]) if bursts.any() else np.array([])
    return {
        "schema_version": PROFILE_SCHEMA_VERSION,
        "name": name,
        "workload_class": workload_class,
        "metric": metric,
        "source": source,
        "step_s": step_s,
        "level": {"mean": float(series.mean()), "std": float(series.std()),
                  "min": float(series.min()), "max": float(series.max())},
        "cycle": cycle,
        "noise": {"sigma": sigma, "ar1": float(np.clip(ar1, 0.0, 0.99))},
        "burst": {
            "rate_per_step": burst_onset_rate(bursts),
            "mean_duration_steps": float(np.mean(runs)) if runs else 1.0,
            "size_log_mean": float(log_excess.mean()) if log_excess.size else float(np.log(0.2)),
            "size_log_sigma": float(log_excess.std()) if log_excess.size > 1 else 0.25,
            "count": len(runs),
            "metric": burst_metric or metric,
            "threshold_sigma": BURST_THRESHOLD_SIGMA,
        },
        "replay": {"start_s": replay_start_s, "step_s": step_s,
                   "values": [round(float(v), 6) for v in series]},
    }


def _run_lengths(mask: np.ndarray) -> list[int]:
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return (np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)).tolist()


def build_profiles(trace: str | Path, out_dir: str | Path, *, metric: str = "cpu_requested",
                   burst_metric: str = "arrivals",
                   cycle_csv: str | Path | None = None, cycle_column: str = "avg_cpu",
                   note: str = "") -> list[Path]:
    """Fit and write one profile per workload class from a prepared trace.

    The diurnal cycle needs days of data: it is fitted from `cycle_csv` (a
    5-minute series, e.g. the derived 2019 cell-level month) when given, else
    from the class series itself.
    """
    from gcp.files import atomic_write_json
    from trace_pipeline.prepare import read_class_series, read_windows
    from trace_pipeline.schema import WINDOW_S, WORKLOAD_CLASSES

    trace = Path(trace)
    frame = read_windows(trace)
    meta_path = trace / "meta.json" if trace.is_dir() else trace.with_name("meta.json")
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    source: dict[str, Any] = {
        "trace": f"Google cluster-data {meta.get('version', '?')} trace (CC-BY 4.0)",
        "files": [f"{i['path']} (crc32c {i['crc32c']})" for i in meta.get("inputs", [])],
        "windows": meta.get("windows"), "prepared_key": meta.get("key"), "note": note,
    }
    if cycle_csv is not None:
        import pandas as pd

        column = pd.read_csv(cycle_csv)[cycle_column].to_numpy(dtype=np.float64)
        cycle = {**fit_cycle(column, WINDOW_S), "source": f"{Path(cycle_csv).name}:{cycle_column}"}
    written = []
    for workload_class in WORKLOAD_CLASSES:
        values, step_s = read_class_series(trace, workload_class, metric)
        class_cycle = cycle if cycle_csv is not None else {
            **fit_cycle(values, step_s), "source": f"the {workload_class} series itself"}
        profile = fit_profile(
            values, name=workload_class, workload_class=workload_class, step_s=step_s,
            metric=metric, source=source, cycle=class_cycle,
            replay_start_s=float(frame["time_s"].min()),
            burst_series=read_class_series(trace, workload_class, burst_metric)[0],
            burst_metric=burst_metric,
        )
        path = Path(out_dir) / f"{workload_class}.json"
        atomic_write_json(path, profile)
        written.append(path)
    return written
