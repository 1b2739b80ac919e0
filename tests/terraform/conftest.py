"""Fixtures for the terraform tests: example specs, the terraform binary and the plugin mirror."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from gcp.spec import DeploymentSpec, load_spec

#: Likely places of a filesystem mirror holding hashicorp/aws; MARLFORM_TF_PLUGIN_MIRROR wins.
MIRROR_CANDIDATES = ("/opt/tf-plugins", "~/.terraform.d/plugins", "~/.local/share/terraform/plugins",
                     "/usr/share/terraform/plugins")


@pytest.fixture
def web(example_path) -> DeploymentSpec:
    return load_spec(example_path("web-app"))


def find_mirror() -> Path | None:
    candidates = [os.environ.get("MARLFORM_TF_PLUGIN_MIRROR", ""), *MIRROR_CANDIDATES]
    for raw in candidates:
        if not raw:
            continue
        root = Path(raw).expanduser()
        if any(root.glob("registry.terraform.io/hashicorp/aws/*/*/terraform-provider-aws_*")) or any(
            root.glob("registry.terraform.io/hashicorp/aws/*.zip")
        ):
            return root
    return None


@pytest.fixture(scope="session")
def terraform_and_mirror() -> Path:
    """The plugin mirror; skips with the reason when terraform or the aws provider is absent."""
    if not shutil.which("terraform"):
        pytest.skip("terraform is not on PATH")
    mirror = find_mirror()
    if mirror is None:
        pytest.skip("no filesystem mirror with hashicorp/aws found (set MARLFORM_TF_PLUGIN_MIRROR; "
                    f"looked in {', '.join(MIRROR_CANDIDATES)})")
    return mirror
