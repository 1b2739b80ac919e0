"""marlform: envs."""
