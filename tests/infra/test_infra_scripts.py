"""deploy.sh and destroy.sh against a fake `aws` CLI (tests/infra/fake_aws.py): the two-phase first create,
uploads between the phases, parameters the template declares, the export block, and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from infra_testlib import REPO_ROOT

SCRIPTS = REPO_ROOT / "infra" / "scripts"
FAKE_AWS = Path(__file__).with_name("fake_aws.py")


class Account:
    def __init__(self, tmp_path: Path) -> None:
        self.bin = tmp_path / "bin"
        self.bin.mkdir()
        aws = self.bin / "aws"
        aws.write_text(f'#!/bin/sh\nexec {sys.executable} {FAKE_AWS} "$@"\n')
        aws.chmod(0o755)
        self.state = tmp_path / "state.json"
        self.log = tmp_path / "calls.log"
        self.build = tmp_path / "build"
        self.env = {
            "PATH": f"{self.bin}:/usr/bin:/bin",
            "HOME": str(tmp_path),
            "PYTHON": sys.executable,
            "BUILD_DIR": str(self.build),
            "FAKE_AWS_STATE": str(self.state),
            "FAKE_AWS_LOG": str(self.log),
        }

    def run(self, script: str, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
        self.log.write_text("")
        return subprocess.run(
            ["bash", str(SCRIPTS / script), *args],
            env={**self.env, **env},
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )

    def calls(self) -> list[list[str]]:
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def account(self) -> dict[str, Any]:
        return json.loads(self.state.read_text())


def deploys(calls: list[list[str]]) -> list[dict[str, str]]:
    out = []
    for call in calls:
        if call[:2] == ["cloudformation", "deploy"]:
            i = call.index("--parameter-overrides") + 1
            params = {}
            while i < len(call) and not call[i].startswith("--"):
                key, value = call[i].split("=", 1)
                params[key] = value
                i += 1
            out.append(params)
    return out


@pytest.fixture
def account(tmp_path: Path) -> Account:
    return Account(tmp_path)


def test_first_deploy_is_two_phase_and_prints_the_dbt_environment(
    account: Account, template: dict[str, Any]
) -> None:
    result = account.run("deploy.sh", "dev")
    assert result.returncode == 0, result.stderr
    calls = account.calls()
    phases = deploys(calls)
    assert [p["DeployCompute"] for p in phases] == ["false", "true"]
    # uploads happen between the phases: the function's code is in the bucket before the function exists
    order = [i for i, c in enumerate(calls) if c[:2] == ["cloudformation", "deploy"]]
    uploads = [i for i, c in enumerate(calls) if c[:2] == ["s3", "cp"]]
    assert uploads and order[0] < min(uploads) and max(uploads) < order[1]
    objects = account.account()["objects"]["lakehouse-dev-lake-123456789012-us-east-1"]
    key = phases[1]["LambdaCodeKey"]
    assert key.startswith("artifacts/lambda/ingestion-") and key in objects
    assert {"artifacts/glue/bronze_to_silver_orders.py", "artifacts/glue/glue_jobs.zip"} <= set(objects)
    seeds = {f"reference/{p.name}" for p in (REPO_ROOT / "seeds").glob("*.csv")}
    assert seeds <= set(objects)
    # every override is a declared parameter, and every parameter without a default is given
    declared = template["Parameters"]
    for params in phases:
        assert set(params) <= set(declared), set(params) - set(declared)
        assert {k for k, v in declared.items() if "Default" not in v} <= set(params)
        assert params["PandasLayerArn"].startswith("arn:aws:lambda:us-east-1:")
    deploy = next(c for c in calls if c[:2] == ["cloudformation", "deploy"])
    assert "CAPABILITY_NAMED_IAM" in deploy and deploy[deploy.index("--stack-name") + 1] == "lakehouse-dev"
    # stdout is exactly the export block, which a shell can eval
    lines = result.stdout.strip().splitlines()
    assert lines and all(line.startswith("export ") for line in lines)
    env = subprocess.run(
        ["bash", "-c", f"{result.stdout}\nenv"], capture_output=True, text=True, check=True, env={}
    ).stdout.splitlines()
    assert "DBT_ATHENA_SCHEMA=lakehouse_dev_gold" in env
    assert "DBT_ATHENA_S3_STAGING_DIR=s3://lakehouse-dev-lake-123456789012-us-east-1/athena-results/" in env
    assert "DBT_ENV=dev" in env
    assert (account.build / "dev" / "dbt-athena.env").read_text() == result.stdout


def test_redeploy_is_one_phase_and_skips_an_unchanged_zip(account: Account) -> None:
    assert account.run("deploy.sh", "dev").returncode == 0
    result = account.run("deploy.sh", "dev")
    assert result.returncode == 0, result.stderr
    calls = account.calls()
    assert [p["DeployCompute"] for p in deploys(calls)] == ["true"]
    lambda_uploads = [c for c in calls if c[:2] == ["s3", "cp"] and "ingestion.zip" in c[-2]]
    assert not lambda_uploads


def test_layer_arn_can_be_overridden(account: Account) -> None:
    arn = "arn:aws:lambda:us-east-1:000000000000:layer:my-numpy-pyarrow:3"
    assert account.run("deploy.sh", "prod", PANDAS_LAYER_ARN=arn).returncode == 0
    assert {p["PandasLayerArn"] for p in deploys(account.calls())} == {arn}
    assert {p["Env"] for p in deploys(account.calls())} == {"prod"}


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        ((), {}, "usage:"),
        (("staging",), {}, "usage:"),
        (("dev",), {"FAKE_AWS_NO_CREDENTIALS": "1"}, "no valid AWS credentials"),
        (("dev",), {"PATH": "/usr/bin:/bin"}, "the aws CLI is not installed"),
    ],
)
@pytest.mark.parametrize("script", ["deploy.sh", "destroy.sh"])
def test_errors_are_one_line(
    account: Account, script: str, args: tuple[str, ...], env: dict[str, str], message: str
) -> None:
    if "PATH" in env and any(Path(d, "aws").exists() for d in env["PATH"].split(":")):
        pytest.skip("a real aws CLI is installed on this machine")
    result = account.run(script, *args, **env)
    assert result.returncode != 0
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_destroy_asks_then_empties_and_deletes(account: Account) -> None:
    assert account.run("deploy.sh", "dev").returncode == 0
    refused = account.run("destroy.sh", "dev", stdin="no\n")
    assert refused.returncode != 0 and "not confirmed" in refused.stderr
    assert "lakehouse-dev" in account.account()["stacks"]

    result = account.run("destroy.sh", "dev", stdin="lakehouse-dev\n")
    assert result.returncode == 0, result.stderr
    state = account.account()
    assert state["stacks"] == {}
    assert not any(state["objects"].values())
    calls = account.calls()
    assert any(c[:2] == ["s3api", "delete-objects"] for c in calls)
    first_delete = next(i for i, c in enumerate(calls) if c[:2] == ["cloudformation", "delete-stack"])
    assert all(i < first_delete for i, c in enumerate(calls) if c[:2] == ["s3api", "delete-objects"])


def test_destroy_force_and_absent_stack(account: Account) -> None:
    nothing = account.run("destroy.sh", "prod", FORCE="1")
    assert nothing.returncode == 0 and "nothing to do" in nothing.stderr
    assert account.run("deploy.sh", "prod").returncode == 0
    forced = account.run("destroy.sh", "prod", FORCE="1")
    assert forced.returncode == 0, forced.stderr
    assert account.account()["stacks"] == {}


def test_scripts_are_strict_and_executable() -> None:
    for script in ("deploy.sh", "destroy.sh"):
        path = SCRIPTS / script
        assert os.access(path, os.X_OK), f"{script} is not executable"
        text = path.read_text()
        assert text.startswith("#!/usr/bin/env bash\n")
        assert "set -euo pipefail" in text
        assert subprocess.run(["bash", "-n", str(path)], check=False).returncode == 0
