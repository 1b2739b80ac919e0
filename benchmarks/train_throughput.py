"""Training throughput: MADDPG (ours, Ray rollout actors + learner) against RLlib PPO, same env, same run.

Both learn the web scenario of the simulator. MADDPG runs `agents.training.trainer.train`
(default preset sizes) with 2 Ray rollout actors stepping the batched core; PPO runs RLlib
(new API stack) on the simulator's registered single-agent env ("marlform-single": the four
agents' joint action, the PettingZoo view underneath) with 2 env runners. Reported, in the
steady state (start-up and warm-up excluded): env-steps/s, and learner updates/s (one
update = one gradient step on one minibatch; MADDPG's includes the actor step here).

Usage: .venv/bin/python benchmarks/train_throughput.py [--iterations 40] [--ppo-iterations 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time


def maddpg(iterations: int) -> dict[str, float]:
    """Steady state: iterations after the replay warm-up, actors updating from the start."""
    import ray

    from agents.config import preset
    from agents.training.trainer import train

    ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True, log_to_driver=False)
    stamps: list[float] = []
    try:
        cfg = preset("default").with_overrides(
            iterations=iterations, eval_every=iterations, rollout_actors=2, critic_warmup=0
        )
        with tempfile.TemporaryDirectory() as run_dir:
            res = train(cfg, run_dir, track=False,
                        progress=lambda done, total, m: stamps.append(time.perf_counter()))
    finally:
        ray.shutdown()
    per_iter = cfg.rollout_actors * cfg.envs_per_actor * cfg.steps_per_iteration
    first = -(-cfg.warmup_transitions // per_iter) + 1  # first iteration with updates, then one more
    window = iterations - 1 - first  # the last iteration also runs the final evaluation
    seconds = stamps[-2] - stamps[first]
    return {
        "seconds": seconds,
        "env_steps": window * per_iter,
        "updates": window * cfg.updates_per_iteration,
        "env_steps_per_s": window * per_iter / seconds,
        "updates_per_s_wall": window * cfg.updates_per_iteration / seconds,
        "updates_per_s_learner": res.updates / max(res.learner_seconds, 1e-9),
        "batch_size": cfg.maddpg.batch_size,
    }


def ppo(iterations: int) -> dict[str, float]:
    import ray

    from agents.baselines.ppo import PPOBudget, ppo_config

    ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True, log_to_driver=False)
    try:
        batch, minibatch, epochs = 1024, 128, 4
        budget = PPOBudget(iterations=iterations, train_batch=batch, minibatch=minibatch, epochs=epochs,
                           episode_steps=288, env_runners=2, hidden=(256, 256))
        config = ppo_config("single", False, {"scenario": "web", "patterns": ["steady"]}, budget, seed=0)
        algo = config.build_algo()
        algo.train()  # warm-up: builds the env runners and the learner, not measured
        start = time.perf_counter()
        steps0 = _env_steps(algo.train())
        for _ in range(iterations - 1):
            result = algo.train()
        seconds = time.perf_counter() - start
        steps = _env_steps(result) - steps0 + batch
        algo.stop()
    finally:
        ray.shutdown()
    updates = iterations * epochs * (batch // minibatch)
    return {
        "seconds": seconds,
        "env_steps": steps,
        "updates": updates,
        "env_steps_per_s": steps / seconds,
        "updates_per_s_wall": updates / seconds,
        "batch_size": minibatch,
    }


def _env_steps(result: dict) -> float:
    return float(result["env_runners"]["num_env_steps_sampled_lifetime"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=60, help="MADDPG iterations (default preset's sizes)")
    parser.add_argument("--ppo-iterations", type=int, default=5, help="measured PPO iterations (1,024 steps each)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = {"maddpg": maddpg(args.iterations), "rllib_ppo": ppo(args.ppo_iterations)}
    results["env_steps_ratio_maddpg_over_ppo"] = (
        results["maddpg"]["env_steps_per_s"] / results["rllib_ppo"]["env_steps_per_s"]
    )
    results["updates_ratio_maddpg_over_ppo"] = (
        results["maddpg"]["updates_per_s_wall"] / results["rllib_ppo"]["updates_per_s_wall"]
    )
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for name in ("maddpg", "rllib_ppo"):
        r = results[name]
        print(f"{name:10s} env-steps/s {r['env_steps_per_s']:9.1f}   updates/s {r['updates_per_s_wall']:7.2f} "
              f"(batch {r['batch_size']})   {r['env_steps']:.0f} steps, {r['updates']} updates in {r['seconds']:.1f} s")
    print(f"ratio MADDPG/PPO: env-steps/s {results['env_steps_ratio_maddpg_over_ppo']:.2f}x, "
          f"updates/s {results['updates_ratio_maddpg_over_ppo']:.2f}x")


if __name__ == "__main__":
    main()
