"""Render a spec and plan it: real Terraform where it can run, the offline preview otherwise.

The Terraform working folder lives in `$MARLFORM_HOME/terraform/<deployment>` and keeps the
deployment's state between plans and applies, so each real plan is made against what exists.
The saved binary plan travels in the bundle (`tfplan`), so apply runs exactly what was approved.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gcp.spec import DeploymentSpec

PLAN_FILE = "tfplan"


@dataclass
class TfPlan:
    main_tf: bytes
    plan_json: dict[str, Any]
    source: str  # terraform | preview
    tfplan: bytes | None
    #: Why the preview was used, when it was.
    note: str | None = None


def aws_options():
    """The aws target's provider options: `MARLFORM_AWS_ENDPOINT` points it at a local moto."""
    import os

    from terraform.render_aws import AwsOptions

    endpoint = os.environ.get("MARLFORM_AWS_ENDPOINT")
    return AwsOptions(endpoint=endpoint) if endpoint else AwsOptions()


def render(spec: DeploymentSpec, target: str):
    from terraform.render import render_full

    return render_full(spec, target, aws_options() if target == "aws" else None)


def runner(workdir: Path):
    from terraform.runner import TerraformRunner

    return TerraformRunner(workdir)


def real_plan(workdir: Path, after: DeploymentSpec, target: str) -> TfPlan:
    """init + plan -out + show -json in the deployment's working folder."""
    from terraform.render import write_config

    rendered = render(after, target)
    workdir.mkdir(parents=True, exist_ok=True)
    write_config(workdir, rendered)
    tf = runner(workdir)
    tf.init()
    tf.plan(out=PLAN_FILE)
    plan_json = tf.show_json(PLAN_FILE)
    plan_json["source"] = "terraform"
    return TfPlan(rendered.to_bytes(), plan_json, "terraform", (workdir / PLAN_FILE).read_bytes())


def preview_plan(before: DeploymentSpec, after: DeploymentSpec, target: str,
                 note: str | None) -> TfPlan:
    from terraform.preview import preview_plan as preview

    options = aws_options() if target == "aws" else None
    plan_json = preview(before, after, target, options)
    return TfPlan(render(after, target).to_bytes(), plan_json, "preview", None, note)


def make_plan(workdir: Path, before: DeploymentSpec, after: DeploymentSpec, target: str,
              try_real: bool) -> TfPlan:
    from terraform.errors import TerraformUnavailable
    from terraform.runner import MIRROR_ENV, TerraformRunner

    if not try_real:
        return preview_plan(before, after, target, "real Terraform was not requested")
    if not TerraformRunner.available():
        return preview_plan(before, after, target, "terraform is not on PATH")
    if not runner(workdir).mirror_has(target):
        return preview_plan(
            before, after, target,
            f"no plugin mirror with hashicorp/{target} is configured (set {MIRROR_ENV}); "
            "marlform never lets Terraform download providers",
        )
    try:
        return real_plan(workdir, after, target)
    except TerraformUnavailable as exc:
        reason = " ".join(str(exc).split("\n")[1:3]) or str(exc)
        return preview_plan(before, after, target, f"Terraform could not run: {reason}")
