"""`marlform trace`: fetch, prepare, profile and show the Google cluster traces."""

from __future__ import annotations

from pathlib import Path

import typer

from marlform.cli.output import console, print_json

app = typer.Typer(no_args_is_help=True, help="Google cluster traces: download, prepare, profile, show.")


@app.command()
def fetch(
    dest: Path = typer.Argument(..., help="Folder to download into (files land in DEST/<bucket>/...)."),
    version: str = typer.Option("2011", help="Trace version: 2011 or 2019."),
    tables: str = typer.Option("task_events,task_usage,machine_events",
                               help="Comma-separated tables."),
    hours: float = typer.Option(None, help="2011: length of the time window in hours (default 24)."),
    offset_hours: float = typer.Option(0.0, help="2011: start of the window, hours after it opens."),
    cell: str = typer.Option("a", help="2019: cell a..h."),
    shards: int = typer.Option(None, help="2019: take only the first N shards of each table."),
    max_gb: float = typer.Option(5.0, help="Size cap: refuse before downloading past it."),
    endpoint: str = typer.Option(None, envvar="STORAGE_EMULATOR_HOST",
                                 help="Storage endpoint (an emulator); default the public GCS."),
    dry_run: bool = typer.Option(False, "--dry-run", help="List what would be fetched, with sizes."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Download trace parts for a time window: capped by size, resumable, checksummed, with a manifest.

    The 2011 trace is split into 500 parts of 5011.2 s; the window picks the parts.
    24 h of 2011 task_usage is about 1.6 GB; the whole trace is about 41 GB.
    """
    from trace_pipeline.fetch import fetch as run_fetch
    from trace_pipeline.fetch import make_client, plan, remote_summary

    client = make_client(endpoint)
    chosen = plan(client, version, [t.strip() for t in tables.split(",") if t.strip()],  # type: ignore[arg-type]
                  hours=hours, offset_hours=offset_hours, cell=cell, shards=shards)
    summary = remote_summary(chosen)
    if dry_run:
        if json_out:
            print_json(summary)
        else:
            for obj in chosen:
                console.print(f"{obj.bytes / 1e6:10.1f} MB  gs://{obj.bucket}/{obj.name}")
            console.print(f"{summary['count']} objects, {summary['total_gb']} GB (cap {max_gb} GB)")
        return
    request = {"version": version, "tables": tables, "hours": hours, "offset_hours": offset_hours,
               "cell": cell, "shards": shards, "max_gb": max_gb}
    manifest = run_fetch(client, chosen, dest, max_gb=max_gb, request=request,
                         show_progress=not json_out)
    if json_out:
        print_json(manifest)
    else:
        console.print(f"fetched {len(manifest['files'])} files, {manifest['total_bytes'] / 1e9:.3f} GB, "
                      f"{manifest['rows']} rows; manifest {dest}/{manifest['bucket']}/manifest.json")


@app.command()
def prepare(
    root: Path = typer.Argument(..., help="Trace folder in bucket layout (e.g. DEST/clusterdata-2011-2)."),
    version: str = typer.Option("2011", help="Trace version: 2011 or 2019."),
    cache: Path = typer.Option(None, help="Cache folder (default $MARLFORM_TRACE_CACHE or ~/.cache/marlform/traces)."),
    max_bad_fraction: float = typer.Option(0.001, help="Malformed-row share that becomes an error."),
    memory_limit: str = typer.Option(
        "1GB", help="Memory limit: DuckDB spills to disk past it, and the fast reader keeps at "
                    "most a quarter of it of parsed rows in memory (the rest is spilled)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Aggregate to 5-minute windows per workload class; cached as parquet by the manifest hash."""
    from trace_pipeline.prepare import prepare as run_prepare

    prepared = run_prepare(root, version=version, cache_dir=cache,  # type: ignore[arg-type]
                           max_bad_fraction=max_bad_fraction, memory_limit=memory_limit)
    result = {"path": str(prepared.path), "windows": str(prepared.windows),
              "cached": prepared.cached, **prepared.meta}
    if json_out:
        print_json(result)
        return
    console.print(f"{'cache hit' if prepared.cached else 'prepared'}: {prepared.windows}")
    for table, stats in prepared.meta["tables"].items():
        console.print(f"  {table}: {stats['rows']} rows, {stats['bad']} malformed")
    for note in prepared.meta.get("notes", []):
        console.print(f"  note: {note}")


@app.command()
def profile(
    trace: Path = typer.Argument(..., help="A prepared trace (cache folder or windows.parquet)."),
    out: Path = typer.Option(Path("trace_pipeline/profiles"), help="Folder for the profile JSON files."),
    cycle_csv: Path = typer.Option(None, help="A 5-minute series (CSV) to fit the diurnal cycle from."),
    cycle_column: str = typer.Option("avg_cpu", help="Column of --cycle-csv."),
    note: str = typer.Option("", help="Where the data came from, stored in each profile."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Fit one profile per workload class (level, cycle, noise, bursts) and write it as JSON."""
    from trace_pipeline.profiles import build_profiles

    written = build_profiles(trace, out, cycle_csv=cycle_csv, cycle_column=cycle_column, note=note)
    if json_out:
        print_json({"profiles": [str(p) for p in written]})
    else:
        for path in written:
            console.print(f"wrote {path}")


@app.command()
def show(
    trace: Path = typer.Argument(..., help="A prepared trace (cache folder or windows.parquet)."),
    png: Path = typer.Option(None, help="Write a plot per workload class to this PNG."),
    metric: str = typer.Option("cpu_requested", help="Metric to plot."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Summarise a prepared trace per workload class, and plot it."""
    from trace_pipeline.prepare import METRICS, read_windows

    frame = read_windows(trace)
    summary = {
        "windows": int(frame["window"].nunique()),
        "start_s": int(frame["time_s"].min()), "end_s": int(frame["time_s"].max()) + 300,
        "classes": {
            cls: {m: (None if rows[m].isna().all() else round(float(rows[m].mean()), 4))
                  for m in METRICS}
            for cls, rows in frame.groupby("workload_class")
        },
    }
    if png is not None:
        from trace_pipeline.plot import plot_trace

        summary["png"] = str(plot_trace(frame, png, metric))
    if json_out:
        print_json(summary)
        return
    from rich.table import Table

    table = Table(title=f"{summary['windows']} windows, {summary['start_s']}-{summary['end_s']} s (means)")
    table.add_column("metric")
    for cls in summary["classes"]:
        table.add_column(cls, justify="right")
    for m in METRICS:
        table.add_row(m, *[str(summary["classes"][c][m]) for c in summary["classes"]])
    console.print(table)
    if png is not None:
        console.print(f"plot: {png}")
