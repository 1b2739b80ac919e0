"""The training loop: Ray rollout actors, a parameter server, and the learner.

    driver (learner)            parameter server (Ray actor)     rollout actors (Ray)
    ----------------            ----------------------------     --------------------
    publish weights v  ───────▶  holds (weights, v)  ◀───────────  pull if v changed
    launch collect(T)  ─────────────────────────────────────────▶  step N envs x T
    K gradient updates on replay (overlaps the collection)
    gather chunks  ◀────────────────────────────────────────────  chunks + episode stats
    every E iterations: greedy evaluation on held-out workloads, checkpoint

The curriculum walks steady → cyclical → burst → faults in equal shares of
the iterations. A checkpoint (`checkpoint.pt` in the run folder) is written
after every evaluation, so `resume=True` continues where a run stopped (the
replay buffer is refilled, not saved: it is large and quickly regrown).
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agents.config import TrainConfig
from agents.env_adapter import EnvSpec
from gcp.files import atomic_write_bytes

Progress = Callable[[int, int, dict[str, float]], None]


@dataclass
class TrainResult:
    run_dir: Path
    iterations: int
    evaluations: list[dict[str, float]]
    env_steps: int
    updates: int
    seconds: float
    layout: dict[str, Any]
    learner_seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    selected_iteration: float = 0.0
    rollbacks: int = 0  # times the actors were returned to the kept ones (TrainConfig.rollback_drop)

    @property
    def first_eval(self) -> dict[str, float]:
        return self.evaluations[0]

    @property
    def selected_eval(self) -> dict[str, float]:
        """The evaluation of the iteration whose actors are kept (see `_keep_best`)."""
        return next(e for e in self.evaluations if e["iteration"] == self.selected_iteration)


def stage_at(cfg: TrainConfig, iteration: int) -> str:
    """The curriculum stage of an iteration: equal shares, in order."""
    share = max(1, -(-cfg.iterations // len(cfg.curriculum)))
    return cfg.curriculum[min(len(cfg.curriculum) - 1, iteration // share)]


def env_specs(cfg: TrainConfig) -> tuple[list[EnvSpec], EnvSpec, EnvSpec]:
    """Training specs (one per rollout actor, distinct seeds), validation and held-out specs.

    Validation uses training-distribution workloads with seeds no rollout uses; it picks
    the actors to keep. The held-out split (another part of the trace) is only reported.
    """
    actors = max(1, cfg.rollout_actors)
    common = {"scenario": cfg.scenario, "episode_steps": cfg.episode_steps, "factory": cfg.env_factory}
    train = [
        EnvSpec(num_envs=cfg.envs_per_actor, split=cfg.train_split, seed=cfg.seed * 100 + i, **common)
        for i in range(actors)
    ]
    validation = EnvSpec(num_envs=cfg.eval_episodes, split="train", seed=20_000 + cfg.seed, **common)
    held_out = EnvSpec(num_envs=cfg.eval_episodes, split="test", seed=10_000 + cfg.seed, **common)
    return train, validation, held_out


def train(
    cfg: TrainConfig,
    run_dir: str | Path,
    *,
    ray_address: str | None = None,
    num_cpus: int | None = None,
    resume: bool = False,
    progress: Progress | None = None,
    track: bool = True,
) -> TrainResult:
    """Train MADDPG per `cfg`; rollout_actors=0 collects in-process (no Ray), e.g. inside Tune."""
    import torch

    from agents.training.learner import Learner
    from agents.training.rollout import RolloutWorker
    from agents.training.tracking import Tracker

    torch.set_num_threads(1)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    train_specs, val_spec, eval_spec = env_specs(cfg)
    layout = train_specs[0].build(cfg.curriculum[0]).layout
    learner = Learner(layout, cfg.maddpg, seed=cfg.seed)
    layout_dict, cfg_dict = layout.to_dict(), asdict(cfg.maddpg)
    start, evaluations, best = 0, [], None
    checkpoint = run_dir / "checkpoint.pt"
    if resume and checkpoint.is_file():
        saved = torch.load(checkpoint, map_location="cpu", weights_only=True)
        learner.maddpg.load_state_dict(saved["maddpg"])
        start, evaluations, best = int(saved["iteration"]), list(saved["evaluations"]), saved["best"]

    evaluators = (RolloutWorker(val_spec, layout_dict, cfg_dict, seed=val_spec.seed),
                  RolloutWorker(eval_spec, layout_dict, cfg_dict, seed=eval_spec.seed))
    pool = _RolloutPool(cfg, train_specs, layout_dict, cfg_dict, ray_address, num_cpus)
    tracker = Tracker(run_dir, cfg.to_dict(), enabled=track)
    env_steps = updates = rollbacks = 0
    timings = {"collect_wait": 0.0, "learn": 0.0, "eval": 0.0}
    began = time.perf_counter()
    try:
        if not evaluations:
            evaluations.append(_evaluate(evaluators, learner, cfg, 0, timings))
            best = _keep_best(best, evaluations[-1], learner, cfg.select_min_slo)
            tracker.log(0, {f"eval/{k}": v for k, v in evaluations[-1].items()})
        for it in range(start, cfg.iterations):
            stage = stage_at(cfg, it)
            pending = pool.launch(learner.actor_weights(), it, stage)
            t0 = time.perf_counter()
            metrics: dict[str, float] = {}
            if len(learner.buffer) >= cfg.warmup_transitions:
                beta = cfg.maddpg.per_beta + (1.0 - cfg.maddpg.per_beta) * it / max(1, cfg.iterations - 1)
                for _ in range(cfg.updates_per_iteration):
                    metrics = learner.update(beta)
                    updates += 1
            timings["learn"] += time.perf_counter() - t0
            t0 = time.perf_counter()
            results = pool.gather(pending)
            timings["collect_wait"] += time.perf_counter() - t0
            episodes = []
            for res in results:
                learner.add(res["chunks"])
                env_steps += res["env_steps"]
                episodes += res["episodes"]
            metrics.update(_mean_episode(episodes, "train/"))
            metrics["curriculum/stage"] = float(cfg.curriculum.index(stage))
            done = it + 1
            if done % cfg.eval_every == 0 or done == cfg.iterations:
                evaluations.append(_evaluate(evaluators, learner, cfg, done, timings))
                best = _keep_best(best, evaluations[-1], learner, cfg.select_min_slo)
                metrics.update({f"eval/{k}": v for k, v in evaluations[-1].items()})
                if _regressed(evaluations[-1], best, cfg):
                    learner.maddpg.restore_actors(best["actors"])
                    rollbacks += 1
                metrics["train/rollbacks"] = float(rollbacks)
                _save_checkpoint(checkpoint, learner, done, evaluations, best, cfg)
            tracker.log(done, metrics)
            if progress is not None:
                progress(done, cfg.iterations, {**metrics, "stage": stage})
    finally:
        pool.close()
        tracker.close({"run_dir": str(run_dir)})
    return TrainResult(
        run_dir=run_dir,
        iterations=cfg.iterations,
        evaluations=evaluations,
        env_steps=env_steps,
        updates=updates,
        seconds=time.perf_counter() - began,
        layout=layout_dict,
        learner_seconds=timings["learn"],
        timings=timings,
        selected_iteration=best["iteration"],
        rollbacks=rollbacks,
    )


def load_training_state(run_dir: str | Path) -> dict[str, Any]:
    import torch

    return torch.load(Path(run_dir) / "checkpoint.pt", map_location="cpu", weights_only=True)


class _RolloutPool:
    """Rollout actors on Ray, or one in-process worker when rollout_actors == 0."""

    def __init__(self, cfg: TrainConfig, specs: list[EnvSpec], layout: dict[str, Any],
                 learner_cfg: dict[str, Any], address: str | None, num_cpus: int | None):
        from agents.training.rollout import ParameterServer, RolloutWorker

        self.remote = cfg.rollout_actors > 0
        self.steps = cfg.steps_per_iteration
        if not self.remote:
            self.workers = [RolloutWorker(specs[0], layout, learner_cfg, seed=specs[0].seed)]
            return
        import ray

        from agents.training.ray_session import start_ray

        self.owns_ray = start_ray(address, num_cpus)
        self.ray = ray
        self.server = ray.remote(ParameterServer).options(num_cpus=0).remote()
        actor = ray.remote(RolloutWorker).options(num_cpus=0.5)
        self.workers = [actor.remote(s, layout, learner_cfg, s.seed) for s in specs]

    def launch(self, weights: dict[str, Any], version: int, stage: str) -> Any:
        if not self.remote:
            return (weights, stage)
        self.ray.get(self.server.set.remote(weights, version))  # workers must see this version
        return [w.collect.remote(self.steps, stage, server=self.server) for w in self.workers]

    def gather(self, pending: Any) -> list[dict[str, Any]]:
        if not self.remote:
            weights, stage = pending
            return [self.workers[0].collect(self.steps, stage, weights=weights)]
        return self.ray.get(pending)

    def close(self) -> None:
        if self.remote:
            for worker in self.workers:
                self.ray.kill(worker)
            self.ray.kill(self.server)
            if self.owns_ray:
                self.ray.shutdown()


def _evaluate(evaluators, learner, cfg: TrainConfig, step: int, timings: dict[str, float]) -> dict[str, float]:
    """Greedy validation (training distribution) and held-out episodes of the current actors."""
    t0 = time.perf_counter()
    weights = learner.actor_weights()
    validation, held_out = (e.evaluate(weights, "cyclical", seed=cfg.seed + 777) for e in evaluators)
    timings["eval"] += time.perf_counter() - t0
    return {"iteration": float(step), **_mean_episode(held_out, ""),
            **_mean_episode(validation, "validation_")}


def _keep_best(best: dict[str, Any] | None, evaluation: dict[str, float], learner,
               min_slo: float) -> dict[str, Any]:
    """Model selection on validation episodes only (the held-out numbers never choose).

    An evaluation whose validation SLO attainment reaches `min_slo` beats one that does not;
    among equals, the higher validation return wins.
    """
    key = (evaluation["validation_slo_attainment"] >= min_slo, evaluation["validation_return"])
    if best is None or key > (best["feasible"], best["validation_return"]):
        return {"actors": learner.actor_weights(), "iteration": evaluation["iteration"],
                "validation_return": evaluation["validation_return"], "feasible": key[0]}
    return best


def _regressed(evaluation: dict[str, float], best: dict[str, Any], cfg: TrainConfig) -> bool:
    """Whether the current actors fell far enough below the kept ones to be rolled back.

    Why: MADDPG's greedy policy can run away (every service scaled out, say) and then spend
    the rest of the run far from anything worth keeping; a rollback restarts the actors from
    the kept point while the critics keep what the excursion taught them.
    """
    if cfg.rollback_drop <= 0 or evaluation["iteration"] == best["iteration"]:
        return False
    if best["feasible"] and evaluation["validation_slo_attainment"] < cfg.select_min_slo:
        return True
    floor = best["validation_return"] - cfg.rollback_drop * abs(best["validation_return"])
    return evaluation["validation_return"] < floor


def _mean_episode(episodes: list[dict[str, float]], prefix: str) -> dict[str, float]:
    if not episodes:
        return {}
    keys = episodes[0].keys()
    return {f"{prefix}{k}": float(np.mean([e[k] for e in episodes])) for k in keys}


def _save_checkpoint(path: Path, learner, iteration: int, evaluations, best, cfg: TrainConfig) -> None:
    import torch

    buffer = io.BytesIO()
    torch.save(
        {
            "maddpg": learner.maddpg.state_dict(),
            "iteration": iteration,
            "evaluations": evaluations,
            "best": best,
            "config": cfg.to_dict(),
        },
        buffer,
    )
    atomic_write_bytes(path, buffer.getvalue())
