"""`marlform explain`: decision-tree proxies of a policy, or why a plan's agents acted.

`marlform explain --policy maddpg:v0003` prints every agent's trees in plain
rules, writes them as PNGs and prints the metrics table (fidelity against the
agent on held-out simulated steps, faithfulness, stability, size). The proxies
are stored with the model version; they are built (minutes: the policy runs
in the simulator) when missing or when --build is given.
`marlform explain PLAN_ID` prints a plan's explanation.md.
"""

from __future__ import annotations

from pathlib import Path

import typer

from marlform.cli.output import console, fail, home_option, json_option, print_json


def explain(
    plan_id: str = typer.Argument(None, help="A plan id: print why its agents acted (explanation.md)."),
    policy: str = typer.Option(None, "--policy", help="Registry policy NAME[:VERSION] to explain "
                               "(the promoted version when VERSION is left out)."),
    build: bool = typer.Option(False, "--build", help="Rebuild the proxies even if stored ones exist."),
    steps: int = typer.Option(10_000, "--steps", min=1_000, max=100_000,
                              help="Simulated steps to record when building (10^4 to 10^5)."),
    out: Path = typer.Option(None, "--out", help="Also copy the tree PNGs into this folder."),
    results: Path = typer.Option(None, "--results", help="Also write the metrics as a results page "
                                 "(Markdown, e.g. docs/results/explainability.md) and beside it .json."),
    registry: Path = typer.Option(None, "--registry", help="Registry folder (default: "
                                  "$MARLFORM_REGISTRY, else the models shipped in agents/models)."),
    home: Path = home_option(),
    json_output: bool = json_option(),
) -> None:
    """Explain a policy's decisions with decision-tree proxies, or explain one plan.

    Give exactly one of PLAN_ID or --policy.
    """
    if (plan_id is None) == (policy is None):
        fail("give either a PLAN_ID or --policy NAME[:VERSION] (see `marlform explain --help`)")
    if plan_id is not None:
        _explain_plan(plan_id, home, json_output)
    else:
        _explain_policy(policy, build, steps, out, results, registry, json_output)


def _explain_policy(ref: str, build: bool, steps: int, out: Path | None, results: Path | None,
                    registry: Path | None, json_output: bool) -> None:
    from agents.explain.build import build_for_registry
    from agents.explain.policies import parse_ref
    from agents.explain.report import (
        metrics_markdown,
        metrics_rows,
        results_json,
        results_markdown,
        trees_text,
    )
    from agents.explain.store import ExplainError, load_for_version, proxies_dir
    from agents.registry import ModelRegistry

    name, version = parse_ref(ref)
    item = ModelRegistry(registry).get(name, version)
    proxies = None
    if not build:
        try:
            proxies = load_for_version(item)
        except ExplainError:
            proxies = None
    if proxies is None:
        if not json_output:
            console.print(f"building proxies for {item.name}:{item.version} from {steps:,} simulated "
                          "steps (a few minutes) ...")
        proxies = build_for_registry(f"{item.name}:{item.version}", steps=steps, registry=registry)
    folder = proxies_dir(item)
    pngs = sorted((folder / "trees").rglob("*.png"))
    if out is not None:
        import shutil

        for png in pngs:
            target = out / png.relative_to(folder / "trees")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(png, target)
        pngs = sorted(out.rglob("*.png"))
    if results is not None:
        from gcp.files import atomic_write_json, atomic_write_text

        atomic_write_text(results, results_markdown(proxies))
        atomic_write_json(results.with_suffix(".json"), results_json(proxies))
    if json_output:
        print_json({"policy": proxies.policy, "meta": proxies.meta, "metrics": metrics_rows(proxies),
                    "agents": {n: a.metrics for n, a in proxies.agents.items()},
                    "trees": trees_text(proxies), "pngs": [str(p) for p in pngs],
                    "folder": str(folder)})
        return
    from rich.markdown import Markdown

    console.print(trees_text(proxies), highlight=False, markup=False)
    console.print(Markdown(metrics_markdown(proxies)))
    console.print(f"{len(pngs)} tree PNGs under {out or folder / 'trees'}", highlight=False)


def _explain_plan(plan_id: str, home: Path | None, json_output: bool) -> None:
    from marlform.cli.output import open_workspace

    ws = open_workspace(home)
    record = ws.store.plan(plan_id)
    path = ws.bundle_path(record.bundle_uri) / "explanation.md"
    if not path.is_file():
        fail(f"plan {plan_id}: {path} is missing")
    text = path.read_text()
    if json_output:
        print_json({"plan_id": plan_id, "policy_version": record.policy_version, "explanation_md": text})
        return
    from rich.markdown import Markdown

    console.print(Markdown(text))
