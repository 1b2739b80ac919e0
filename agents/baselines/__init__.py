"""Baselines behind the one policy interface (`agents.policy`)."""

from agents.baselines.rules import RULES, HPAPolicy, MIGAutoscalerPolicy, StaticExpertPolicy

__all__ = ["RULES", "HPAPolicy", "MIGAutoscalerPolicy", "StaticExpertPolicy"]
