"""marlform: trace_pipeline."""
