"""Benchmark: preparing 2011 task_events parts (trace_pipeline.prepare) vs a plain pandas baseline.

For 1 part and for all 5 parts of the shared sample, each engine runs in a
fresh subprocess (so peak RSS is its own); the engines alternate run by run
(pandas first on even repeats, the pipeline first on odd ones), so both share
the noise of a busy machine. We print the median seconds, rows/s and CPU
seconds, the median peak RSS and the ratio to pandas measured in the same run.

The baseline is a plain pandas `read_csv` of every part (default C parser) plus
one `groupby` (window, class) of event counts and requests: less work than the
pipeline, which also validates every field, follows every task's lifecycle
across parts and writes a parquet cache. Imports happen before the clock starts
for both engines (the pipeline's modules import pyarrow.parquet with them);
everything `prepare()` does (checksums of the inputs, parsing, aggregation,
writing the cache and its metadata, and a DuckDB connection where it opens one:
not for task_events read the fast way) is inside it. Each run also
reports which reader staged the rows (the pipeline's fast pyarrow path, or the
exact DuckDB one it falls back to), so a silent fallback cannot pass for speed.
CPU seconds (user + system, all threads) are steadier than wall time on a busy
machine; the load average is printed before and after.

    .venv/bin/python benchmarks/trace_prepare.py [--json] [--repeats 5] [--memory-limit 128MB]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE = Path(os.environ.get("MARLFORM_SHARED", REPO.parent / "shared")) / \
    "data/google-cluster-sample/clusterdata-2011-2/task_events"
ENGINES = ("pipeline", "pandas")

CHILD = r"""
import json, resource, sys, time, tempfile
from pathlib import Path
engine, root = sys.argv[1], Path(sys.argv[2])
files = sorted((root / "task_events").glob("*.csv.gz"))
# Imports happen before the clock starts, for both engines: we time the work.
import duckdb, isal.igzip, numpy as np, pandas as pd, pyarrow.csv
from trace_pipeline.prepare import prepare
from trace_pipeline.schema import COLUMNS_2011
cpu0, start = time.process_time(), time.perf_counter()
if engine == "pipeline":
    with tempfile.TemporaryDirectory() as cache:
        meta = prepare(root, cache_dir=cache, memory_limit=sys.argv[3]).meta
    rows, reader = meta["tables"]["task_events"]["rows"], meta["tables"]["task_events"]["reader"]
else:
    names = [n for n, _, _ in COLUMNS_2011["task_events"]]
    frame = pd.concat([pd.read_csv(f, header=None, names=names) for f in files])
    frame["window"] = frame["time"] // 300_000_000
    frame["cls"] = np.where(frame.priority <= 1, "best_effort", np.where(
        (frame.priority >= 9) | (frame.scheduling_class >= 2), "production", "batch"))
    frame["arrival"] = frame.event_type == 0
    frame["scheduled_cpu"] = frame.cpu_request.where(frame.event_type == 1, 0.0)
    frame.groupby(["window", "cls"]).agg(arrivals=("arrival", "sum"), cpu=("scheduled_cpu", "sum"))
    rows, reader = len(frame), "pandas"
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu0
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"rows": rows, "seconds": seconds, "cpu_s": cpu, "peak_mb": peak_mb,
                  "reader": reader}))
"""


def run_child(engine: str, root: Path, memory_limit: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, engine, str(root), memory_limit], check=True,
                         capture_output=True, text=True, cwd=REPO,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(root: Path, repeats: int, memory_limit: str) -> dict[str, list[dict]]:
    """Runs per engine, alternating which engine goes first."""
    runs: dict[str, list[dict]] = {engine: [] for engine in ENGINES}
    for repeat in range(repeats):
        for engine in ENGINES[::-1] if repeat % 2 else ENGINES:
            runs[engine].append(run_child(engine, root, memory_limit))
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--memory-limit", default="256MB",
                        help="prepare()'s memory_limit: DuckDB's (it spills past it); a quarter "
                             "of it holds parsed rows, the rest are spilled")
    args = parser.parse_args()
    parts = sorted(SAMPLE.glob("part-*.csv.gz"))
    if len(parts) < 5:
        sys.exit(f"need the 5 task_events parts under {SAMPLE}")
    results = []
    load_before = os.getloadavg()
    for count in (1, 5):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            (root / "task_events").mkdir()
            for part in parts[:count]:
                (root / "task_events" / part.name).symlink_to(part)
            for engine, runs in measure(root, args.repeats, args.memory_limit).items():
                seconds = statistics.median(r["seconds"] for r in runs)
                results.append({"parts": count, "engine": engine, "rows": runs[0]["rows"],
                                "reader": "/".join(sorted({r["reader"] for r in runs})),
                                "seconds": round(seconds, 3),
                                "rows_per_s": round(runs[0]["rows"] / seconds),
                                "cpu_s": round(statistics.median(r["cpu_s"] for r in runs), 3),
                                "peak_mb": round(statistics.median(r["peak_mb"] for r in runs), 1)})
    by = {(r["parts"], r["engine"]): r for r in results}
    summary = {
        "results": results,
        "speedup_vs_pandas": {n: round(by[(n, "pipeline")]["rows_per_s"]
                                       / by[(n, "pandas")]["rows_per_s"], 2) for n in (1, 5)},
        "peak_growth_5_vs_1": {e: round(by[(5, e)]["peak_mb"] / by[(1, e)]["peak_mb"], 2)
                               for e in ENGINES},
        "cores": os.cpu_count(), "repeats": args.repeats, "memory_limit": args.memory_limit,
        "load_average_before": load_before, "load_average": os.getloadavg(),
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    print(f"{'parts':>5} {'engine':>8} {'reader':>8} {'rows':>9} {'median s':>9} {'rows/s':>10} "
          f"{'cpu s':>6} {'peak MB':>8}")
    for r in results:
        print(f"{r['parts']:>5} {r['engine']:>8} {r['reader']:>8} {r['rows']:>9} {r['seconds']:>9} "
              f"{r['rows_per_s']:>10} {r['cpu_s']:>6} {r['peak_mb']:>8}")
    print(f"speed-up vs pandas (rows/s): {summary['speedup_vs_pandas']}")
    print(f"peak RSS, 5 parts / 1 part: {summary['peak_growth_5_vs_1']}")
    print(f"load average before: {', '.join(f'{x:.1f}' for x in load_before)}; at the end: "
          f"{', '.join(f'{x:.1f}' for x in summary['load_average'])}")


if __name__ == "__main__":
    main()
