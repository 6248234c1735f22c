"""The user-facing CI workflow: it loads, runs the same make targets as a developer, and its AWS jobs only
run where credentials are configured (OIDC, no stored keys)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.infra.helpers import REPO_ROOT

WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.y*ml"))
CI = REPO_ROOT / ".github" / "workflows" / "ci.yml"
PR_CLOSED = REPO_ROOT / ".github" / "workflows" / "pr-closed.yml"
# Pull requests take their own role (it cannot write main's manifest or marks), main its build role.
PR_ROLE = "${{ vars.AWS_PR_ROLE_ARN }}"
BUILD_ROLE = "${{ github.event_name == 'pull_request' && vars.AWS_PR_ROLE_ARN || vars.AWS_BUILD_ROLE_ARN }}"


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
            # every action pinned to a version
            if "uses" in step:
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


def _roles(job: dict[str, Any]) -> list[str]:
    creds = [
        s for s in job["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@")
    ]
    assert all("aws-access-key-id" not in c["with"] for c in creds), "OIDC only, no stored keys"
    return [c["with"]["role-to-assume"] for c in creds]


@pytest.mark.parametrize(
    ("job", "role"),
    [("dbt-athena", BUILD_ROLE), ("deploy", "${{ vars.AWS_DEPLOY_ROLE_ARN }}")],
)
def test_aws_jobs_are_guarded_and_use_oidc(ci: dict[str, Any], job: str, role: str) -> None:
    spec = ci["jobs"][job]
    assert spec["permissions"]["id-token"] == "write"
    assert _roles(spec) == [role]
    assert set(spec["needs"]) == {"lint", "test"}


def test_pull_request_code_never_gets_the_deploy_role(ci: dict[str, Any]) -> None:
    """Three roles: the build roles (dbt's policy), one for pull requests and one for main, and the deploy role
    only in the deploy job, which runs from main, by hand, in the GitHub environment whose protection and trust
    policy gate it."""
    workflows = {path.name: load(path) for path in WORKFLOWS}
    uses = {
        (name, job_name): _roles(job)
        for name, wf in workflows.items()
        for job_name, job in wf["jobs"].items()
    }
    deploying = [key for key, roles in uses.items() if "${{ vars.AWS_DEPLOY_ROLE_ARN }}" in roles]
    assert deploying == [("ci.yml", "deploy")]
    assert not any("AWS_ROLE_ARN }}" in str(wf) for wf in workflows.values()), "one role for everything"
    deploy = ci["jobs"]["deploy"]
    assert deploy["environment"] == "${{ inputs.deploy_env }}"
    assert "github.event_name == 'workflow_dispatch'" in deploy["if"] and "refs/heads/main" in deploy["if"]
    for (name, job_name), roles in uses.items():
        if roles and (name, job_name) != ("ci.yml", "deploy"):
            assert roles == [{"pr-closed.yml": PR_ROLE}.get(name, BUILD_ROLE)], (name, job_name)
            assert "environment" not in workflows[name]["jobs"][job_name], (name, job_name)
            # fork pull requests get no AWS credentials
            assert (
                "github.event.pull_request.head.repo.full_name == github.repository"
                in workflows[name]["jobs"][job_name]["if"]
            )


def test_pull_requests_build_in_databases_of_their_own(ci: dict[str, Any]) -> None:
    """Each pull request builds in lakehouse_dev_pr<N>_<layer>, from scratch, deferring the rest to main's
    manifest; pr-closed.yml drops those databases when the pull request closes."""
    job = ci["jobs"]["dbt-athena"]
    assert job["env"]["DBT_DEV_PREFIX"] == (
        "${{ github.event_name == 'pull_request' && format('pr{0}', github.event.pull_request.number) || '' }}"
    )
    lines = run_lines(job)
    pr_build = [line for line in lines if "state:modified+" in line]
    assert pr_build == [
        ".venv/bin/dbt build --target athena --full-refresh --select state:modified+ --defer --state dbt-state"
    ]
    closed = load(PR_CLOSED)
    assert closed["on"] == {"pull_request": {"types": ["closed"]}}
    (drop,) = closed["jobs"].values()
    assert 'infra/scripts/drop_dev_prefix.sh "pr${{ github.event.pull_request.number }}"' in run_lines(drop)
    # the base branch's script runs, not the pull request's
    (checkout,) = [s for s in drop["steps"] if s.get("uses", "").startswith("actions/checkout@")]
    assert checkout["with"]["ref"] == "${{ github.event.pull_request.base.sha }}"


def test_dbt_slim_ci(ci: dict[str, Any]) -> None:
    lines = " ".join(run_lines(ci["jobs"]["dbt-athena"]))
    assert "--select state:modified+ --defer --state dbt-state" in lines
    assert "artifacts/dbt/manifest.json" in lines
    # DBT_ATHENA_* from the stack outputs
    assert "infra/package.py exports --github-env" in lines


def test_deploy_is_manual_and_main_only(ci: dict[str, Any]) -> None:
    spec = ci["jobs"]["deploy"]
    assert "github.event_name == 'workflow_dispatch'" in spec["if"]
    assert "refs/heads/main" in spec["if"]
    assert any(line.startswith("make deploy ENV=") for line in run_lines(spec))
    assert ci["on"]["workflow_dispatch"]["inputs"]["deploy_env"]["default"] == "none"
