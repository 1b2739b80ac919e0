"""Episode timeline and its PNG: demand against capacity per service, cost, SLO, agents' actions.

matplotlib is imported only when a picture is drawn (Agg backend, no display).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from envs.knobs import AGENTS
from envs.topology import Topology
from gcp.files import atomic_write_bytes


class Timeline:
    """Per-step records of environment 0 of a core."""

    def __init__(self, topo: Topology):
        self.topo = topo
        self.demand: list[np.ndarray] = []
        self.capacity: list[np.ndarray] = []
        self.cost_per_hour: list[float] = []
        self.slo: list[float] = []
        self.actions: dict[str, list[int]] = {a: [] for a in AGENTS}

    def record(self, core, chosen: dict[str, np.ndarray]) -> None:
        s = self.topo.n_services
        out = core.last
        self.demand.append(out.demand[0, :s].copy())
        self.capacity.append(out.capacity[0, :s] * 0.995)
        self.cost_per_hour.append(float(out.cost[0]) * 3600.0 / core.config.step_s)
        self.slo.append(float(out.slo_met[0].mean()) if s else 1.0)
        for agent in AGENTS:
            self.actions[agent].append(int((chosen.get(agent, np.zeros((1, 0)))[0] != 0).sum()))

    def figure(self):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        steps = np.arange(1, len(self.cost_per_hour) + 1)
        hours = steps * 5 / 60.0
        names = self.topo.service_names
        fig, axes = plt.subplots(4, 1, figsize=(10, 11), sharex=True)
        ax = axes[0]
        if self.demand:
            demand, capacity = np.array(self.demand), np.array(self.capacity)
            for i, name in enumerate(names):
                line, = ax.plot(hours, demand[:, i], label=f"{name} demand")
                ax.plot(hours, capacity[:, i], linestyle="--", color=line.get_color(), label=f"{name} capacity")
        ax.set_ylabel("requests/s")
        ax.set_yscale("symlog")
        ax.legend(fontsize=7, ncol=2)
        ax.set_title(f"{self.topo.spec.name}: demand vs capacity per service")
        axes[1].plot(hours, self.cost_per_hour, color="tab:red")
        axes[1].set_ylabel("cost, USD/h")
        axes[2].plot(hours, self.slo, color="tab:green")
        axes[2].set_ylabel("share of services\nmeeting SLO")
        axes[2].set_ylim(-0.05, 1.05)
        for j, agent in enumerate(AGENTS):
            acted = np.nonzero(np.array(self.actions[agent]))[0]
            axes[3].scatter(hours[acted], np.full(len(acted), j), s=10, label=agent)
        axes[3].set_yticks(range(len(AGENTS)), AGENTS)
        axes[3].set_ylabel("actions")
        axes[3].set_xlabel("hours")
        fig.tight_layout()
        return fig

    def rgb(self) -> np.ndarray:
        fig = self.figure()
        fig.canvas.draw()
        image = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
        import matplotlib.pyplot as plt

        plt.close(fig)
        return image

    def save_png(self, path: str | Path) -> str:
        import io

        import matplotlib.pyplot as plt

        fig = self.figure()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=90)
        plt.close(fig)
        atomic_write_bytes(path, buffer.getvalue())
        return str(path)
