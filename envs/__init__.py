"""marlform: envs.

`__version__` is the simulator's version, recorded with every trained policy
(agents.policy_io.simulator_version). 0.2.0: rolling replaces bill their surge VMs
and disruptive operations cost reliability in the reward (docs/simulator.md).
"""

__version__ = "0.2.0"
