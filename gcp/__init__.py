"""marlform: gcp."""
