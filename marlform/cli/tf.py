"""`marlform tf`: render specs as Terraform JSON, plan them (for real or offline), check plan JSON."""

from __future__ import annotations

from pathlib import Path

import typer

from marlform.cli.output import console, fail, print_json

app = typer.Typer(no_args_is_help=True)

SpecFile = typer.Argument(..., help="A DeploymentSpec as YAML (.yaml/.yml) or JSON (.json).")
JsonFlag = typer.Option(False, "--json", help="Print JSON for scripts instead of tables.")
TargetOpt = typer.Option("google", "--target", help="Provider to render for: google, or aws (the testable twin).")
EndpointOpt = typer.Option(None, "--aws-endpoint", help="aws target: send every AWS API call to this URL "
                           "(a local moto server), with fake credentials.")


def _aws(endpoint: str | None):
    from terraform.render_aws import AwsOptions

    return AwsOptions(endpoint=endpoint)


@app.command()
def render(
    spec_file: Path = SpecFile,
    target: str = TargetOpt,
    out: Path = typer.Option(None, "--out", help="Write DIR/main.tf.json (atomically) instead of printing it."),
    aws_endpoint: str = EndpointOpt,
    json_output: bool = JsonFlag,
) -> None:
    """Render SPEC as main.tf.json, schema-checked against the vendored google provider facts.

    The same spec always gives the same bytes. Names that would inject Terraform template syntax
    are refused and nothing is written.
    """
    import hashlib

    from gcp.spec import load_spec
    from terraform.render import render_full, write_config

    rendered = render_full(load_spec(spec_file), target, _aws(aws_endpoint))
    data = rendered.to_bytes()
    summary = {"spec": str(spec_file), "target": target, "resources": len(rendered.owners),
               "sha256": hashlib.sha256(data).hexdigest()}
    if out is not None:
        summary["file"] = str(write_config(out, rendered))
    if json_output:
        print_json(summary if out is not None else {**summary, "config": rendered.doc})
    elif out is None:
        typer.echo(data.decode("utf-8"), nl=False)
    else:
        console.print(f"[green]wrote[/] {summary['file']}: {summary['resources']} resources for {target} "
                      f"(sha256 {summary['sha256'][:12]})")


@app.command()
def plan(
    spec_file: Path = SpecFile,
    before: Path = typer.Option(None, "--before", help="The spec that runs now (default: nothing deployed)."),
    target: str = TargetOpt,
    preview: bool = typer.Option(False, "--preview", help="Compute the plan offline from the specs, "
                                 "without Terraform (also used when terraform is missing)."),
    workdir: Path = typer.Option(None, "--workdir", help="Terraform working directory (keeps state); "
                                 "default: .marlform/tf/<deployment>-<target>."),
    plugin_mirror: Path = typer.Option(None, "--plugin-mirror", envvar="MARLFORM_TF_PLUGIN_MIRROR",
                                       help="Filesystem mirror of providers; no registry access then."),
    aws_endpoint: str = EndpointOpt,
    out: Path = typer.Option(None, "--out", help="Write plan.json, safety.json and cost.json into DIR."),
    timeout: float = typer.Option(600.0, "--timeout", help="Seconds allowed per terraform command."),
    json_output: bool = JsonFlag,
) -> None:
    """Plan SPEC: real `terraform plan` (or the offline preview), then cost and safety with fallback.

    Exits 0 when the plan (or its repair/fallback) is acceptable, 1 when even the fallback is
    denied, 2 on bad input or a Terraform failure.
    """
    from gcp.files import atomic_write_json
    from gcp.spec import load_spec
    from terraform.cost import plan_cost
    from terraform.errors import TerraformUnavailable
    from terraform.plan_model import Plan
    from terraform.preview import preview_plan
    from terraform.render import render_full
    from terraform.safety import SafetyConfig, evaluate

    after = load_spec(spec_file)
    spec_before = load_spec(before) if before else None
    rendered = render_full(after, target, _aws(aws_endpoint))  # refuses hostile input before any write
    note = None
    plan_json = None
    if not preview:
        try:
            plan_json = _real_plan(rendered, workdir or Path(".marlform/tf") / f"{after.name}-{target}",
                                   plugin_mirror, timeout)
        except TerraformUnavailable as exc:
            note = f"terraform unavailable, showing the offline preview: {exc}"
    if plan_json is None:
        plan_json = preview_plan(spec_before, after, target, _aws(aws_endpoint))
    parsed = Plan.parse(plan_json)
    report = evaluate(parsed, spec_before, after, SafetyConfig(target=target))
    cost = plan_cost(spec_before, after, rendered.owners)
    if out is not None:
        atomic_write_json(out / "plan.json", plan_json)
        atomic_write_json(out / "safety.json", report.to_dict())
        atomic_write_json(out / "cost.json", cost)
    result = {"spec": str(spec_file), "target": target, "source": parsed.source, "note": note,
              "summary": parsed.summary(), "changes": [c.to_dict() for c in parsed.changed()],
              "cost": cost, "safety": report.to_dict()}
    if json_output:
        print_json(result)
    else:
        _print_plan(result)
    if report.decision == "blocked":
        raise typer.Exit(1)


def _real_plan(rendered, workdir: Path, plugin_mirror: Path | None, timeout: float) -> dict:
    from terraform.render import write_config
    from terraform.runner import TerraformRunner

    runner = TerraformRunner(workdir, plugin_mirror=plugin_mirror, timeout=timeout)
    if not runner.available():
        from terraform.errors import TerraformUnavailable

        raise TerraformUnavailable("terraform is not on PATH")
    write_config(workdir, rendered)
    runner.init()
    runner.plan("tfplan")
    return runner.show_json("tfplan")


def _print_plan(result: dict) -> None:
    from rich.table import Table

    if result["note"]:
        console.print(f"[yellow]note:[/] {result['note']}")
    table = Table(title=f"{result['spec']} → {result['target']} plan ({result['source']})")
    for column in ("address", "action"):
        table.add_column(column)
    for c in result["changes"]:
        table.add_row(c["address"], c["action"])
    console.print(table)
    cost = result["cost"]
    console.print(f"monthly cost: ${cost['before']:,.2f} → ${cost['after']:,.2f} (delta ${cost['delta']:+,.2f})")
    _print_findings(result["safety"]["findings"])
    console.print(f"safety decision: [bold]{result['safety']['decision']}[/]")
    for fb in result["safety"]["fallbacks"]:
        console.print(f"  fallback {fb['kind']}: {fb.get('result')} {fb.get('reverted', '')}")


def _print_findings(findings: list[dict]) -> None:
    for f in findings:
        colour = "red" if f["severity"] == "deny" else "yellow"
        console.print(f"  [{colour}]{f['severity']}[/] {f['rule_id']} {f['address']}: {f['reason']}", highlight=False)


@app.command()
def check(
    plan_json: Path = typer.Argument(..., help="Plan JSON from `terraform show -json PLAN` (format 0.x or 1.x)."),
    spec_before: Path = typer.Option(None, "--spec-before", help="Spec before, enabling spec-level rules."),
    spec_after: Path = typer.Option(None, "--spec-after", help="Spec after, enabling spec-level rules."),
    allow_destroy: list[str] = typer.Option([], "--allow-destroy", help="Address allowed to be deleted/replaced."),
    json_output: bool = JsonFlag,
) -> None:
    """Safety findings for any plan JSON, ours or anyone's.

    Exits 0 when the plan is acceptable, 1 when a policy denies it, 2 when the input is bad.
    """
    from gcp.spec import load_spec
    from terraform.plan_model import Plan
    from terraform.safety import SafetyConfig, run_policies

    parsed = Plan.load(plan_json)
    before = load_spec(spec_before) if spec_before else None
    after = load_spec(spec_after) if spec_after else None
    if before is not None and after is None:
        fail("--spec-before needs --spec-after")
    findings = run_policies(parsed, before, after, SafetyConfig(allow_destroy=frozenset(allow_destroy)))
    denied = any(f.severity == "deny" for f in findings)
    result = {"plan": str(plan_json), "format_version": parsed.format_version, "source": parsed.source,
              "terraform_version": parsed.terraform_version, "summary": parsed.summary(),
              "changes": [c.to_dict() for c in parsed.changed()],
              "findings": [f.to_dict() for f in findings], "acceptable": not denied}
    if json_output:
        print_json(result)
    else:
        console.print(f"{plan_json}: format {parsed.format_version}, {parsed.source}, "
                      f"changes {parsed.summary()}")
        _print_findings(result["findings"])
        console.print("[green]acceptable[/]" if not denied else "[bold red]denied[/]")
    if denied:
        raise typer.Exit(1)
