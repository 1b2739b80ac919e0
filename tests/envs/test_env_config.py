"""Bad configuration fails when the env is built, with a message that names the problem."""

from __future__ import annotations

import numpy as np
import pytest

from envs.config import RewardConfig, SimConfig
from envs.core import BatchedCore
from envs.errors import EnvConfigError
from envs.faults import ZoneOutage
from envs.provisioning import ProvisioningEnv
from envs.scenarios import scenario_spec
from gcp.errors import MarlformError, SpecError


def test_unknown_scenario():
    with pytest.raises(EnvConfigError, match="unknown workload scenario 'shop'; known: web, batch, ml"):
        ProvisioningEnv("shop")


def test_unknown_pattern():
    with pytest.raises(EnvConfigError, match="unknown workload pattern 'spiky'"):
        ProvisioningEnv("web", "spiky")


def test_spec_that_breaks_the_cpu_quota_at_the_start():
    spec = scenario_spec("web")
    # bypass validation the way a hand-built object could, then hand it to the env
    broken = spec.model_copy(update={"quotas": {"CPUS": 8}})
    with pytest.raises(SpecError, match="quota"):
        BatchedCore(broken)


def test_nan_in_a_workload():
    demand = np.ones(289)
    demand[17] = np.nan
    with pytest.raises(EnvConfigError, match=r"non-finite value.*17"):
        ProvisioningEnv("web", demand=demand)


def test_negative_or_short_workload():
    with pytest.raises(EnvConfigError, match="negative"):
        ProvisioningEnv("web", demand=-np.ones(289))
    with pytest.raises(EnvConfigError, match="needs 289"):
        ProvisioningEnv("web", demand=np.ones(10))


def test_reward_weights_outside_their_ranges():
    with pytest.raises(EnvConfigError, match=r"cost=0\.5 is outside"):
        ProvisioningEnv("web", config=SimConfig(reward=RewardConfig(cost=0.5)))
    with pytest.raises(EnvConfigError, match="sum to 1"):
        SimConfig(reward=RewardConfig(cost=0.2, performance=0.3, reliability=0.15, sustainability=0.1)).validate()


def test_fault_on_a_zone_outside_the_region():
    with pytest.raises(EnvConfigError, match="europe-west1-b"):
        ProvisioningEnv("web", faults=(ZoneOutage("europe-west1-b", 3),))


def test_replay_longer_than_the_trace_fails_at_construction():
    with pytest.raises(MarlformError, match="replay"):
        ProvisioningEnv("web", "replay")
