"""What CI may do in AWS: every AWS CLI call the dbt build and the pull-request clean-up make is allowed by the
stack's dbt policy (the CI build role's only policy), and the build role trusts this repository's pull requests
and main branch only. (moto does not evaluate IAM against resource ARNs for these services, so the policy is read
here with IAM's rules, tests/infra/iam.py.)"""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest
import yaml

from lakehouse.infra import INFRA
from tests.infra import iam
from tests.infra.helpers import REPO_ROOT, Resolver

ACCOUNT, REGION = "123456789012", "us-east-1"
BUCKET = f"lakehouse-dev-lake-{ACCOUNT}-{REGION}"
GLUE = f"arn:aws:glue:{REGION}:{ACCOUNT}"
# The IAM requests behind each AWS CLI command CI runs, on the resources it runs them on (and the request's
# condition keys, where the policy has a condition).
REQUESTS: dict[tuple[str, str], list[tuple[str, ...]]] = {
    # needs no permission
    ("sts", "get-caller-identity"): [],
    ("cloudformation", "describe-stacks"): [
        (
            "cloudformation:DescribeStacks",
            f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/lakehouse-dev/0f1e2d3c",
        )
    ],
    ("s3", "cp"): [
        ("s3:GetObject", f"arn:aws:s3:::{BUCKET}/artifacts/dbt/manifest.json"),
        ("s3:PutObject", f"arn:aws:s3:::{BUCKET}/artifacts/dbt/manifest.json"),
    ],
    ("glue", "get-databases"): [("glue:GetDatabases", f"{GLUE}:catalog")],
    ("glue", "delete-database"): [
        ("glue:DeleteDatabase", f"{GLUE}:catalog"),
        ("glue:DeleteDatabase", f"{GLUE}:database/lakehouse_dev_pr7_gold"),
        ("glue:DeleteDatabase", f"{GLUE}:table/lakehouse_dev_pr7_gold/fct_orders"),
    ],
    ("s3", "rm"): [
        ("s3:ListBucket", f"arn:aws:s3:::{BUCKET}", "gold/lakehouse_dev_pr7_gold/"),
        (
            "s3:DeleteObject",
            f"arn:aws:s3:::{BUCKET}/gold/lakehouse_dev_pr7_gold/fct_orders/0a1b/data.parquet",
        ),
    ],
}


def aws_calls(text: str) -> set[tuple[str, str]]:
    """(service, command) of every `aws SERVICE COMMAND` in a script or a workflow's run lines."""
    calls = set()
    for line in text.splitlines():
        line = line.split("#", 1)[0] if not line.lstrip().startswith("echo") else ""
        for match in re.finditer(r"(?:^|[\s($|&;])aws ([a-z0-9-]+) ([a-z0-9-]+)", line):
            calls.add((match.group(1), match.group(2)))
    return calls


def ci_build_texts() -> dict[str, str]:
    """What runs with the build role: ci.yml's dbt-athena job, pr-closed.yml, and the scripts they start."""
    ci = yaml.safe_load((REPO_ROOT / ".github/workflows/ci.yml").read_text())
    closed = yaml.safe_load((REPO_ROOT / ".github/workflows/pr-closed.yml").read_text())
    runs = [
        step["run"]
        for job in (ci["jobs"]["dbt-athena"], *closed["jobs"].values())
        for step in job["steps"]
        if "run" in step
    ]
    texts = {"workflow run lines": "\n".join(runs)}
    for run in runs:
        for script in re.findall(r"infra/scripts/[a-z_]+\.sh", run):
            texts[script] = (REPO_ROOT / script).read_text()
            if "lib.sh" in texts[script]:
                texts["infra/scripts/lib.sh"] = (INFRA / "scripts" / "lib.sh").read_text()
    return texts


def allowed(statements: list[dict[str, Any]], action: str, resource: str, prefix: str | None = None) -> bool:
    """`prefix`: the s3:prefix of a ListBucket request."""
    context = {} if prefix is None else {"s3:prefix": prefix}
    return iam.allowed(statements, iam.Request(action, resource, context))


@pytest.fixture(scope="module")
def dbt_policy(template: dict[str, Any]) -> list[dict[str, Any]]:
    resolver = Resolver(template, {"AWS::Region": REGION})
    return resolver.resolve(template["Resources"]["DbtAthenaPolicy"]["Properties"]["PolicyDocument"])[
        "Statement"
    ]


def test_every_call_of_the_build_is_known() -> None:
    texts = ci_build_texts()
    assert "infra/scripts/drop_dev_prefix.sh" in texts, "pr-closed.yml must drop the pull request's databases"
    unknown = {name: aws_calls(text) - set(REQUESTS) for name, text in texts.items()}
    assert not any(unknown.values()), f"add these calls to REQUESTS: {unknown}"


@pytest.mark.parametrize(
    ("call", "requests"), REQUESTS.items(), ids=lambda v: " ".join(v) if isinstance(v, tuple) else ""
)
def test_the_dbt_policy_allows_what_ci_runs(
    dbt_policy: list[dict[str, Any]], call: tuple[str, str], requests: list[tuple[str, str]]
) -> None:
    for action, resource, *prefix in requests:
        assert allowed(dbt_policy, action, resource, *prefix), (
            f"aws {' '.join(call)}: {action} on {resource} is not allowed"
        )


def test_the_dbt_policy_drops_pull_request_databases_only(dbt_policy: list[dict[str, Any]]) -> None:
    for database in (
        "lakehouse_dev_gold",
        "lakehouse_dev_silver",
        "lakehouse_dev_staging",
        "lakehouse_prod_pr7_gold",
    ):
        assert not allowed(dbt_policy, "glue:DeleteDatabase", f"{GLUE}:database/{database}"), database
    assert not allowed(
        dbt_policy,
        "cloudformation:DescribeStacks",
        f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/other/1",
    )
    assert not allowed(
        dbt_policy,
        "cloudformation:UpdateStack",
        f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/lakehouse-dev/1",
    )


@pytest.mark.parametrize(
    ("name", "subject", "policies", "output"),
    [
        ("CiBuildRole", "ref:refs/heads/main", ["DbtAthenaPolicy"], "CiBuildRoleArn"),
        (
            "CiPullRequestRole",
            "pull_request",
            ["DbtAthenaPolicy", "PullRequestFencePolicy"],
            "CiPullRequestRoleArn",
        ),
    ],
)
def test_each_ci_role_is_for_one_kind_of_token_of_this_repository(
    template: dict[str, Any], name: str, subject: str, policies: list[str], output: str
) -> None:
    """main's build role and the pull requests' role: a pull request's token (its code can pick any role ARN)
    is never trusted by main's role, which may write the manifest and the marks."""
    resolver = Resolver(template, {"GitHubRepository": "octo/lakehouse"})
    assert resolver.condition("CiBuildRoleCond") and not Resolver(template).condition("CiBuildRoleCond")
    role = resolver.resolve(template["Resources"][name]["Properties"])
    assert role["ManagedPolicyArns"] == [resolver.values[p] for p in policies]
    assert "Policies" not in role
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert trust["Principal"]["Federated"].endswith(":oidc-provider/token.actions.githubusercontent.com")
    claims = trust["Condition"]["StringEquals"]
    assert claims["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
    # one kind of token, never a GitHub environment: those are the deploy role's
    assert claims["token.actions.githubusercontent.com:sub"] == f"repo:octo/lakehouse:{subject}"
    assert template["Outputs"][output]["Condition"] == "CiBuildRoleCond"


def test_aws_calls_are_found() -> None:
    """The scanner itself: a call after `$(`, after `if`, with continuation lines."""
    text = 'x="$(aws cloudformation describe-stacks --stack-name s)"\nif aws s3 cp a b; then\n  aws glue get-databases \\\n'
    assert aws_calls(text) == {("cloudformation", "describe-stacks"), ("s3", "cp"), ("glue", "get-databases")}
    assert shlex.split("aws s3 rm x")[0] == "aws"
