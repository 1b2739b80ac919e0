"""marlform: envs.

`__version__` is the simulator's version, recorded with every trained policy
(agents.policy_io.simulator_version). 0.2.0: rolling replaces bill their surge VMs
and disruptive operations cost reliability in the reward (docs/simulator.md). 0.3.0: the
reward charges the share of entry traffic that misses its SLO (`RewardConfig.slo_penalty`);
the dynamics, and so every reported metric, are those of 0.2.0. 0.4.0: every changed knob
value costs `RewardConfig.change_cost` in the reward; dynamics unchanged.
"""

__version__ = "0.4.0"
