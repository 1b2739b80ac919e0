"""Credentials (ADC, key file, none) without leaking secrets, and the `marlform gcp` commands."""

from __future__ import annotations

import json
import logging

import pytest
from typer.testing import CliRunner

from gcp import auth
from gcp.clients import CredentialsError
from marlform.cli.main import app


def _key_file(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    info = {"type": "service_account", "project_id": "acme-shop-prod", "private_key_id": "abc123",
            "private_key": pem, "client_email": "marlform@acme-shop-prod.iam.gserviceaccount.com",
            "client_id": "1", "token_uri": "https://oauth2.googleapis.com/token"}
    path = tmp_path / "key.json"
    path.write_text(json.dumps(info))
    return path, pem


def _no_adc(monkeypatch, tmp_path):
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    for name in ("COMPUTE", "MONITORING", "STORAGE", "SQL"):
        monkeypatch.delenv(f"MARLFORM_GCP_ENDPOINT_{name}", raising=False)


def test_key_file_loads_and_never_shows_the_secret(tmp_path, caplog):
    path, pem = _key_file(tmp_path)
    caplog.set_level(logging.DEBUG)
    loaded = auth.load(path)
    assert loaded.project == "acme-shop-prod"
    assert "marlform@acme-shop-prod.iam.gserviceaccount.com" in loaded.principal
    secret_line = pem.splitlines()[1]
    for text in (repr(loaded), str(loaded), loaded.principal, caplog.text):
        assert secret_line not in text and "PRIVATE KEY" not in text and "abc123" not in text


def test_broken_key_file_error_shows_no_key_material(tmp_path):
    path, pem = _key_file(tmp_path)
    data = json.loads(path.read_text())
    data["private_key"] = pem[:200]  # truncated key
    path.write_text(json.dumps(data))
    with pytest.raises(CredentialsError) as info:
        auth.load(path)
    assert pem.splitlines()[1] not in str(info.value)
    with pytest.raises(CredentialsError, match="does not exist"):
        auth.load(tmp_path / "missing.json")


def test_no_credentials_is_a_clear_error(monkeypatch, tmp_path):
    _no_adc(monkeypatch, tmp_path)
    with pytest.raises(CredentialsError, match="application-default login"):
        auth.load()
    result = CliRunner().invoke(app, ["gcp", "inventory", "--project", "acme-shop-prod"])
    assert result.exit_code != 0
    assert isinstance(result.exception, CredentialsError)


def _endpoint_args(cloud):
    e = cloud.endpoints
    return ["--endpoint", f"compute={e.compute}", "--endpoint", f"monitoring={e.monitoring}",
            "--endpoint", f"storage={e.storage}", "--endpoint", f"sql={e.sql}"]


def test_cli_inventory_validate_observe_against_local_servers(cloud, example_path, monkeypatch, tmp_path):
    _no_adc(monkeypatch, tmp_path)
    runner = CliRunner()
    spec = str(example_path("web-app"))
    result = runner.invoke(app, ["gcp", "inventory", "--project", "acme-shop-prod", "--json", *_endpoint_args(cloud)])
    assert result.exit_code == 0, result.output
    assert {g["name"] for g in json.loads(result.output)["instance_groups"]} >= {"frontend", "queue-worker-spot"}

    result = runner.invoke(app, ["gcp", "validate", spec, "--json", *_endpoint_args(cloud)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["ok"] is True

    db = next(i for i in cloud.compute.sql_instances if i["name"] == "shop-db")
    db["settings"]["availabilityType"] = "ZONAL"
    result = runner.invoke(app, ["gcp", "validate", spec, *_endpoint_args(cloud)])
    assert result.exit_code == 1
    assert "database/shop-db" in result.output and "availability_type" in result.output

    for name, url in zip(("COMPUTE", "MONITORING", "STORAGE", "SQL"), _endpoint_args(cloud)[1::2], strict=True):
        monkeypatch.setenv(f"MARLFORM_GCP_ENDPOINT_{name}", url.split("=", 1)[1])
    result = runner.invoke(app, ["gcp", "observe", "--deployment", spec, "--json", "--steps", "3"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [r["name"] for r in data["domains"]["compute"]["resources"]] == [s.name for s in cloud.spec.services]
    # no metrics were seeded: everything is missing, so the policy sees 0 with staleness 1
    assert all(s == 1.0 for r in data["domains"]["database"]["resources"] for s in r["staleness"])


def test_cli_bad_endpoint_and_missing_spec_are_clean_errors(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["gcp", "inventory", "--project", "acme-shop-prod", "--endpoint", "bogus"])
    assert result.exit_code != 0 and "NAME=URL" in str(result.exception)
    result = runner.invoke(app, ["gcp", "validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code != 0 and "no such spec file" in str(result.exception)
