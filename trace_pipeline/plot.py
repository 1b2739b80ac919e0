"""PNG figures (matplotlib, Agg): a processed trace and generated workloads, per class, bursts marked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from gcp.files import atomic_write_bytes
from trace_pipeline.profiles import detect_bursts
from trace_pipeline.schema import WORKLOAD_CLASSES


def _figure(rows: int) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(rows, 1, figsize=(10, 2.4 * rows), sharex=True, squeeze=False)
    return fig, axes[:, 0]


def _save(fig: Any, path: str | Path) -> Path:
    import io

    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())
    return Path(path)


def _mark(ax: Any, x: np.ndarray, y: np.ndarray, bursts: np.ndarray) -> None:
    if bursts.any():
        ax.scatter(x[bursts], y[bursts], color="tab:red", s=14, zorder=3, label="burst")


def plot_trace(frame: Any, path: str | Path, metric: str = "cpu_requested") -> Path:
    """One panel per workload class: the metric per 5-minute window, bursts of arrivals marked."""
    fig, axes = _figure(len(WORKLOAD_CLASSES))
    for ax, workload_class in zip(axes, WORKLOAD_CLASSES, strict=True):
        rows = frame[frame["workload_class"] == workload_class].sort_values("window")
        hours = (rows["time_s"].to_numpy() - 600) / 3600
        values = rows[metric].to_numpy(dtype=float)
        ax.plot(hours, values, color="tab:blue", lw=1, label=metric)
        arrivals = rows["arrivals"].to_numpy(dtype=float)
        if np.isfinite(arrivals).all() and len(arrivals) > 2:
            _mark(ax, hours, values, detect_bursts(arrivals))
        ax.set_ylabel(workload_class)
        ax.legend(loc="upper right", fontsize=8)
    axes[-1].set_xlabel("hours since the trace window opened")
    fig.suptitle(f"Processed trace: {metric} per 5-minute window (red: arrival bursts)")
    return _save(fig, path)


def plot_workloads(workloads: dict[str, Any], path: str | Path, series: int = 0) -> Path:
    """One panel per generated workload (e.g. per class/scenario), burst steps marked."""
    fig, axes = _figure(len(workloads))
    for ax, (label, wl) in zip(axes, workloads.items(), strict=True):
        hours = np.arange(wl.demand.shape[1]) * wl.meta["step_s"] / 3600
        ax.plot(hours, wl.demand[series], color="tab:green", lw=1, label="demand")
        _mark(ax, hours, wl.demand[series], wl.bursts[series])
        ax.set_ylabel(label)
        ax.legend(loc="upper right", fontsize=8)
    axes[-1].set_xlabel("hours")
    fig.suptitle("Generated workloads (red: burst steps)")
    return _save(fig, path)
