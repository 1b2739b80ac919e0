"""The report's figures, each drawn from a plain results table.

Why `matplotlib.figure.Figure` and not pyplot: no global state and no GUI
backend (the Agg canvas renders it), so figures can be drawn in worker
processes and in CI. Every function takes DataFrames in the layout of
`evaluation.schema` and returns a Figure; `save` writes it atomically.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from evaluation.schema import METRICS, check_columns, reward_terms

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

DPI = 110


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _colors(names: list[str]) -> dict[str, tuple]:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if len(names) <= 10 else "tab20"]
    return {n: cmap(i % cmap.N) for i, n in enumerate(names)}


def _label(metric: str) -> str:
    info = METRICS.get(metric)
    return f"{info.label} ({info.unit})" if info else metric.replace("_", " ")


def save(fig: Figure, path: str | Path) -> Path:
    """Write a PNG atomically (a reader never sees half a file)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from gcp.files import atomic_write_bytes

    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    atomic_write_bytes(path, buffer.getvalue())
    return Path(path)


def cost_slo_tradeoff(summary: pd.DataFrame, cost: str = "cost_ratio") -> Figure:
    """Cost against SLO attainment, one point per policy and scenario, with 95 % CIs both ways.

    The oracle sits at (1, 1) when cost is the ratio to it: the lower-right corner is better.
    """
    check_columns(summary, ("policy", "scenario", cost, f"{cost}_lo", f"{cost}_hi",
                            "slo_attainment", "slo_attainment_lo", "slo_attainment_hi"), "summary")
    fig = _figure(7.0, 4.6)
    ax = fig.add_subplot()
    policies = sorted(summary["policy"].unique())
    colors = _colors(policies)
    markers = dict(zip(sorted(summary["scenario"].unique()), "osD^vP*X", strict=False))
    for _, row in summary.iterrows():
        ax.errorbar(
            row[cost], row["slo_attainment"],
            xerr=[[row[cost] - row[f"{cost}_lo"]], [row[f"{cost}_hi"] - row[cost]]],
            yerr=[[row["slo_attainment"] - row["slo_attainment_lo"]],
                  [row["slo_attainment_hi"] - row["slo_attainment"]]],
            fmt=markers.get(row["scenario"], "o"), color=colors[row["policy"]], capsize=2, ms=6,
        )
    if cost == "cost_ratio":
        ax.axvline(1.0, color="grey", lw=0.8, ls="--")
        ax.annotate("oracle", (1.0, ax.get_ylim()[0]), fontsize=8, color="grey")
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=colors[p], marker="o", ls="", label=p) for p in policies]
    handles += [Line2D([], [], color="black", marker=m, ls="", label=s) for s, m in markers.items()]
    ax.legend(handles=handles, fontsize=7, loc="best", ncols=2)
    ax.set_xlabel(_label(cost))
    ax.set_ylabel(_label("slo_attainment"))
    ax.set_title("Cost–SLO trade-off (mean and 95 % bootstrap CI per policy × scenario)")
    ax.grid(alpha=0.3)
    return fig


def scenario_bars(summary: pd.DataFrame, metric: str) -> Figure:
    """Grouped bars: scenario on x, one bar per policy, 95 % bootstrap CI as error bars."""
    check_columns(summary, ("policy", "scenario", metric, f"{metric}_lo", f"{metric}_hi"), "summary")
    fig = _figure(7.5, 4.0)
    ax = fig.add_subplot()
    scenarios = sorted(summary["scenario"].unique())
    policies = sorted(summary["policy"].unique())
    colors = _colors(policies)
    width = 0.8 / max(1, len(policies))
    for i, policy in enumerate(policies):
        rows = summary[summary["policy"] == policy].set_index("scenario").reindex(scenarios)
        mean = rows[metric].to_numpy(dtype=float)
        err = np.vstack([mean - rows[f"{metric}_lo"], rows[f"{metric}_hi"] - mean])
        x = np.arange(len(scenarios)) + (i - (len(policies) - 1) / 2) * width
        ax.bar(x, mean, width, yerr=np.nan_to_num(err), capsize=2, color=colors[policy], label=policy)
    if metric == "cost_ratio":
        ax.axhline(1.0, color="grey", lw=0.8, ls="--")
    ax.set_xticks(np.arange(len(scenarios)), scenarios)
    ax.set_ylabel(_label(metric))
    ax.set_title(f"{METRICS[metric].label if metric in METRICS else metric} per scenario (95 % CI)")
    ax.legend(fontsize=7, ncols=2)
    ax.grid(axis="y", alpha=0.3)
    return fig


def training_curves(training: pd.DataFrame) -> Figure:
    """How the learned policies evolved: episode reward and SLO attainment against env steps."""
    check_columns(training, ("policy", "env_steps", "reward", "slo_attainment"), "training")
    fig = _figure(8.0, 3.6)
    axes = fig.subplots(1, 2)
    policies = sorted(training["policy"].unique())
    colors = _colors(policies)
    for policy in policies:
        rows = training[training["policy"] == policy].sort_values("env_steps")
        for ax, column in zip(axes, ("reward", "slo_attainment"), strict=True):
            ax.plot(rows["env_steps"], rows[column], color=colors[policy], label=policy, lw=1.4)
    axes[0].set_ylabel("mean episode reward")
    axes[1].set_ylabel(_label("slo_attainment"))
    for ax in axes:
        ax.set_xlabel("environment steps")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle("Policy evolution during training")
    return fig


def decision_boundaries(boundaries: pd.DataFrame) -> Figure:
    """Each agent's chosen action over a grid of two observation features (others held at a state)."""
    check_columns(boundaries, ("agent", "feature_x", "feature_y", "x", "y", "action"), "boundaries")
    agents = list(dict.fromkeys(boundaries["agent"]))
    fig = _figure(3.6 * len(agents), 3.4)
    axes = np.atleast_1d(fig.subplots(1, len(agents)))
    from matplotlib import colormaps

    for ax, agent in zip(axes, agents, strict=True):
        rows = boundaries[boundaries["agent"] == agent]
        actions = sorted(rows["action"].astype(str).unique())
        coded = rows.assign(code=rows["action"].astype(str).map({a: i for i, a in enumerate(actions)}))
        grid = coded.pivot_table(index="y", columns="x", values="code", aggfunc="first")
        cmap = colormaps["Set2"].resampled(max(2, len(actions)))
        mesh = ax.pcolormesh(grid.columns, grid.index, grid.to_numpy(), cmap=cmap, shading="nearest",
                             vmin=-0.5, vmax=len(actions) - 0.5)
        bar = fig.colorbar(mesh, ax=ax, ticks=range(len(actions)))
        bar.ax.set_yticklabels(actions, fontsize=7)
        ax.set_xlabel(str(rows["feature_x"].iloc[0]))
        ax.set_ylabel(str(rows["feature_y"].iloc[0]))
        ax.set_title(agent)
    fig.suptitle("Decision boundaries over two observation features")
    return fig


def reward_decomposition(episodes: pd.DataFrame) -> Figure:
    """Mean reward per policy, split into the simulator's terms (stacked; penalties go below 0)."""
    terms = reward_terms(episodes)
    check_columns(episodes, ("policy", *terms), "episodes")
    means = episodes.groupby("policy")[terms].mean().sort_index()
    fig = _figure(7.5, 4.0)
    ax = fig.add_subplot()
    colors = _colors(terms)
    pos = np.zeros(len(means))
    neg = np.zeros(len(means))
    x = np.arange(len(means))
    for term in terms:
        values = means[term].to_numpy(dtype=float)
        base = np.where(values >= 0, pos, neg)
        ax.bar(x, values, 0.6, bottom=base, color=colors[term], label=term.removeprefix("reward_"))
        pos += np.clip(values, 0, None)
        neg += np.clip(values, None, 0)
    ax.plot(x, means.sum(axis=1), "k_", ms=22, mew=2, label="total")
    ax.axhline(0.0, color="black", lw=0.6)
    ax.set_xticks(x, means.index, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("reward per episode")
    ax.set_title("Reward decomposition (mean over episodes)")
    ax.legend(fontsize=7, ncols=3)
    ax.grid(axis="y", alpha=0.3)
    return fig


def perturbation_timelines(timelines: pd.DataFrame) -> Figure:
    """Per perturbation: share of services meeting their SLO and capacity/demand over time."""
    check_columns(timelines, ("policy", "perturbation", "minute", "slo_met", "demand", "capacity",
                              "active"), "timelines")
    perturbations = sorted(timelines["perturbation"].unique())
    fig = _figure(4.0 * len(perturbations), 5.2)
    axes = np.array(fig.subplots(2, len(perturbations), sharex="col", squeeze=False))
    policies = sorted(timelines["policy"].unique())
    colors = _colors(policies)
    for j, pert in enumerate(perturbations):
        rows = timelines[timelines["perturbation"] == pert]
        mean = rows.groupby(["policy", "minute"])[["slo_met", "demand", "capacity", "active"]].mean()
        for policy in policies:
            if policy not in mean.index.get_level_values(0):
                continue
            m = mean.loc[policy]
            axes[0, j].plot(m.index, m["slo_met"], color=colors[policy], lw=1.2, label=policy)
            axes[1, j].plot(m.index, m["capacity"] / np.maximum(m["demand"], 1e-9), color=colors[policy],
                            lw=1.2)
        active = rows.groupby("minute")["active"].max()
        for ax in axes[:, j]:
            ax.fill_between(active.index, 0, 1, where=active.to_numpy() > 0, color="red", alpha=0.1,
                            transform=ax.get_xaxis_transform(), step="mid")
            ax.grid(alpha=0.3)
        axes[0, j].set_title(pert)
        axes[0, j].set_ylim(-0.02, 1.02)
        axes[1, j].axhline(1.0, color="grey", lw=0.8, ls="--")
        axes[1, j].set_xlabel("minutes")
    axes[0, 0].set_ylabel("share of services meeting SLO")
    axes[1, 0].set_ylabel("capacity / demand")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle("Perturbations (shaded: perturbation active)")
    return fig
