"""Wall-clock time of `marlform train --preset default` (the shipped policy), against the 30-minute budget.

Runs the preset exactly as the CLI does (2 Ray rollout actors, TensorBoard + MLflow on,
no registration). With --iterations N it runs only the first N iterations and projects the
full preset from the median seconds per iteration after the warm-up, plus the measured
start-up and evaluation overheads; without it, the whole preset is timed.

Usage: .venv/bin/python benchmarks/train_time.py [--iterations 60] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time

BUDGET_S = 30 * 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=None, help="time a prefix and project (default: all)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from agents.config import preset
    from agents.training.trainer import train

    full = preset("default")
    cfg = full if args.iterations is None else full.with_overrides(iterations=args.iterations)
    stamps: list[float] = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as run_dir:
        result = train(cfg, run_dir, progress=lambda done, total, m: stamps.append(time.perf_counter()))
    total = time.perf_counter() - start
    warm = max(1, full.warmup_transitions // (full.rollout_actors * full.envs_per_actor * full.steps_per_iteration))
    steps = [b - a for a, b in zip(stamps[warm:], stamps[warm + 1:], strict=False)]
    per_iter = statistics.median(steps) if steps else total / max(1, len(stamps))
    startup = stamps[0] - start if stamps else total
    evals = len(result.evaluations)
    eval_s = result.timings["eval"] / max(1, evals)
    projected = startup + per_iter * full.iterations + eval_s * (full.iterations // full.eval_every + 1)
    out = {
        "iterations_run": cfg.iterations,
        "preset_iterations": full.iterations,
        "measured_s": total,
        "startup_s": startup,
        "median_iteration_s": per_iter,
        "projected_preset_s": projected if args.iterations else total,
        "budget_s": BUDGET_S,
        "env_steps": result.env_steps,
        "updates": result.updates,
    }
    out["ratio_to_budget"] = out["projected_preset_s"] / BUDGET_S
    if args.json:
        print(json.dumps(out, indent=2))
        return
    for key, value in out.items():
        print(f"{key:22s} {value:.2f}" if isinstance(value, float) else f"{key:22s} {value}")


if __name__ == "__main__":
    main()
