"""Hyperparameters, ablation switches and training presets, in one typed place.

A config is plain data so that it can be stored in checkpoint metadata,
logged to MLflow, and overridden by Ray Tune trials without code changes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal

from gcp.errors import MarlformError

Exploration = Literal["entropy", "param_noise"]
#: Curriculum stages in order; each is a workload pattern (plus faults) of the simulator.
CURRICULUM: tuple[str, ...] = ("steady", "cyclical", "burst", "faults")


class ConfigError(MarlformError):
    """An unknown preset or a bad hyperparameter."""


@dataclass(frozen=True)
class MADDPGConfig:
    """Learner hyperparameters and ablation switches."""

    hidden: int = 64
    embed: int = 32
    lr_actor: float = 3e-4
    lr_critic: float = 1e-3
    gamma: float = 0.95
    tau: float = 0.01
    batch_size: int = 256
    grad_clip: float = 1.0
    policy_delay: int = 2  # critic updates per actor update (TD3)
    critic_warmup: int = 0  # critic-only updates before the actors start to move
    bc_weight: float = 0.0  # TD3+BC-style pull towards replayed choices (0 = plain MADDPG)
    twin_critics: bool = False  # TD3's clipped double-Q against over-estimation
    gumbel_tau: float = 1.0
    keep_bias: float = 2.0  # initial logit bonus of "keep" in every knob slot
    exploration: Exploration = "entropy"
    entropy_coef: float = 0.01
    param_noise_std: float = 0.05
    param_noise_target: float = 0.1  # wanted fraction of knob choices the noise changes
    # replay
    buffer_size: int = 100_000
    per_alpha: float = 0.6
    per_beta: float = 0.4
    her_ratio: float = 0.25
    goal_bonus: float = 0.5
    # ablations (docs/agents.md, "Ablations")
    use_gnn: bool = True
    central_critic: bool = True
    use_attention: bool = True
    use_per: bool = True

    def __post_init__(self) -> None:
        if self.exploration not in ("entropy", "param_noise"):
            raise ConfigError(f"exploration must be 'entropy' or 'param_noise', not {self.exploration!r}")
        for name in ("lr_actor", "lr_critic", "tau", "batch_size", "hidden", "embed", "policy_delay"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)}")
        if not 0.0 < self.gamma < 1.0:
            raise ConfigError(f"gamma must lie in (0, 1), got {self.gamma}")


@dataclass(frozen=True)
class TrainConfig:
    """What to train on, for how long, and with how many Ray rollout actors."""

    scenario: str = "web"
    seed: int = 0
    rollout_actors: int = 2
    envs_per_actor: int = 8
    episode_steps: int = 96  # 8 h of 5-minute steps
    iterations: int = 200
    steps_per_iteration: int = 8  # per rollout actor, per iteration (x envs_per_actor transitions)
    updates_per_iteration: int = 8
    warmup_transitions: int = 1_000
    eval_every: int = 20
    eval_episodes: int = 4
    curriculum: tuple[str, ...] = CURRICULUM
    train_split: str = "train"
    #: Model selection: prefer evaluations whose validation SLO attainment reaches this.
    select_min_slo: float = 0.99
    #: Roll the actors back to the kept ones when an evaluation falls this share of |return|
    #: below them (or loses SLO feasibility they had); 0 = never (docs/agents.md, "Rollback").
    rollback_drop: float = 0.0
    env_factory: str = "agents.sim_env:SimulatorTrainingEnv"
    maddpg: MADDPGConfig = field(default_factory=MADDPGConfig)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["curriculum"] = list(self.curriculum)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown training option(s): {', '.join(unknown)}")
        maddpg = MADDPGConfig(**data.get("maddpg", {}))
        rest = {k: v for k, v in data.items() if k != "maddpg"}
        if "curriculum" in rest:
            rest["curriculum"] = tuple(rest["curriculum"])
        return cls(**rest, maddpg=maddpg)

    def with_overrides(self, **overrides: Any) -> TrainConfig:
        """Apply flat overrides; keys of MADDPGConfig go to the learner config."""
        learner_keys = {f.name for f in fields(MADDPGConfig)}
        learner = {k: v for k, v in overrides.items() if k in learner_keys}
        outer = {k: v for k, v in overrides.items() if k not in learner_keys}
        return replace(self, **outer, maddpg=replace(self.maddpg, **learner))


#: Named presets; `marlform train --preset NAME`.
PRESETS: dict[str, TrainConfig] = {
    # The shipped policy: sized to finish in well under 30 minutes on 2 shared cores
    # (benchmarks/train_time.py): 92k transitions, ~5,700 updates of batch 128.
    # Parameter noise explores a few knobs at a time (per-step sampling of ~32 slots
    # random-walks the deployment far from any sensible configuration); the actors wait
    # for 300 critic updates and move slowly, else they chase an untrained critic.
    # Evaluations every 20 iterations feed the rollback: a run that runs away (every service
    # scaled out, say) restarts from its kept actors instead of staying lost (docs/agents.md).
    "default": TrainConfig(
        iterations=720,
        eval_every=20,
        rollback_drop=0.05,
        maddpg=MADDPGConfig(batch_size=128, exploration="param_noise", lr_actor=1e-4, critic_warmup=300),
    ),
    # Seconds, for tests and smoke runs.
    "tiny": TrainConfig(
        rollout_actors=2,
        envs_per_actor=4,
        episode_steps=24,
        iterations=30,
        steps_per_iteration=4,
        updates_per_iteration=4,
        warmup_transitions=64,
        eval_every=10,
        eval_episodes=2,
        # no "keep" prior and a faster actor: a short run starts uninformed, so learning shows
        maddpg=MADDPGConfig(hidden=32, embed=16, batch_size=64, buffer_size=5_000, keep_bias=0.0,
                            lr_actor=1e-3, policy_delay=1),
    ),
}


def preset(name: str) -> TrainConfig:
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}") from None
