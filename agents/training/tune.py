"""Hyperparameter search with Ray Tune and a Bayesian (Optuna TPE) searcher.

Search space (issue 7): lr in 1e-4..1e-2 (log), gamma in 0.95..0.99, and the
layer sizes. Each trial is one `train()` run that collects in-process
(rollout_actors=0): a trial already holds a CPU, and nesting rollout actors
inside trials would deadlock a small machine. The objective is the *validation*
return of the trial's last evaluation (training-distribution workloads); the held-out
return is reported beside it and never optimised.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from agents.config import TrainConfig


def search_space() -> dict[str, Any]:
    from ray import tune

    return {
        "lr": tune.loguniform(1e-4, 1e-2),
        "gamma": tune.uniform(0.95, 0.99),
        "hidden": tune.choice([32, 64, 128]),
        "embed": tune.choice([16, 32]),
    }


def _trial(params: dict[str, Any], base: dict[str, Any]) -> None:
    from ray import tune

    from agents.training.trainer import train

    cfg = TrainConfig.from_dict(base).with_overrides(
        lr_actor=params["lr"],
        lr_critic=params["lr"],
        gamma=params["gamma"],
        hidden=params["hidden"],
        embed=params["embed"],
        rollout_actors=0,
    )
    with tempfile.TemporaryDirectory() as run_dir:
        result = train(cfg, run_dir, track=False)
    last = result.evaluations[-1]
    tune.report({"validation_return": last["validation_return"], "eval_return": last["return"],
                 "eval_cost_usd": last.get("cost_usd", float("nan"))})


def tune_search(
    base: TrainConfig,
    num_samples: int,
    storage: str | Path,
    *,
    seed: int = 0,
    max_concurrent: int = 1,
    ray_address: str | None = None,
    num_cpus: int | None = None,
) -> list[dict[str, Any]]:
    """Run `num_samples` trials; returns their params and scores, best first."""
    import ray
    from ray import tune
    from ray.tune.search import ConcurrencyLimiter
    from ray.tune.search.optuna import OptunaSearch

    from agents.training.ray_session import start_ray

    owns = start_ray(ray_address, num_cpus)
    try:
        searcher = ConcurrencyLimiter(
            OptunaSearch(metric="validation_return", mode="max", seed=seed), max_concurrent=max_concurrent
        )
        trainable = tune.with_parameters(_trial, base=replace(base, rollout_actors=0).to_dict())
        tuner = tune.Tuner(
            tune.with_resources(trainable, {"cpu": 1}),
            param_space=search_space(),
            tune_config=tune.TuneConfig(search_alg=searcher, num_samples=num_samples),
            run_config=tune.RunConfig(
                storage_path=str(Path(storage).resolve()), name="maddpg-tune", verbose=0
            ),
        )
        grid = tuner.fit()
        rows = []
        for res in grid:
            if res.error is not None:
                raise RuntimeError(f"Tune trial failed: {res.error}")
            keys = ("validation_return", "eval_return", "eval_cost_usd")
            rows.append({**res.config, **{k: res.metrics[k] for k in keys}})
        return sorted(rows, key=lambda r: -r["validation_return"])
    finally:
        if owns:
            ray.shutdown()
