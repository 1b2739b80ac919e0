"""Policies by name, for a scenario: the rule baselines, the registered MADDPG models and the RLlib PPO baselines.

Why names: a suite is plain data (it is stored in the reproducibility record),
and a worker process rebuilds each policy from its name. Names:

- `hpa`, `mig`, `static`: the rule baselines of `agents.baselines.RULES`;
- `maddpg`: the promoted version of the registry model `<scenario>-maddpg`
  (what `marlform train --scenario S --promote` produces);
- `maddpg-<suffix>`: the registry model `<scenario>-maddpg-<suffix>` (the
  ablations, e.g. `maddpg-no_gnn`); `name@vNNNN` pins a version;
- `ppo`, `ppo-lstm`, `ippo`, `ippo-lstm`: the RLlib baselines of
  `agents.baselines.ppo`, loaded from the checkpoint folder
  `ppo_checkpoint(policy, scenario, registry)` (the suites train missing ones).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evaluation.schema import EvaluationError

RULE_POLICIES: tuple[str, ...] = ("hpa", "mig", "static")
#: The RLlib baselines (agents.baselines.ppo.PPO_POLICIES; not imported here to keep start-up light).
PPO_NAMES: tuple[str, ...] = ("ppo", "ppo-lstm", "ippo", "ippo-lstm")


def rllib_root(registry: str | Path | None = None) -> Path:
    """Where RLlib checkpoints live: `_rllib/` inside an explicit registry folder, else `runs/rllib`.

    Why not the registry itself: RLlib checkpoints are folders of several MB with
    optimizer state, not the registry's single verified weights file, and the
    shipped registry (agents/models) must stay small. `_rllib` is not a valid
    model name, so the registry never lists it.
    """
    return Path(registry) / "_rllib" if registry is not None else Path("runs") / "rllib"


def ppo_checkpoint(policy: str, scenario: str, registry: str | Path | None = None) -> Path:
    """The folder `agents.baselines.ppo.train_ppo` writes for `policy` on `scenario`."""
    return rllib_root(registry) / f"{scenario}-{policy}"


def model_name(policy: str, scenario: str) -> tuple[str, str | None]:
    """(registry model name, version or None) of a MADDPG policy name."""
    base, _, version = policy.partition("@")
    return f"{scenario}-{base}", version or None


def load_policy(policy: str, scenario: str, registry: str | Path | None = None) -> Any:
    """A fresh instance of `policy` for `scenario`, behind `agents.policy.Policy`."""
    from agents.baselines import RULES

    if policy in RULES:
        return RULES[policy]()
    if policy in PPO_NAMES:
        from agents.baselines.ppo import PPOCheckpointError, PPOPolicy

        folder = ppo_checkpoint(policy, scenario, registry)
        try:
            return PPOPolicy.load(folder)
        except PPOCheckpointError as exc:
            raise EvaluationError(
                f"policy {policy!r}: {exc} (`marlform evaluate` trains missing RLlib baselines)"
            ) from None
    if policy.startswith("maddpg"):
        from agents.maddpg_policy import MADDPGPolicy
        from agents.registry import CheckpointError, ModelRegistry

        name, version = model_name(policy, scenario)
        if name not in ModelRegistry(registry).names():
            raise EvaluationError(
                f"policy {policy!r} needs the registry model {name!r}, which does not exist; "
                f"train it with `marlform train --scenario {scenario} --promote`"
            )
        try:
            return MADDPGPolicy.from_registry(name, version, registry=registry)
        except CheckpointError as exc:
            raise EvaluationError(f"policy {policy!r}: {exc}") from None
    raise EvaluationError(
        f"unknown policy {policy!r}; known: {', '.join(RULE_POLICIES + PPO_NAMES)}, maddpg, "
        "maddpg-<ablation>[@version]"
    )


def policy_record(policy: str, scenario: str, registry: str | Path | None = None) -> dict[str, Any]:
    """What exactly `policy` was, for the reproducibility record (model version and sha256)."""
    if policy in PPO_NAMES:
        from agents.baselines.ppo import read_metadata

        folder = ppo_checkpoint(policy, scenario, registry)
        meta = read_metadata(folder)
        return {"kind": "rllib-ppo", "checkpoint": str(folder), "budget": meta["budget"],
                "seed": meta["seed"], "patterns": meta["patterns"], "ray_version": meta["ray_version"],
                "train_s": meta["seconds"]}
    if not policy.startswith("maddpg"):
        return {"kind": "rule", "name": policy}
    from agents.registry import ModelRegistry

    name, version = model_name(policy, scenario)
    item = ModelRegistry(registry).get(name, version)
    return {"kind": "maddpg", "model": name, "version": item.version,
            "sha256": item.metadata.get("sha256"), "git_commit": item.metadata.get("git_commit")}
