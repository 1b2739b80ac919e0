"""`marlform gcp`: observe, inventory and validate a real project; generate least-privilege roles.

Credentials come from Application Default Credentials or --key-file. For local
servers and emulators, --endpoint NAME=URL (or MARLFORM_GCP_ENDPOINT_<NAME>)
points a service elsewhere and uses anonymous credentials.
"""

from __future__ import annotations

from pathlib import Path

import typer

from marlform.cli.output import console, print_json

app = typer.Typer(no_args_is_help=True)

JsonFlag = typer.Option(False, "--json", help="Print JSON for scripts instead of tables.")
ProjectOpt = typer.Option(
    None, "--project", help="GCP project ID (default: the spec's project, else the credentials')."
)
KeyFile = typer.Option(
    None, "--key-file", help="Service-account key file; default: Application Default Credentials."
)
EndpointOpt = typer.Option(
    [],
    "--endpoint",
    help="NAME=URL for a local server or emulator (NAME: compute, monitoring, storage, sql); "
    "repeatable. Env: MARLFORM_GCP_ENDPOINT_<NAME>.",
)


def _session(project: str | None, key_file: Path | None, endpoint: list[str], region: str = "us-central1"):
    from gcp.clients.session import Endpoints, open_session

    endpoints = Endpoints.from_env().with_overrides(endpoint)
    return open_session(project, str(key_file) if key_file else None, endpoints, region=region)


def _spec(path: Path):
    from gcp.errors import MarlformError
    from gcp.spec import load_spec

    if not path.is_file():
        raise MarlformError(f"{path}: no such spec file (give the deployment's DeploymentSpec YAML/JSON)")
    return load_spec(path)


@app.command()
def observe(
    deployment: Path = typer.Option(..., "--deployment", help="The deployment's spec file (YAML/JSON)."),
    project: str | None = ProjectOpt,
    steps: int = typer.Option(12, "--steps", min=1, max=288, help="5-minute steps of history to read."),
    key_file: Path | None = KeyFile,
    endpoint: list[str] = EndpointOpt,
    json_output: bool = JsonFlag,
) -> None:
    """Read Cloud Monitoring for a deployment and map it into the agents' observation layout.

    Shows, per agent domain and resource, the newest raw value of each metric, its
    normalised value and its staleness (1 = missing or too old), as the policy sees them.
    """
    from gcp.gcp_backend import GcpBackend

    spec = _spec(deployment)
    session = _session(project or spec.project, key_file, endpoint, spec.region)
    raw = GcpBackend(session, spec, steps=steps).raw_telemetry()
    data = raw.to_dict()
    if json_output:
        print_json(data)
        return
    from rich.table import Table

    for domain, block in data["domains"].items():
        table = Table(title=f"{domain} (newest step)")
        table.add_column("resource")
        for metric in block["metrics"]:
            table.add_column(metric, justify="right")
        for row in block["resources"]:
            cells = [
                "—" if raw_v is None else f"{raw_v:.4g} ({norm:.2f}{'*' if stale >= 1 else ''})"
                for raw_v, norm, stale in zip(row["raw"], row["normalised"], row["staleness"], strict=True)
            ]
            table.add_row(row["name"], *cells)
        console.print(table)
    console.print("raw (normalised); — missing, * stale: the policy sees 0 with staleness 1")


@app.command()
def inventory(
    project: str = typer.Option(..., "--project", help="GCP project ID."),
    key_file: Path | None = KeyFile,
    endpoint: list[str] = EndpointOpt,
    json_output: bool = JsonFlag,
) -> None:
    """List what exists: instance groups (size, machine type), autoscalers, buckets, SQL, networks, firewalls."""
    from gcp import inventory as inv

    found = inv.read(_session(project, key_file, endpoint))
    if json_output:
        print_json(found.to_dict())
        return
    for g in found.instance_groups:
        console.print(f"group     {g.name:28} {g.location:16} size={g.target_size} {g.machine_type} {g.provisioning_model}")
    for a in found.autoscalers:
        console.print(f"autoscaler {a.name:27} -> {a.target_group} [{a.min_replicas}, {a.max_replicas}] cpu={a.cpu_target}")
    for b in found.buckets:
        rules = ", ".join(f"{r.action}@{r.age_days}d" for r in b.lifecycle_rules) or "no lifecycle"
        console.print(f"bucket    {b.name:28} {b.location:16} {b.storage_class} {rules}")
    for s in found.sql_instances:
        role = f"replica of {s.master_instance}" if s.master_instance else s.availability_type
        console.print(f"sql       {s.name:28} {s.tier:16} {role}")
    for n in found.networks:
        console.print(f"network   {n.name:28} subnets: {', '.join(f'{s.name}={s.cidr}' for s in n.subnets)}")
    for f in found.firewalls:
        console.print(f"firewall  {f.name:28} {f.action} {f.protocol}:{','.join(f.ports) or '*'} from {','.join(f.source_ranges)}")


@app.command()
def validate(
    spec_file: Path = typer.Argument(..., help="The DeploymentSpec that should be deployed."),
    project: str | None = ProjectOpt,
    key_file: Path | None = KeyFile,
    endpoint: list[str] = EndpointOpt,
    json_output: bool = JsonFlag,
) -> None:
    """Compare what exists with SPEC and report drift per resource. Exit 0: none; 1: drift; 2: error."""
    from gcp.gcp_backend import GcpBackend

    spec = _spec(spec_file)
    session = _session(project or spec.project, key_file, endpoint, spec.region)
    report = GcpBackend(session, spec).validate()
    if json_output:
        print_json(report.to_dict())
    elif report.ok and not report.drifts:
        console.print(f"[green]no drift[/]: {spec.name} in {session.project} matches {spec_file}")
    else:
        for resource, drifts in report.by_resource().items():
            console.print(f"[bold]{resource}[/]")
            for d in drifts:
                colour = "red" if d.severity == "error" else "yellow"
                console.print(f"  [{colour}]{d.severity}[/] {d.field}: {d.actual!r}, spec says {d.expected!r}")
    if not report.ok:
        raise typer.Exit(1)


@app.command("iam-role")
def iam_role(
    stage: str = typer.Option(..., "--stage", help="observe, plan or apply."),
    project: str | None = typer.Option(None, "--project", help="Project to create the role in."),
    out: Path | None = typer.Option(None, "--out", help="Write the .tf.json here instead of stdout."),
    json_output: bool = JsonFlag,
) -> None:
    """Terraform JSON for the least-privilege custom role of a stage (exactly what its code calls)."""
    from gcp import iam

    document = iam.custom_role_terraform(stage, project)  # type: ignore[arg-type]
    if out is not None:
        from gcp.files import atomic_write_json

        atomic_write_json(out, document)
        permissions = len(iam.stage_permissions(stage))  # type: ignore[arg-type]
        if json_output:
            print_json({"stage": stage, "file": str(out), "permissions": permissions})
        else:
            console.print(f"wrote {out}: role {iam.role_id(stage)} with {permissions} permissions")  # type: ignore[arg-type]
        return
    print_json(document)
