"""The user-facing CI workflow: it loads, runs the same make targets as a developer, and its AWS jobs only
run where credentials are configured (OIDC, no stored keys)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from infra_testlib import REPO_ROOT

WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.y*ml"))
CI = REPO_ROOT / ".github" / "workflows" / "ci.yml"


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as True
    if True in data:
        data["on"] = data.pop(True)
    return data


@pytest.fixture(scope="module")
def ci() -> dict[str, Any]:
    return load(CI)


def run_lines(job: dict[str, Any]) -> list[str]:
    return [line.strip() for step in job["steps"] if "run" in step for line in step["run"].splitlines()]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_structure(path: Path) -> None:
    wf = load(path)
    assert wf.get("name") and wf.get("on") and wf.get("jobs")
    for name, job in wf["jobs"].items():
        assert "runs-on" in job, name
        assert job.get("steps"), name
        for step in job["steps"]:
            assert ("uses" in step) != ("run" in step), (name, step)
            if "uses" in step:  # every action pinned to a version
                assert re.fullmatch(r"[\w.-]+/[\w./-]+@[\w.-]+", step["uses"]), step["uses"]
        for need in job.get("needs", []):
            assert need in wf["jobs"], (name, need)


def test_triggers(ci: dict[str, Any]) -> None:
    assert ci["on"]["push"]["branches"] == ["main"]
    assert "pull_request" in ci["on"]
    assert "workflow_dispatch" in ci["on"]
    assert ci["permissions"] == {"contents": "read"}


@pytest.mark.parametrize(("job", "command"), [("lint", "make lint"), ("test", "make test")])
def test_checks_use_the_make_targets(ci: dict[str, Any], job: str, command: str) -> None:
    steps = ci["jobs"][job]["steps"]
    assert command in run_lines(ci["jobs"][job])
    python = [s for s in steps if s.get("uses", "").startswith("actions/setup-python@")]
    assert python and str(python[0]["with"]["python-version"]) in ("3.11", "${{ env.PYTHON_VERSION }}")
    assert str(ci["env"]["PYTHON_VERSION"]) == "3.11"
    assert python[0]["with"].get("cache") == "pip"
    assert any(s.get("uses", "").startswith("actions/cache@") for s in steps), "uv cache"
    assert "if" not in ci["jobs"][job], "lint and test run for everyone"


@pytest.mark.parametrize("job", ["dbt-athena", "deploy"])
def test_aws_jobs_are_guarded_and_use_oidc(ci: dict[str, Any], job: str) -> None:
    spec = ci["jobs"][job]
    assert "vars.AWS_ROLE_ARN != ''" in spec["if"]
    assert spec["permissions"]["id-token"] == "write"
    creds = [
        s for s in spec["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@")
    ]
    assert creds and creds[0]["with"]["role-to-assume"] == "${{ vars.AWS_ROLE_ARN }}"
    assert "aws-access-key-id" not in creds[0]["with"]
    assert set(spec["needs"]) == {"lint", "test"}


def test_dbt_slim_ci(ci: dict[str, Any]) -> None:
    lines = " ".join(run_lines(ci["jobs"]["dbt-athena"]))
    assert "dbt build --target athena --select state:modified+ --defer --state dbt-state" in lines
    assert "artifacts/dbt/manifest.json" in lines
    assert "infra/package.py exports --github-env" in lines  # DBT_ATHENA_* from the stack outputs


def test_deploy_is_manual_and_main_only(ci: dict[str, Any]) -> None:
    spec = ci["jobs"]["deploy"]
    assert "github.event_name == 'workflow_dispatch'" in spec["if"]
    assert "refs/heads/main" in spec["if"]
    assert any(line.startswith("make deploy ENV=") for line in run_lines(spec))
    assert ci["on"]["workflow_dispatch"]["inputs"]["deploy_env"]["default"] == "none"
