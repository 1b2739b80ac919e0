"""The one adapter around the Terraform CLI (python-terraform builds the command lines).

python-terraform (0.10.x, unmaintained) has known pitfalls, so this module uses only its
command-line builder (`Terraform.generate_cmd_string`) and runs the process itself:
- its `cmd()` has no timeout and cannot take an environment, and `plan()` turns on
  `-detailed-exitcode` and then treats exit 2 ("changes present") as an error;
- here every command gets `-input=false -no-color`, `TF_IN_AUTOMATION=1`, a timeout, and a
  CLI config file written into the working directory that points provider installation at a
  filesystem mirror (never the network when a mirror is given) and an optional plugin cache.
Errors carry the command and Terraform's own `Error:` lines from stderr.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from gcp.files import atomic_write_text
from terraform.errors import TerraformRunError, TerraformUnavailable

MIRROR_ENV = "MARLFORM_TF_PLUGIN_MIRROR"
CACHE_ENV = "MARLFORM_TF_PLUGIN_CACHE"
CLI_CONFIG_NAME = ".marlform.tfrc"
_PROVIDER_MISSING = re.compile(
    r"Failed to (query available provider packages|install provider)|provider registry|"
    r"could not connect to registry|Failed to resolve provider packages",
    re.I,
)


def _hcl_string(value: str) -> str:
    return json.dumps(str(value))  # a JSON string literal is a valid HCL string literal


def error_lines(stderr: str, limit: int = 12) -> str:
    """Terraform's `Error:` summaries and their detail lines, without the box drawing."""
    lines = [line.strip(" │╷╵") for line in stderr.splitlines()]
    picked, keep = [], False
    for line in lines:
        if line.startswith("Error:"):
            keep = True
        if keep and line.strip():
            picked.append(line.strip())
    return "\n".join((picked or [ln for ln in lines if ln.strip()])[:limit])


class TerraformRunner:
    """init / plan -out / show -json / apply <saved plan> / destroy in one working directory."""

    def __init__(self, workdir: str | Path, plugin_mirror: str | Path | None = None,
                 plugin_cache: str | Path | None = None, timeout: float = 600.0,
                 env: dict[str, str] | None = None, terraform_bin: str | None = None):
        self.workdir = Path(workdir)
        mirror = plugin_mirror or os.environ.get(MIRROR_ENV)
        cache = plugin_cache or os.environ.get(CACHE_ENV)
        self.plugin_mirror = Path(mirror) if mirror else None
        self.plugin_cache = Path(cache) if cache else None
        self.timeout = timeout
        self.extra_env = dict(env or {})
        self.terraform_bin = terraform_bin or shutil.which("terraform")

    @staticmethod
    def available(terraform_bin: str | None = None) -> bool:
        return bool(terraform_bin or shutil.which("terraform"))

    def mirror_has(self, provider: str) -> bool:
        """Whether the configured plugin mirror holds `hashicorp/<provider>` (no mirror: False).

        Planning without a mirror would make Terraform reach for the public registry,
        so callers use this to decide before any network is touched.
        """
        if not self.plugin_mirror:
            return False
        return (self.plugin_mirror / "registry.terraform.io" / "hashicorp" / provider).is_dir()

    # plumbing -------------------------------------------------------------
    def _write_cli_config(self) -> Path:
        lines = []
        if self.plugin_mirror:
            if not self.plugin_mirror.is_dir():
                raise TerraformUnavailable(f"plugin mirror {self.plugin_mirror} is not a directory")
            lines += [
                "provider_installation {",
                f"  filesystem_mirror {{\n    path = {_hcl_string(self.plugin_mirror.resolve())}\n  }}",
                '  direct {\n    exclude = ["registry.terraform.io/*/*"]\n  }',
                "}",
            ]
        if self.plugin_cache:
            self.plugin_cache.mkdir(parents=True, exist_ok=True)
            lines.append(f"plugin_cache_dir = {_hcl_string(self.plugin_cache.resolve())}")
        path = self.workdir / CLI_CONFIG_NAME
        atomic_write_text(path, "\n".join(lines) + "\n")
        return path

    def _env(self) -> dict[str, str]:
        env = {**os.environ, "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"}
        env["TF_CLI_CONFIG_FILE"] = str(self._write_cli_config())
        env.update(self.extra_env)
        return env

    def command(self, cmd: str, *args: str, **options: Any) -> list[str]:
        """The argv for `terraform <cmd>`, built by python-terraform (options: `no_color=IsFlagged`...)."""
        from python_terraform import IsFlagged, Terraform

        if not self.terraform_bin:
            raise TerraformUnavailable("terraform is not on PATH; use the offline preview (--preview)")
        builder = Terraform(working_dir=str(self.workdir), terraform_bin_path=self.terraform_bin)
        options = {"no_color": IsFlagged, **options}
        return builder.generate_cmd_string(cmd, *args, **options)

    def run(self, cmd: str, *args: str, ok_codes: tuple[int, ...] = (0,), **options: Any) -> subprocess.CompletedProcess:
        argv = self.command(cmd, *args, **options)
        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            proc = subprocess.run(argv, cwd=self.workdir, env=self._env(), capture_output=True, text=True,
                                  timeout=self.timeout, stdin=subprocess.DEVNULL, check=False)
        except FileNotFoundError:
            raise TerraformUnavailable(f"cannot run {argv[0]!r}: not found") from None
        except subprocess.TimeoutExpired:
            raise TerraformRunError(f"terraform {cmd} timed out after {self.timeout:g} s in {self.workdir}") from None
        if proc.returncode not in ok_codes:
            detail = error_lines(proc.stderr or proc.stdout)
            kind = TerraformUnavailable if _PROVIDER_MISSING.search(proc.stderr) else TerraformRunError
            raise kind(f"terraform {cmd} failed (exit {proc.returncode}) in {self.workdir}:\n{detail}")
        return proc

    # the lifecycle ----------------------------------------------------------
    def init(self) -> None:
        self.run("init", input=False)

    def plan(self, out: str = "tfplan", destroy: bool = False, refresh: bool = True) -> bool:
        """`plan -out`; True when the plan has changes (exit 2 of -detailed-exitcode).
        `refresh=False` plans from the state alone (faster; right when nothing drifted)."""
        from python_terraform import IsFlagged

        options: dict[str, Any] = {"input": False, "out": out, "detailed_exitcode": IsFlagged}
        if not refresh:
            options["refresh"] = False
        if destroy:
            options["destroy"] = IsFlagged
        return self.run("plan", ok_codes=(0, 2), **options).returncode == 2

    def show_json(self, plan_file: str = "tfplan") -> dict[str, Any]:
        from python_terraform import IsFlagged

        proc = self.run("show", plan_file, json=IsFlagged)
        try:
            return json.loads(proc.stdout)
        except json.JSONDecodeError as exc:
            raise TerraformRunError(f"terraform show -json printed invalid JSON: {exc}") from None

    def apply(self, plan_file: str = "tfplan") -> None:
        """Apply a saved plan: exactly what was reviewed, no re-plan, no prompt."""
        self.run("apply", plan_file, input=False)

    def destroy(self) -> None:
        from python_terraform import IsFlagged

        self.run("destroy", input=False, auto_approve=IsFlagged)
