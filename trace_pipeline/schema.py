"""Schemas, time rules and the workload-class mapping of the Google cluster traces.

Facts from ../shared/data/google-cluster-sample/SOURCES.md and the official
`schema.csv` (clusterdata-2011-2, format v2.1) and ClusterData2019.md (format v3).
Everything that interprets a trace row lives here, so readers, the downloader and
preprocessing agree on one set of numbers.
"""

from __future__ import annotations

from typing import Literal

TraceVersion = Literal["2011", "2019"]

#: Times are µs counted from 600 s before the window opens: the window opens at 600 s.
WINDOW_OPEN_US = 600_000_000
#: Time 0 means "before the window" (the initial-state snapshot).
BEFORE_WINDOW_US = 0
#: 2^63-1 means "after the window".
AFTER_WINDOW_US = 2**63 - 1
#: The 2011 window closes at 2,506,200 s; each multi-part table is 500 equal time slices.
TRACE_END_2011_US = 2_506_200_000_000
PARTS_2011 = 500
PART_US_2011 = (TRACE_END_2011_US - WINDOW_OPEN_US) / PARTS_2011  # 5011.2 s
#: Preprocessing resolution: 5-minute windows, the trace's own usage resolution.
WINDOW_S = 300

BUCKET_2011 = "clusterdata-2011-2"
CELLS_2019 = tuple("abcdefgh")


def bucket_2019(cell: str) -> str:
    if cell not in CELLS_2019:
        raise ValueError(f"2019 cell must be one of {', '.join(CELLS_2019)}, got {cell!r}")
    return f"clusterdata_2019_{cell}"


#: 2011 tables: headerless CSV (gzip), official column order -> (name, DuckDB type, mandatory).
COLUMNS_2011: dict[str, list[tuple[str, str, bool]]] = {
    "job_events": [
        ("time", "BIGINT", True), ("missing_info", "INTEGER", False), ("job_id", "BIGINT", True),
        ("event_type", "INTEGER", True), ("user", "VARCHAR", False),
        ("scheduling_class", "INTEGER", False), ("job_name", "VARCHAR", False),
        ("logical_job_name", "VARCHAR", False),
    ],
    "task_events": [
        ("time", "BIGINT", True), ("missing_info", "INTEGER", False), ("job_id", "BIGINT", True),
        ("task_index", "BIGINT", True), ("machine_id", "BIGINT", False),
        ("event_type", "INTEGER", True), ("user", "VARCHAR", False),
        ("scheduling_class", "INTEGER", False), ("priority", "INTEGER", True),
        ("cpu_request", "DOUBLE", False), ("memory_request", "DOUBLE", False),
        ("disk_request", "DOUBLE", False), ("different_machines", "INTEGER", False),
    ],
    "machine_events": [
        ("time", "BIGINT", True), ("machine_id", "BIGINT", True), ("event_type", "INTEGER", True),
        ("platform_id", "VARCHAR", False), ("cpus", "DOUBLE", False), ("memory", "DOUBLE", False),
    ],
    "task_usage": [
        ("start_time", "BIGINT", True), ("end_time", "BIGINT", True), ("job_id", "BIGINT", True),
        ("task_index", "BIGINT", True), ("machine_id", "BIGINT", True),
        ("cpu_rate", "DOUBLE", False), ("canonical_memory", "DOUBLE", False),
        ("assigned_memory", "DOUBLE", False), ("unmapped_page_cache", "DOUBLE", False),
        ("total_page_cache", "DOUBLE", False), ("max_memory", "DOUBLE", False),
        ("disk_io_time", "DOUBLE", False), ("local_disk_space", "DOUBLE", False),
        ("max_cpu_rate", "DOUBLE", False), ("max_disk_io_time", "DOUBLE", False),
        ("cpi", "DOUBLE", False), ("mai", "DOUBLE", False), ("sample_portion", "DOUBLE", False),
        ("aggregation_type", "INTEGER", False), ("sampled_cpu_usage", "DOUBLE", False),
    ],
}

#: 2019 tables: JSON lines; int64 and enum values are JSON strings, nested {cpus, memory}.
#: (flat name, JSON path, type); absent keys stay missing (NULL).
COLUMNS_2019: dict[str, list[tuple[str, str, str]]] = {
    "machine_events": [
        ("time", "time", "BIGINT"), ("machine_id", "machine_id", "BIGINT"),
        ("event_type", "type", "INTEGER"), ("switch_id", "switch_id", "VARCHAR"),
        ("platform_id", "platform_id", "VARCHAR"), ("cpus", "capacity.cpus", "DOUBLE"),
        ("memory", "capacity.memory", "DOUBLE"),
        ("missing_data_reason", "missing_data_reason", "INTEGER"),
    ],
    "instance_usage": [
        ("start_time", "start_time", "BIGINT"), ("end_time", "end_time", "BIGINT"),
        ("collection_id", "collection_id", "BIGINT"),
        ("instance_index", "instance_index", "BIGINT"), ("machine_id", "machine_id", "BIGINT"),
        ("alloc_collection_id", "alloc_collection_id", "BIGINT"),
        ("collection_type", "collection_type", "INTEGER"),
        ("avg_cpus", "average_usage.cpus", "DOUBLE"),
        ("avg_memory", "average_usage.memory", "DOUBLE"),
        ("max_cpus", "maximum_usage.cpus", "DOUBLE"),
        ("max_memory", "maximum_usage.memory", "DOUBLE"),
        ("sample_cpus", "random_sample_usage.cpus", "DOUBLE"),
        ("assigned_memory", "assigned_memory", "DOUBLE"),
        ("page_cache_memory", "page_cache_memory", "DOUBLE"),
        ("cpi", "cycles_per_instruction", "DOUBLE"),
        ("mai", "memory_accesses_per_instruction", "DOUBLE"),
        ("sample_rate", "sample_rate", "DOUBLE"),
    ],
    "instance_events": [
        ("time", "time", "BIGINT"), ("event_type", "type", "INTEGER"),
        ("collection_id", "collection_id", "BIGINT"),
        ("scheduling_class", "scheduling_class", "INTEGER"),
        ("missing_type", "missing_type", "INTEGER"),
        ("collection_type", "collection_type", "INTEGER"), ("priority", "priority", "INTEGER"),
        ("alloc_collection_id", "alloc_collection_id", "BIGINT"),
        ("instance_index", "instance_index", "BIGINT"), ("machine_id", "machine_id", "BIGINT"),
        ("cpu_request", "resource_request.cpus", "DOUBLE"),
        ("memory_request", "resource_request.memory", "DOUBLE"),
    ],
    "collection_events": [
        ("time", "time", "BIGINT"), ("event_type", "type", "INTEGER"),
        ("collection_id", "collection_id", "BIGINT"),
        ("scheduling_class", "scheduling_class", "INTEGER"),
        ("missing_type", "missing_type", "INTEGER"),
        ("collection_type", "collection_type", "INTEGER"), ("priority", "priority", "INTEGER"),
        ("alloc_collection_id", "alloc_collection_id", "BIGINT"), ("user", "user", "VARCHAR"),
        ("collection_name", "collection_name", "VARCHAR"),
        ("parent_collection_id", "parent_collection_id", "BIGINT"),
    ],
}

TABLES: dict[TraceVersion, tuple[str, ...]] = {
    "2011": ("task_events", "task_usage", "job_events", "machine_events"),
    "2019": ("instance_usage", "instance_events", "collection_events", "machine_events"),
}

#: 2011 job/task event types.
EVENTS_2011 = {
    0: "SUBMIT", 1: "SCHEDULE", 2: "EVICT", 3: "FAIL", 4: "FINISH", 5: "KILL", 6: "LOST",
    7: "UPDATE_PENDING", 8: "UPDATE_RUNNING",
}
#: 2011 machine events (2019 uses 1 ADD, 2 REMOVE, 3 UPDATE instead).
MACHINE_EVENTS_2011 = {0: "ADD", 1: "REMOVE", 2: "UPDATE"}
MACHINE_EVENTS_2019 = {1: "ADD", 2: "REMOVE", 3: "UPDATE"}

WorkloadClass = Literal["production", "batch", "best_effort"]
WORKLOAD_CLASSES: tuple[WorkloadClass, ...] = ("production", "batch", "best_effort")

#: The class mapping for 2011 (priorities 0-11, scheduling classes 0-3). The free tier
#: (priority 0-1) is best-effort whatever its latency class; production and monitoring
#: priorities (9-11), or a latency-sensitive scheduling class (2-3), make a task
#: latency-sensitive production; everything else is batch.
CLASS_SQL_2011 = (
    "CASE WHEN priority <= 1 THEN 'best_effort' "
    "WHEN priority >= 9 OR scheduling_class >= 2 THEN 'production' ELSE 'batch' END"
)
#: The same tiers for 2019 (priorities 0-450): free <= 99, best-effort batch 110-115,
#: mid 116-119, production 120-359, monitoring >= 360 (ClusterData2019.md).
CLASS_SQL_2019 = (
    "CASE WHEN priority <= 99 THEN 'best_effort' "
    "WHEN priority >= 120 OR scheduling_class >= 2 THEN 'production' ELSE 'batch' END"
)
