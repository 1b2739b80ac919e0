"""`marlform workload`: generate seeded workloads from the shipped profiles or a prepared trace."""

from __future__ import annotations

from pathlib import Path

import typer

from marlform.cli.output import console, fail, print_json

app = typer.Typer(no_args_is_help=True, help="Generate workloads (steady, burst, cyclical, replay).")


@app.command()
def generate(
    scenario: str = typer.Option("web", help="web, batch or ml (picks the profile's class)."),
    pattern: str = typer.Option("steady", help="steady, burst, cyclical or replay."),
    steps: int = typer.Option(288, help="Number of steps."),
    step_s: int = typer.Option(300, help="Seconds per step."),
    n_series: int = typer.Option(1, help="Number of series (services)."),
    level: float = typer.Option(1.0, help="Long-run mean (1.0 = the profile's mean)."),
    amplitude: float = typer.Option(None, help="Cyclical amplitude (0..1); default from the profile."),
    period_steps: int = typer.Option(None, help="Cyclical period in steps; default one day."),
    burst_rate: float = typer.Option(None, help="Burst onsets per step outside a burst."),
    seed: int = typer.Option(0, help="Random seed."),
    profile: str = typer.Option(None, help="Profile name or JSON path (default: by scenario)."),
    trace: Path = typer.Option(None, help="Replay: a prepared trace (cache folder or parquet)."),
    replay_offset: int = typer.Option(0, help="Replay: first step of the trace to use."),
    out: Path = typer.Option(None, help="Write demand and bursts to this .npz or .csv file."),
    png: Path = typer.Option(None, help="Plot the first series (and one per class with --all-classes)."),
    all_classes: bool = typer.Option(False, help="With --png: plot web, batch and ml side by side."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Generate demand per step for N services; print a summary, optionally save and plot it."""
    import numpy as np

    from trace_pipeline.workloads import SCENARIOS, WorkloadConfig
    from trace_pipeline.workloads import generate as run

    def config(for_scenario: str) -> WorkloadConfig:
        return WorkloadConfig(
            scenario=for_scenario, pattern=pattern, steps=steps, step_s=step_s,  # type: ignore[arg-type]
            n_series=n_series, level=level, amplitude=amplitude, period_steps=period_steps,
            burst_rate=burst_rate, seed=seed, profile=profile, trace=trace,
            replay_offset=replay_offset)

    wl = run(config(scenario))
    summary = {"shape": list(wl.demand.shape), "mean": float(wl.demand.mean()),
               "min": float(wl.demand.min()), "max": float(wl.demand.max()),
               "burst_share": float(wl.bursts.mean()),
               "meta": {k: v for k, v in wl.meta.items() if k != "source"}}
    if out is not None:
        from gcp.files import atomic_write_bytes, atomic_write_text

        if out.suffix == ".npz":
            import io

            buffer = io.BytesIO()
            np.savez_compressed(buffer, demand=wl.demand, bursts=wl.bursts)
            atomic_write_bytes(out, buffer.getvalue())
        elif out.suffix == ".csv":
            lines = ["series,step,demand,burst"] + [
                f"{i},{t},{wl.demand[i, t]:.6g},{int(wl.bursts[i, t])}"
                for i in range(wl.demand.shape[0]) for t in range(wl.demand.shape[1])]
            atomic_write_text(out, "\n".join(lines) + "\n")
        else:
            fail(f"--out {out}: use a .npz or .csv file name")
        summary["out"] = str(out)
    if png is not None:
        from trace_pipeline.plot import plot_workloads

        panels = {f"{s} ({run(config(s)).meta['workload_class']})": run(config(s)) for s in SCENARIOS} \
            if all_classes else {f"{scenario} ({wl.meta['workload_class']})": wl}
        summary["png"] = str(plot_workloads(panels, png))
    if json_out:
        print_json(summary)
    else:
        console.print(f"{pattern} {scenario}: {summary['shape'][0]} x {summary['shape'][1]} steps, "
                      f"mean {summary['mean']:.3f}, max {summary['max']:.3f}, "
                      f"bursts {summary['burst_share']:.1%} of steps")
        for key in ("out", "png"):
            if key in summary:
                console.print(f"{key}: {summary[key]}")
