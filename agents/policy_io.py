"""Save a trained policy to the registry and load it back, verified.

Only the actors travel (decentralised execution needs nothing else), which
keeps a shipped policy well under 2 MB; the full learner state stays in the
run folder's checkpoint.pt for resuming.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path
from typing import Any

from agents.config import TrainConfig
from agents.layout import Layout
from agents.registry import ModelRegistry, ModelVersion


def simulator_version() -> str:
    """The simulator's version string; a checkpoint records it, evaluation reports it."""
    import envs

    return str(getattr(envs, "__version__", None) or _package_version())


def _package_version() -> str:
    from marlform import __version__

    return __version__


def data_manifest() -> dict[str, Any]:
    """sha256 of the workload profiles the training demand is generated from."""
    folder = resources.files("trace_pipeline").joinpath("profiles")
    files = sorted(p for p in folder.iterdir() if p.name.endswith(".json"))
    return {
        "workload_profiles": {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files},
        "source": "trace_pipeline/profiles (fitted from Google Cluster Data 2011/2019 samples)",
    }


def register_result(result: Any, cfg: TrainConfig, name: str, *, registry: str | Path | None = None,
                    promote: bool = False) -> ModelVersion:
    """Store a finished run's actors as a new immutable version: those of the evaluation with the
    best *validation* return (training-distribution workloads); held-out numbers are recorded only."""
    from agents.training.trainer import load_training_state

    state = load_training_state(result.run_dir)
    chosen = result.selected_eval
    metrics = {
        "selected_iteration": chosen["iteration"],
        "validation_return": chosen["validation_return"],
        "eval_return": chosen["return"],
        "eval_cost_usd": chosen.get("cost_usd"),
        "eval_slo_attainment": chosen.get("slo_attainment"),
        "first_eval_return": result.first_eval["return"],
        "last_eval_return": result.evaluations[-1]["return"],
        "env_steps": result.env_steps,
        "updates": result.updates,
        "rollbacks": result.rollbacks,
        "train_seconds": round(result.seconds, 1),
    }
    reg = ModelRegistry(registry)
    item = reg.save(
        name,
        {"actors": state["best"]["actors"]},
        config=cfg.to_dict(),
        layout=result.layout,
        simulator_version=simulator_version(),
        data_manifest=data_manifest(),
        metrics=metrics,
    )
    if promote:
        reg.promote(name, item.version)
    return item


def load_actors(name: str, version: str | None = None, *, registry: str | Path | None = None,
                expect_layout: dict[str, Any] | None = None):
    """(ActorSet in eval mode, ModelVersion) of a verified registry checkpoint."""
    from agents.config import MADDPGConfig
    from agents.networks import ActorSet

    state, item = ModelRegistry(registry).load(name, version, expect_layout=expect_layout)
    layout = Layout.from_dict(item.metadata["layout"])
    cfg = MADDPGConfig(**item.metadata["config"]["maddpg"])
    actors = ActorSet(layout, cfg)
    actors.load_state_dict(state["actors"])
    return actors.eval(), item
