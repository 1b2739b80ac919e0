"""Model registry: immutable versions, promote/rollback, checksum and compatibility checks."""

from __future__ import annotations

import json

import pytest
import torch
from agents_synthetic import random_obs

from agents.config import MADDPGConfig
from agents.maddpg import MADDPG
from agents.registry import CheckpointError, ModelRegistry


def _save(reg, layout, seed=0, **metrics):
    m = MADDPG(layout, MADDPGConfig(hidden=32, embed=16), seed=seed)
    item = reg.save(
        "web-maddpg",
        m.state_dict(),
        config={"seed": seed},
        layout=layout.to_dict(),
        simulator_version="0.1.0",
        data_manifest={"profiles": "abc"},
        metrics=metrics,
    )
    return m, item


def test_checkpoint_round_trips_bit_exactly(tmp_path, layout):
    reg = ModelRegistry(tmp_path)
    m, item = _save(reg, layout)
    m.update(
        {"obs": random_obs(layout, 4), "next_obs": random_obs(layout, 4, 1),
         "actions": m.act(random_obs(layout, 4), True),
         "rewards": {n: torch.ones(4) for n in layout.names}, "done": torch.zeros(4)},
        torch.ones(4),
    )  # optimiser state is non-trivial now
    item = reg.save("web-maddpg", m.state_dict(), config={}, layout=layout.to_dict(), simulator_version="0.1.0")
    state, loaded = reg.load("web-maddpg", item.version, expect_layout=layout.to_dict())
    fresh = MADDPG(layout, MADDPGConfig(hidden=32, embed=16), seed=123)
    fresh.load_state_dict(state)
    for key in ("actors", "critics", "target_actors", "target_critics"):
        a, b = getattr(m, key).state_dict(), getattr(fresh, key).state_dict()
        assert a.keys() == b.keys()
        for name in a:
            assert torch.equal(a[name], b[name]), (key, name)
    assert fresh.updates == 1
    meta = loaded.metadata
    assert meta["simulator_version"] == "0.1.0" and meta["layout"] == layout.to_dict()
    assert {"sha256", "config", "metrics", "data_manifest", "git_commit", "created_at"} <= meta.keys()
    obs = random_obs(layout, 5)
    assert all(torch.equal(m.act(obs, False)[n], fresh.act(obs, False)[n]) for n in layout.names)


def test_corrupted_checkpoint_is_refused(tmp_path, layout):
    reg = ModelRegistry(tmp_path)
    _, item = _save(reg, layout)
    item.weights.chmod(0o644)
    data = bytearray(item.weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    item.weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        reg.load("web-maddpg")


def test_incompatible_checkpoint_is_refused(tmp_path, layout):
    reg = ModelRegistry(tmp_path)
    _save(reg, layout)
    other = layout.to_dict()
    other["agents"][0]["knobs"] = [5, 2]
    with pytest.raises(CheckpointError, match="incompatible with this environment"):
        reg.load("web-maddpg", expect_layout=other)
    meta_path = tmp_path / "web-maddpg" / "v0001" / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta["format_version"] = 99
    meta_path.chmod(0o644)
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="format 99 is not supported"):
        reg.load("web-maddpg")
    meta_path.write_text("{not json")
    with pytest.raises(CheckpointError, match="corrupted metadata"):
        reg.load("web-maddpg")


def test_versions_are_immutable_and_promote_and_rollback(tmp_path, layout):
    reg = ModelRegistry(tmp_path)
    _, v1 = _save(reg, layout, seed=1, cost=10.0)
    _, v2 = _save(reg, layout, seed=2, cost=9.0)
    _save(reg, layout, seed=3, cost=8.0)
    assert [v.version for v in reg.versions("web-maddpg")] == ["v0001", "v0002", "v0003"]
    assert v1.weights.read_bytes() != v2.weights.read_bytes()
    assert not (v1.weights.stat().st_mode & 0o222)  # read-only on disk
    assert reg.promoted("web-maddpg") is None and reg.get("web-maddpg").version == "v0003"
    reg.promote("web-maddpg", "v0001")
    reg.promote("web-maddpg", "v0002")
    assert reg.get("web-maddpg").version == "v0002"
    assert reg.rollback("web-maddpg") == "v0001"
    assert reg.get("web-maddpg").version == "v0001"
    with pytest.raises(CheckpointError, match="nothing to roll back"):
        reg.rollback("web-maddpg")
    with pytest.raises(CheckpointError, match="no version 'v0009'"):
        reg.promote("web-maddpg", "v0009")
    with pytest.raises(CheckpointError, match="no model named"):
        reg.get("missing")
    assert reg.names() == ["web-maddpg"]
