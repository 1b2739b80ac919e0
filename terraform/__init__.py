"""marlform: terraform."""
