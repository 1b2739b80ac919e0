"""marlform: evaluation."""
