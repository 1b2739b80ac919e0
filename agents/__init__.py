"""marlform: agents."""
