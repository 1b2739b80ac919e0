"""Start-up time of `marlform --help` against a bare `python -c pass`, measured in the same run.

Usage: .venv/bin/python benchmarks/cli_startup.py [--runs 15] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path


def median_seconds(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    marlform = str(Path(sys.executable).parent / "marlform")
    baseline = median_seconds([sys.executable, "-c", "pass"], args.runs)
    results = {
        "python_baseline_s": baseline,
        "marlform_help_s": median_seconds([marlform, "--help"], args.runs),
        "marlform_spec_help_s": median_seconds([marlform, "spec", "--help"], args.runs),
        "runs": args.runs,
    }
    results["help_over_baseline"] = results["marlform_help_s"] / baseline
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for key, value in results.items():
            print(f"{key:24s} {value:.3f}" if isinstance(value, float) else f"{key:24s} {value}")


if __name__ == "__main__":
    main()
