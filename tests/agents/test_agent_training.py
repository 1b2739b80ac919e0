"""Training on the real simulator: Ray rollout actors, resume, and a tiny Tune search."""

from __future__ import annotations

import pytest
import ray
import torch

from agents.config import preset
from agents.training.trainer import load_training_state, stage_at, train


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True, log_to_driver=False)
    yield
    ray.shutdown()


def test_tiny_run_with_two_ray_rollout_actors_improves_over_first_evaluation(tmp_path, local_ray):
    cfg = preset("tiny").with_overrides(rollout_actors=2, iterations=20, seed=0)
    seen = []
    result = train(cfg, tmp_path / "run", progress=lambda done, total, m: seen.append((done, m["stage"])))
    first, last = result.evaluations[0], result.evaluations[-1]
    assert last["return"] > first["return"], result.evaluations
    assert result.env_steps == 20 * 2 * cfg.envs_per_actor * cfg.steps_per_iteration
    assert [s for _, s in seen][::5] == ["steady", "cyclical", "burst", "faults"]  # the curriculum
    assert (tmp_path / "run" / "tensorboard").is_dir() and (tmp_path / "mlruns").is_dir()


def test_training_resumes_from_its_checkpoint(tmp_path):
    cfg = preset("tiny").with_overrides(rollout_actors=0, iterations=10, eval_every=5)
    train(cfg, tmp_path, track=False)
    saved = load_training_state(tmp_path)
    assert saved["iteration"] == 10 and len(saved["evaluations"]) == 3
    # the kept actors are those of the best *validation* return, whatever the held-out numbers say
    best = max(saved["evaluations"],
               key=lambda e: (e["validation_slo_attainment"] >= 0.99, e["validation_return"]))
    assert saved["best"]["iteration"] == best["iteration"]
    assert set(saved["best"]["actors"]) == set(saved["maddpg"]["actors"])
    longer = cfg.with_overrides(iterations=15)
    result = train(longer, tmp_path, resume=True, track=False)
    assert [e["iteration"] for e in result.evaluations] == [0.0, 5.0, 10.0, 15.0]
    resumed = load_training_state(tmp_path)
    assert resumed["maddpg"]["updates"] > saved["maddpg"]["updates"]
    assert not torch.equal(resumed["maddpg"]["actors"]["heads.compute.weight"],
                           saved["maddpg"]["actors"]["heads.compute.weight"])


def test_curriculum_shares():
    cfg = preset("tiny").with_overrides(iterations=8)
    assert [stage_at(cfg, i) for i in range(8)] == ["steady"] * 2 + ["cyclical"] * 2 + ["burst"] * 2 + ["faults"] * 2


def test_two_trial_tune_search_runs(tmp_path, local_ray):
    from agents.training.tune import tune_search

    base = preset("tiny").with_overrides(iterations=4, eval_every=4, warmup_transitions=16)
    rows = tune_search(base, num_samples=2, storage=tmp_path)
    assert len(rows) == 2
    for row in rows:
        assert 1e-4 <= row["lr"] <= 1e-2 and 0.95 <= row["gamma"] <= 0.99 and row["hidden"] in (32, 64, 128)
        assert row["validation_return"] == row["validation_return"]  # a number, not NaN
    assert rows[0]["validation_return"] >= rows[1]["validation_return"]


def test_rollback_returns_the_actors_to_the_kept_ones_after_a_regression():
    from agents.training.trainer import _regressed

    cfg = preset("default")
    best = {"iteration": 40.0, "validation_return": 140.0, "feasible": True}
    evaluation = lambda ret, slo=1.0, it=60.0: {  # noqa: E731
        "iteration": it, "validation_return": ret, "validation_slo_attainment": slo}
    assert _regressed(evaluation(132.0), best, cfg)  # more than 5 % of |return| below the kept
    assert not _regressed(evaluation(134.0), best, cfg)
    assert _regressed(evaluation(150.0, slo=0.9), best, cfg)  # lost the SLO feasibility it had
    assert not _regressed(evaluation(100.0, it=40.0), best, cfg)  # the kept evaluation itself
    assert not _regressed(evaluation(-500.0), best, cfg.with_overrides(rollback_drop=0.0))


def test_restored_actors_act_like_the_kept_ones_while_the_critics_keep_learning(tmp_path):
    cfg = preset("tiny").with_overrides(rollout_actors=0, iterations=6, eval_every=3)
    train(cfg, tmp_path, track=False)
    saved = load_training_state(tmp_path)
    from agents.training.learner import Learner
    from agents.training.trainer import env_specs

    layout = env_specs(cfg)[0][0].build("steady").layout
    learner = Learner(layout, cfg.maddpg, seed=0)
    learner.maddpg.load_state_dict(saved["maddpg"])
    with torch.no_grad():  # an excursion: the actors move away from the kept ones
        for parameter in learner.maddpg.actors.parameters():
            parameter.add_(1.0)
    assert learner.maddpg.opt_actor.state  # the resumed Adam has moments to forget
    critic_before = {k: v.clone() for k, v in learner.maddpg.critics.state_dict().items()}
    learner.maddpg.restore_actors(saved["best"]["actors"])
    for key, value in saved["best"]["actors"].items():
        assert torch.equal(learner.maddpg.actors.state_dict()[key], value)
        assert torch.equal(learner.maddpg.target_actors.state_dict()[key], value)
    assert not learner.maddpg.opt_actor.state  # fresh Adam moments: no momentum from the excursion
    for key, value in learner.maddpg.critics.state_dict().items():
        assert torch.equal(value, critic_before[key])
