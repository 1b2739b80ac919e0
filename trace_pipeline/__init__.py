"""marlform: trace_pipeline — Google cluster traces to workloads.

fetch (size-capped download) → readers → prepare (5-minute windows per class,
parquet cache) → profiles (shipped JSON) → workloads (the API `envs/` uses:
`trace_pipeline.workloads.generate`). See docs/trace-pipeline.md.
"""
