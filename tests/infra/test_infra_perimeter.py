"""The stack's perimeter, read from the template's IAM policies with IAM's evaluation rules
(tests/infra/iam.py): pull requests write only under their own prefixes, main's manifest and test-window marks are
read-only to them; ListBucket is scoped to prefixes; every role carries the permissions boundary, which holds
what the roles need and nothing that escapes it; the catalog is encrypted with the stack's key; every bucket name
is valid for any allowed ProjectName in any region; the template deploys inline without CAPABILITY_NAMED_IAM."""

from __future__ import annotations

import re
from typing import Any

import botocore.session
import pytest
import yaml

from lakehouse.infra import INFRA
from tests.infra.helpers import REPO_ROOT, Resolver
from tests.infra.iam import Request, Statement, as_list, permitted

ACCOUNT, REGION = "123456789012", "us-east-1"
BUCKET = f"lakehouse-dev-lake-{ACCOUNT}-{REGION}"
GLUE = f"arn:aws:glue:{REGION}:{ACCOUNT}"
S3 = f"arn:aws:s3:::{BUCKET}"
BOUNDARY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/lakehouse-dev-DeployBoundaryPolicy-1A2B3C"
# the services whose Arn attribute the roles' policies use, as IAM spells those ARNs
ARNS = {
    "AWS::KMS::Key": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{{}}",
    "AWS::Lambda::Function": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{{}}",
    "AWS::Logs::LogGroup": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{{}}:*",
    "AWS::SQS::Queue": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{{}}",
}

# the resources whose Ref (not only their Arn attribute) is an ARN
REF_ARNS = {
    "AWS::SNS::Topic": f"arn:aws:sns:{REGION}:{ACCOUNT}:{{}}",
    "AWS::StepFunctions::StateMachine": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{{}}",
}


class ArnResolver(Resolver):
    """The helpers' resolver, with the real ARN shape of the resources the roles' policies name by GetAtt."""

    def __init__(self, template: dict[str, Any], overrides: dict[str, str] | None = None) -> None:
        super().__init__(template, overrides)
        # a topic's and a state machine's Ref is their ARN, not their name
        for name, res in template["Resources"].items():
            if res["Type"] in REF_ARNS:
                self.values[name] = REF_ARNS[res["Type"]].format(self.values[name])

    def _attribute(self, res: str, attr: str) -> str:
        kind = self.template["Resources"][res]["Type"]
        if attr == "Arn" and kind in ARNS:
            return ARNS[kind].format(self.values[res])
        return super()._attribute(res, attr)


@pytest.fixture(scope="module")
def resolver(template: dict[str, Any]) -> Resolver:
    return ArnResolver(template, {"AWS::Region": REGION, "GitHubRepository": "octo/lakehouse"})


def policy_statements(template: dict[str, Any], resolver: Resolver, arn: str) -> list[Statement]:
    (name,) = [n for n, r in template["Resources"].items() if resolver.values[n] == arn]
    assert template["Resources"][name]["Type"] == "AWS::IAM::ManagedPolicy", name
    return resolver.resolve(template["Resources"][name]["Properties"]["PolicyDocument"])["Statement"]


def role_policies(
    template: dict[str, Any], resolver: Resolver, role: str
) -> tuple[list[Statement], list[Statement] | None]:
    """A role's statements (inline and managed) and its permissions boundary's, if it has one."""
    props = resolver.resolve(template["Resources"][role]["Properties"])
    statements = [st for p in props.get("Policies", []) for st in p["PolicyDocument"]["Statement"]]
    for arn in props.get("ManagedPolicyArns", []):
        statements += policy_statements(template, resolver, arn)
    boundary = props.get("PermissionsBoundary")
    return statements, None if boundary is None else policy_statements(template, resolver, boundary)


def roles(template: dict[str, Any]) -> list[str]:
    return [n for n, r in template["Resources"].items() if r["Type"] == "AWS::IAM::Role"]


def can(
    policies: tuple[list[Statement], list[Statement] | None], action: str, resource: str, **context: str
) -> bool:
    identity, boundary = policies
    return permitted(identity, boundary, Request(action, resource, context))


# ------------------------------------------------------------------------------------------- pull requests

MAIN_WRITES = [
    # main's slim-CI manifest
    ("s3:PutObject", f"{S3}/artifacts/dbt/manifest.json"),
    # the test-window marks: a view in main's staging database
    ("glue:UpdateTable", f"{GLUE}:table/lakehouse_dev_staging/test_window_marks"),
    ("glue:CreateTable", f"{GLUE}:database/lakehouse_dev_staging"),
    ("glue:DeleteTable", f"{GLUE}:table/lakehouse_dev_staging/test_window_marks"),
    # main's marts, their data, and a developer's databases
    ("glue:DeleteTable", f"{GLUE}:table/lakehouse_dev_gold/fct_orders"),
    ("glue:CreateDatabase", f"{GLUE}:database/lakehouse_dev_gold"),
    ("glue:UpdateTable", f"{GLUE}:table/lakehouse_dev_alice_gold/fct_orders"),
    ("s3:PutObject", f"{S3}/gold/lakehouse_dev_gold/fct_orders/0a1b/data/part.parquet"),
    ("s3:DeleteObject", f"{S3}/gold/lakehouse_dev_gold/fct_orders/0a1b/metadata/v1.json"),
    ("s3:PutObject", f"{S3}/gold/lakehouse_dev_reference/countries/0a1b/data.parquet"),
]
PULL_REQUEST_WORK = [
    ("glue:CreateDatabase", f"{GLUE}:database/lakehouse_dev_pr7_gold"),
    ("glue:CreateTable", f"{GLUE}:table/lakehouse_dev_pr7_staging/test_window_marks"),
    ("glue:UpdateTable", f"{GLUE}:table/lakehouse_dev_pr7_gold/fct_orders"),
    ("glue:DeleteTable", f"{GLUE}:table/lakehouse_dev_pr7_gold/fct_orders__bkp"),
    ("glue:DeleteDatabase", f"{GLUE}:database/lakehouse_dev_pr7_gold"),
    ("s3:PutObject", f"{S3}/gold/lakehouse_dev_pr7_gold/fct_orders/0a1b/data/part.parquet"),
    ("s3:DeleteObject", f"{S3}/gold/lakehouse_dev_pr7_gold/fct_orders/0a1b/data/part.parquet"),
    ("s3:PutObject", f"{S3}/athena-results/0f1e.csv"),
    # what it reads: main's manifest (defer), main's marts and silver
    ("s3:GetObject", f"{S3}/artifacts/dbt/manifest.json"),
    ("s3:GetObject", f"{S3}/gold/lakehouse_dev_gold/fct_orders/0a1b/data/part.parquet"),
    ("s3:GetObject", f"{S3}/silver/silver_orders/order_date=2026-02-01/part-0.parquet"),
    ("glue:GetTable", f"{GLUE}:table/lakehouse_dev_staging/test_window_marks"),
]


def catalog_requests(action: str, resource: str) -> list[tuple[str, str]]:
    """A Glue request is authorised against the catalog, the database and the table it names."""
    if not resource.startswith(GLUE):
        return [(action, resource)]
    kind, _, path = resource.removeprefix(f"{GLUE}:").partition("/")
    database = path.split("/")[0]
    arns = [f"{GLUE}:catalog", f"{GLUE}:database/{database}"]
    return [(action, arn) for arn in arns + ([resource] if kind == "table" else [])]


def allowed_all(policies: Any, action: str, resource: str) -> bool:
    return all(can(policies, a, r) for a, r in catalog_requests(action, resource))


@pytest.mark.parametrize(("action", "resource"), MAIN_WRITES)
def test_a_pull_request_cannot_write_main_s_manifest_marks_or_marts(
    template: dict[str, Any], resolver: Resolver, action: str, resource: str
) -> None:
    pull_request = role_policies(template, resolver, "CiPullRequestRole")
    assert not allowed_all(pull_request, action, resource)
    # main's build does
    assert allowed_all(role_policies(template, resolver, "CiBuildRole"), action, resource)


@pytest.mark.parametrize(("action", "resource"), PULL_REQUEST_WORK)
def test_a_pull_request_builds_in_its_own_databases(
    template: dict[str, Any], resolver: Resolver, action: str, resource: str
) -> None:
    assert allowed_all(role_policies(template, resolver, "CiPullRequestRole"), action, resource)


def test_ci_takes_the_pull_request_role_for_pull_requests() -> None:
    def load(name: str) -> dict[str, Any]:
        return yaml.safe_load((REPO_ROOT / ".github" / "workflows" / name).read_text())

    job = load("ci.yml")["jobs"]["dbt-athena"]
    (creds,) = [s for s in job["steps"] if "configure-aws-credentials" in s.get("uses", "")]
    assert creds["with"]["role-to-assume"] == (
        "${{ github.event_name == 'pull_request' && vars.AWS_PR_ROLE_ARN || vars.AWS_BUILD_ROLE_ARN }}"
    )
    assert "github.event_name == 'pull_request' && vars.AWS_PR_ROLE_ARN != ''" in job["if"]
    (store,) = [
        s for s in job["steps"] if "artifacts/dbt/manifest.json" in s.get("run", "") and "target/" in s["run"]
    ]
    assert store["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    (closed,) = load("pr-closed.yml")["jobs"].values()
    roles = [
        s["with"]["role-to-assume"]
        for s in closed["steps"]
        if "configure-aws-credentials" in s.get("uses", "")
    ]
    assert roles == ["${{ vars.AWS_PR_ROLE_ARN }}"]


# ------------------------------------------------------------------------------------------- ListBucket


def all_statements(template: dict[str, Any], resolver: Resolver) -> dict[str, list[Statement]]:
    found = {}
    for name, res in template["Resources"].items():
        if res["Type"] == "AWS::IAM::ManagedPolicy":
            found[name] = resolver.resolve(res["Properties"]["PolicyDocument"])["Statement"]
        elif res["Type"] == "AWS::IAM::Role":
            props = resolver.resolve(res["Properties"])
            found[name] = [st for p in props.get("Policies", []) for st in p["PolicyDocument"]["Statement"]]
    return found


def test_every_list_bucket_is_scoped_to_prefixes(template: dict[str, Any], resolver: Resolver) -> None:
    listing = [
        (name, st)
        for name, statements in all_statements(template, resolver).items()
        for st in statements
        if st["Effect"] == "Allow"
        and "Action" in st
        and "s3:listbucket" in [a.lower() for a in as_list(st["Action"])]
    ]
    assert len(listing) >= 2, listing
    for name, st in listing:
        prefixes = st.get("Condition", {}).get("StringLike", {}).get("s3:prefix")
        assert prefixes and all(p for p in as_list(prefixes)), (name, st)
    dbt = role_policies(template, resolver, "CiPullRequestRole")
    assert can(dbt, "s3:ListBucket", S3, **{"s3:prefix": "gold/lakehouse_dev_pr7_gold/"})
    assert can(dbt, "s3:ListBucket", S3, **{"s3:prefix": "silver/silver_orders/"})
    for prefix in ("", "bronze/", "_state/silver/"):
        assert not can(dbt, "s3:ListBucket", S3, **{"s3:prefix": prefix}), prefix
    assert not can(dbt, "s3:ListBucket", S3)


# ------------------------------------------------------------------------------------------- the boundary

NAMED_IAM = ("RoleName", "ManagedPolicyName", "UserName", "GroupName", "InstanceProfileName")


def test_every_role_carries_the_boundary_and_no_iam_name(template: dict[str, Any]) -> None:
    """Roles the stack creates are bounded like the deploy role; no IAM resource has a fixed name, so the stack
    deploys with CAPABILITY_IAM (a named one needs CAPABILITY_NAMED_IAM)."""
    assert len(roles(template)) >= 4
    for name in roles(template):
        assert template["Resources"][name]["Properties"].get("PermissionsBoundary") == {
            "Ref": "DeployBoundaryPolicy"
        }, name
    for name, res in template["Resources"].items():
        if res["Type"].startswith("AWS::IAM::"):
            assert not set(NAMED_IAM) & set(res["Properties"]), name
    deploy = (INFRA / "scripts" / "deploy.sh").read_text()
    assert "--capabilities CAPABILITY_IAM " in deploy and "NAMED_IAM" not in deploy
    assert template["Outputs"]["DeployBoundaryPolicyArn"]["Value"] == {"Ref": "DeployBoundaryPolicy"}


def test_the_boundary_holds_everything_each_role_is_granted(
    template: dict[str, Any], resolver: Resolver
) -> None:
    for role in roles(template):
        identity, boundary = role_policies(template, resolver, role)
        assert boundary is not None, role
        for st in identity:
            if st["Effect"] != "Allow":
                continue
            for action in as_list(st["Action"]):
                for resource in as_list(st["Resource"]):
                    context = {
                        k: as_list(v)[0] for t in st.get("Condition", {}).values() for k, v in t.items()
                    }
                    assert permitted(boundary, None, Request(action, resource, context)), (
                        role,
                        action,
                        resource,
                    )


def test_the_boundary_cannot_be_escaped(template: dict[str, Any], resolver: Resolver) -> None:
    boundary = policy_statements(template, resolver, resolver.values["DeployBoundaryPolicy"])

    def can_(action: str, resource: str, **context: str) -> bool:
        return permitted(boundary, None, Request(action, resource, context))

    role = f"arn:aws:iam::{ACCOUNT}:role/lakehouse-dev-GoldRunnerRole-9Z8Y"
    bound = {"iam:PermissionsBoundary": BOUNDARY_ARN}
    assert can_("iam:CreateRole", role, **bound)
    assert can_("iam:PutRolePolicy", role)
    assert can_("iam:PassRole", role)
    assert not can_("iam:CreateRole", role)
    assert not can_(
        "iam:CreateRole", role, **{"iam:PermissionsBoundary": f"arn:aws:iam::{ACCOUNT}:policy/wide"}
    )
    assert not can_(
        "iam:PutRolePermissionsBoundary",
        role,
        **{"iam:PermissionsBoundary": "arn:aws:iam::aws:policy/AdministratorAccess"},
    )
    assert not can_("iam:DeleteRolePermissionsBoundary", role)
    for action in (
        "iam:CreatePolicyVersion",
        "iam:DeletePolicy",
        "iam:SetDefaultPolicyVersion",
        "iam:CreatePolicy",
    ):
        assert not can_(action, BOUNDARY_ARN), action
    for action, resource in [
        ("iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role/other-stack-role"),
        ("iam:AttachRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/Admin"),
        ("iam:CreateUser", f"arn:aws:iam::{ACCOUNT}:user/mallory"),
        ("iam:CreateAccessKey", f"arn:aws:iam::{ACCOUNT}:user/mallory"),
        ("s3:GetObject", "arn:aws:s3:::someone-elses-bucket/secret"),
        ("ec2:RunInstances", f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/*"),
        ("s3:PutObject", f"arn:aws:s3:::lakehouse-prod-lake-{ACCOUNT}-{REGION}/gold/x"),
    ]:
        assert not can_(action, resource, **bound), (action, resource)


# ------------------------------------------------------------------------------------------- catalog, names


def test_the_catalog_is_encrypted_with_the_stack_s_key(template: dict[str, Any], resolver: Resolver) -> None:
    (name,) = [
        n for n, r in template["Resources"].items() if r["Type"] == "AWS::Glue::DataCatalogEncryptionSettings"
    ]
    res = template["Resources"][name]
    assert resolver.condition(res["Condition"])
    assert not Resolver(template, {"EncryptCatalog": "false"}).condition(res["Condition"])
    settings = resolver.resolve(res["Properties"])
    key = resolver.resolve({"Fn::GetAtt": ["LakeKey", "Arn"]})
    assert settings["CatalogId"] == ACCOUNT
    at_rest = settings["DataCatalogEncryptionSettings"]["EncryptionAtRest"]
    assert at_rest == {"CatalogEncryptionMode": "SSE-KMS", "SseAwsKmsKeyId": key}
    passwords = settings["DataCatalogEncryptionSettings"]["ConnectionPasswordEncryption"]
    assert passwords == {"ReturnConnectionPasswordEncrypted": True, "KmsKeyId": key}
    # whoever reads the catalog can decrypt it
    for role in ("CiPullRequestRole", "CiBuildRole", "SilverJobRole"):
        assert can(role_policies(template, resolver, role), "kms:Decrypt", key), role


def longest(pattern: str) -> str:
    names = [n for n in ("a" * size for size in range(1, 80)) if re.fullmatch(pattern, n)]
    assert names, pattern
    return names[-1]


def test_bucket_names_are_valid_for_every_allowed_project_name_and_region(template: dict[str, Any]) -> None:
    session = botocore.session.get_session()
    regions = {r for p in session.get_available_partitions() for r in session.get_available_regions("s3", p)}
    region = max(regions, key=len)
    project = longest(template["Parameters"]["ProjectName"]["AllowedPattern"])
    buckets = [n for n, r in template["Resources"].items() if r["Type"] == "AWS::S3::Bucket"]
    assert len(buckets) >= 2
    for env in template["Parameters"]["Env"]["AllowedValues"]:
        resolver = Resolver(template, {"ProjectName": project, "Env": env, "AWS::Region": region})
        for bucket in buckets:
            name = resolver.resolve(template["Resources"][bucket]["Properties"]["BucketName"])
            assert len(name) <= 63 and re.fullmatch(r"[a-z0-9][a-z0-9-]*[a-z0-9]", name), (name, len(name))
