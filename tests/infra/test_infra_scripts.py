"""deploy.sh and destroy.sh run for real: the AWS CLI from requirements/dev.txt against moto's server
(lakehouse/moto_aws.py says which gaps of moto's CloudFormation it closes, and which resource types moto skips).
What the tests check is read back from moto with boto3: the stack, its parameters, tags and outputs, the
uploads, the function made from the uploaded zip, the Glue databases and the workgroup, the emptied buckets.
The account is a new one (moto_aws.py: Lambda's concurrency quota is 10)."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from lakehouse.moto_aws import ACCOUNT, REGION, MotoServer, enforcing_iam
from tests.infra.helpers import REPO_ROOT

SCRIPTS = REPO_ROOT / "infra" / "scripts"
VENV_BIN = Path(sys.executable).parent
LAKE = f"lakehouse-dev-lake-{ACCOUNT}-{REGION}"
LOGS = f"lakehouse-dev-access-logs-{ACCOUNT}-{REGION}"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:Tried to parse AWS::")]


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    if not (VENV_BIN / "aws").exists():
        pytest.fail("the AWS CLI is missing from the venv: pip-sync requirements/dev.txt")
    server = MotoServer()
    url = server.start()
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST")).close()
    yield url
    server.stop()


class Account:
    """The module's moto account (its tests use different stacks); run() starts a script with the real `aws`
    first on PATH, pointed at moto."""

    def __init__(self, url: str, tmp_path: Path) -> None:
        self.url = url
        self.build = tmp_path / "build"
        self.env = {
            "PATH": f"{VENV_BIN}:/usr/bin:/bin",
            "HOME": str(tmp_path),
            "PYTHON": sys.executable,
            "BUILD_DIR": str(self.build),
            "AWS_ENDPOINT_URL": url,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            **CREDENTIALS,
        }

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.url, region_name=REGION, **_lower(CREDENTIALS))

    def publish_layer(self, name: str = "AWSSDKPandas-Python312", runtime: str = "python3.12") -> str:
        content = io.BytesIO()
        with zipfile.ZipFile(content, "w") as zf:
            zf.writestr("python/placeholder.py", "")
        layer = self.client("lambda").publish_layer_version(
            LayerName=name,
            Content={"ZipFile": content.getvalue()},
            CompatibleRuntimes=[runtime],
            CompatibleArchitectures=["x86_64"],
        )
        return str(layer["LayerVersionArn"])

    def run(self, script: str, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
        full_env = {**self.env, **env}
        for key in [k for k, v in full_env.items() if v == "<unset>"]:
            del full_env[key]
        return subprocess.run(
            ["bash", str(SCRIPTS / script), *args],
            env=full_env,
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )

    def deploy(self, env_name: str = "dev", **env: str) -> subprocess.CompletedProcess[str]:
        env.setdefault("PANDAS_LAYER_ARN", self.publish_layer())
        result = self.run("deploy.sh", env_name, **env)
        assert result.returncode == 0, result.stderr
        return result

    def stack(self, name: str = "lakehouse-dev") -> dict[str, Any]:
        return dict(self.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0])

    def versions(self, bucket: str) -> list[dict[str, Any]]:
        pages = self.client("s3").get_paginator("list_object_versions").paginate(Bucket=bucket)
        return [v for page in pages for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]]

    def version_buckets(self, *buckets: str) -> None:
        """What the template's VersioningConfiguration does: moto's CloudFormation ignores that property."""
        for bucket in buckets:
            self.client("s3").put_bucket_versioning(
                Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
            )

    def bucket_exists(self, bucket: str) -> bool:
        try:
            self.client("s3").head_bucket(Bucket=bucket)
        except ClientError:
            return False
        return True


def _lower(creds: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in creds.items()}


@pytest.fixture
def account(moto_url: str, tmp_path: Path) -> Account:
    """The moto account with a build directory of the test's own (dev is left to the shared fixture)."""
    return Account(moto_url, tmp_path)


class Deployed:
    """dev, deployed once for the module (each deploy costs ~15 s of CLI start-ups): the first run's result and
    the stack's events right after it. The module's last test destroys it."""

    def __init__(self, account: Account) -> None:
        self.account = account
        self.layer = account.publish_layer()
        self.first = account.deploy(PANDAS_LAYER_ARN=self.layer)
        events = account.client("cloudformation").describe_stack_events(StackName="lakehouse-dev")[
            "StackEvents"
        ]
        self.first_statuses = [e["ResourceStatus"] for e in events][::-1]
        account.version_buckets(LAKE, LOGS)


@pytest.fixture(scope="module")
def dev(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> Deployed:
    return Deployed(Account(moto_url, tmp_path_factory.mktemp("dev")))


def test_first_deploy_creates_the_stack_in_two_phases_and_prints_its_outputs(
    dev: Deployed, template: dict[str, Any]
) -> None:
    account, result, layer = dev.account, dev.first, dev.layer
    # two change sets: the create without compute, then the update that adds the function
    assert dev.first_statuses == [
        "REVIEW_IN_PROGRESS",
        "CREATE_IN_PROGRESS",
        "CREATE_COMPLETE",
        "UPDATE_IN_PROGRESS",
        "UPDATE_COMPLETE",
    ]
    cfn = account.client("cloudformation")
    stack = account.stack()
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    params = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert set(params) <= set(template["Parameters"])
    assert params["DeployCompute"] == "true" and params["Env"] == "dev" and params["PandasLayerArn"] == layer
    assert {t["Key"]: t["Value"] for t in stack["Tags"]} == {"project": "lakehouse", "env": "dev"}

    # the uploads, byte for byte
    s3 = account.client("s3")
    key, glue_zip, glue_script = params["LambdaCodeKey"], params["GlueZipKey"], params["GlueScriptKey"]
    # every artifact under a key named by its content: a new build is a new key, switched to by the stack update
    assert re.fullmatch(r"artifacts/lambda/ingestion-[0-9a-f]{16}\.zip", key), key
    assert re.fullmatch(r"artifacts/glue/glue_jobs-[0-9a-f]{16}\.zip", glue_zip), glue_zip
    assert re.fullmatch(r"artifacts/glue/bronze_to_silver_orders-[0-9a-f]{16}\.py", glue_script), glue_script
    # the dbt stages' CodeBuild source, and the template itself (over CloudFormation's inline limit, the
    # update after the first create passes it through the bucket)
    dbt_project = params["DbtProjectKey"]
    assert re.fullmatch(r"artifacts/dbt/project-[0-9a-f]{16}\.zip", dbt_project), dbt_project
    (template_key,) = [
        o["Key"] for o in s3.list_objects_v2(Bucket=LAKE, Prefix="artifacts/cloudformation/")["Contents"]
    ]
    build = account.build / "dev"
    expected = {
        key: (build / "ingestion.zip").read_bytes(),
        glue_zip: (build / "glue_jobs.zip").read_bytes(),
        glue_zip.removesuffix(".zip") + "-requirements.txt": (
            REPO_ROOT / "requirements/glue.txt"
        ).read_bytes(),
        glue_script: (REPO_ROOT / "glue_jobs/bronze_to_silver_orders.py").read_bytes(),
        dbt_project: (build / "dbt-project.zip").read_bytes(),
        template_key: (REPO_ROOT / "infra/lakehouse.yaml").read_bytes(),
        **{f"reference/{p.name}": p.read_bytes() for p in (REPO_ROOT / "seeds").glob("*.csv")},
    }
    assert {o["Key"] for o in s3.list_objects_v2(Bucket=LAKE)["Contents"]} == set(expected)
    for name, body in expected.items():
        assert s3.get_object(Bucket=LAKE, Key=name)["Body"].read() == body, name

    # moto builds the function from the zip in the bucket: it was uploaded before phase 2
    function = account.client("lambda").get_function(FunctionName="lakehouse-dev-ingest-orders")
    assert [la["Arn"] for la in function["Configuration"]["Layers"]] == [layer]
    assert function["Configuration"]["CodeSize"] == len(expected[key])
    resources = cfn.list_stack_resources(StackName="lakehouse-dev")["StackResourceSummaries"]
    assert {r["ResourceType"] for r in resources} >= {
        "AWS::S3::Bucket",
        "AWS::KMS::Key",
        "AWS::Lambda::Function",
        "AWS::IAM::Role",
        "AWS::Events::Rule",
        "AWS::SQS::Queue",
        "AWS::Glue::Database",
        "AWS::Athena::WorkGroup",
    }
    account.client("glue").get_database(Name="lakehouse_dev_gold")
    account.client("glue").get_database(Name="lakehouse_dev_silver")
    account.client("athena").get_work_group(WorkGroup="lakehouse-dev")

    # stdout is exactly the export block of the stack's outputs, which a shell can eval
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert (
        outputs["LakeBucketName"] == LAKE and outputs["IngestFunctionName"] == "lakehouse-dev-ingest-orders"
    )
    lines = result.stdout.strip().splitlines()
    assert lines and all(line.startswith("export ") for line in lines), result.stdout
    env = subprocess.run(
        ["bash", "-c", f"{result.stdout}\nenv"], capture_output=True, text=True, check=True, env={}
    ).stdout.splitlines()
    assert {
        f"DBT_ATHENA_REGION={REGION}",
        f"DBT_ATHENA_S3_STAGING_DIR={outputs['DbtAthenaS3StagingDir']}",
        f"DBT_ATHENA_S3_DATA_DIR=s3://{LAKE}/gold/",
        f"DBT_ATHENA_SCHEMA={outputs['DbtAthenaSchema']}",
        "DBT_ATHENA_SCHEMA=lakehouse_dev_gold",
        "DBT_ATHENA_SILVER_DATABASE=lakehouse_dev_silver",
        "DBT_ATHENA_WORKGROUP=lakehouse-dev",
        "DBT_ENV=dev",
    } <= set(env)
    assert (build / "dbt-athena.env").read_text() == result.stdout


def _versions_per_key(account: Account) -> dict[str, int]:
    counts: dict[str, int] = {}
    for version in account.versions(LAKE):
        counts[version["Key"]] = counts.get(version["Key"], 0) + 1
    return counts


def test_redeploy_is_one_phase_and_skips_an_unchanged_zip(dev: Deployed) -> None:
    account = dev.account
    cfn = account.client("cloudformation")
    before, versions = (
        cfn.describe_stack_events(StackName="lakehouse-dev")["StackEvents"],
        _versions_per_key(account),
    )
    account.deploy(PANDAS_LAYER_ARN=dev.layer)
    events = cfn.describe_stack_events(StackName="lakehouse-dev")["StackEvents"]
    assert [e["ResourceStatus"] for e in events[: len(events) - len(before)]][::-1] == [
        "UPDATE_IN_PROGRESS",
        "UPDATE_COMPLETE",
    ]
    # the lake bucket is versioned: no artifact is put again (same content, same key)
    after = _versions_per_key(account)
    artifacts = {k: n for k, n in after.items() if k.startswith("artifacts/")}
    # the Lambda zip, the Glue zip, its pins and its script, the dbt project zip, and the template passed through
    # the bucket
    assert len(artifacts) == 6 and set(artifacts.values()) == {1} and artifacts.items() <= versions.items()


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        ((), {}, "usage:"),
        (("staging",), {}, "usage:"),
        (("dev",), {k: "<unset>" for k in CREDENTIALS}, "no valid AWS credentials"),
        (("dev",), {"PATH": "/usr/bin:/bin"}, "the aws CLI is not installed"),
    ],
)
@pytest.mark.parametrize("script", ["deploy.sh", "destroy.sh"])
def test_errors_are_one_line(
    account: Account, script: str, args: tuple[str, ...], env: dict[str, str], message: str
) -> None:
    if "PATH" in env and shutil.which("aws", path=env["PATH"]):
        pytest.skip("an aws CLI is installed system-wide on this machine")
    result = account.run(script, *args, **env)
    assert result.returncode != 0
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.parametrize(
    ("layer", "message"),
    [
        # no guessed default: AWS publishes the layer per region under numbers that differ by region
        ("", "no AWS SDK for pandas layer for dev: export PANDAS_LAYER_ARN (or set PandasLayerArn in"),
        ("AWSSDKPandas-Python312", "is not a layer version ARN"),
        (
            "arn:aws:lambda:us-east-1:336392948345:layer:AWSSDKPandas-Python312:16",
            f"is in us-east-1, the stack deploys to {REGION}",
        ),
        (f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:AWSSDKPandas-Python312:999", "cannot be read in"),
        ("python3.9", "is not for python3.12 on x86_64"),
    ],
)
def test_deploy_needs_a_layer_of_its_region_and_runtime(account: Account, layer: str, message: str) -> None:
    if layer == "python3.9":
        layer = account.publish_layer("AWSSDKPandas-Python39", runtime="python3.9")
    result = account.run("deploy.sh", "dev", PANDAS_LAYER_ARN=layer)
    assert result.returncode != 0
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (account.build / "dev").exists() or not any((account.build / "dev").iterdir()), "built first"


def test_prod_deploys_on_a_new_account_after_a_failed_first_change_set_then_is_destroyed(
    account: Account,
) -> None:
    """prod on an account with a new account's Lambda quota (10: any reserved concurrency is refused), whose
    first deploy left the stack in REVIEW_IN_PROGRESS (a CREATE change set that never ran); then destroyed."""
    lake, logs = f"lakehouse-prod-lake-{ACCOUNT}-{REGION}", f"lakehouse-prod-access-logs-{ACCOUNT}-{REGION}"
    nothing = account.run("destroy.sh", "prod", FORCE="1")
    assert nothing.returncode == 0 and "nothing to do" in nothing.stderr
    cfn = account.client("cloudformation")
    cfn.create_change_set(
        StackName="lakehouse-prod",
        ChangeSetName="failed-first-deploy",
        ChangeSetType="CREATE",
        TemplateBody=json.dumps({"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}}),
    )
    assert account.stack("lakehouse-prod")["StackStatus"] == "REVIEW_IN_PROGRESS"
    arn = account.publish_layer("my-numpy-pyarrow")
    account.deploy("prod", PANDAS_LAYER_ARN=arn)
    params = {p["ParameterKey"]: p["ParameterValue"] for p in account.stack("lakehouse-prod")["Parameters"]}
    assert params["PandasLayerArn"] == arn and params["Env"] == "prod"
    function = account.client("lambda").get_function(FunctionName="lakehouse-prod-ingest-orders")
    assert "Concurrency" not in function
    account.version_buckets(lake, logs)

    s3 = account.client("s3")
    # old versions and delete markers (a versioned bucket cannot be deleted while any remain)
    for i in range(40):
        s3.put_object(Bucket=lake, Key=f"bronze/orders/part-{i % 20:04d}.json", Body=b"{}")
    s3.delete_object(Bucket=lake, Key="reference/countries.csv")
    s3.put_object(Bucket=logs, Key="lake/log-1", Body=b"GET")
    markers = s3.list_object_versions(Bucket=lake)["DeleteMarkers"]
    assert [m["Key"] for m in markers] == ["reference/countries.csv"]

    refused = account.run("destroy.sh", "prod", stdin="lakehouse-dev\n")
    assert refused.returncode != 0 and "not confirmed" in refused.stderr
    assert account.stack("lakehouse-prod")["StackStatus"] == "UPDATE_COMPLETE" and account.versions(lake)

    result = account.run("destroy.sh", "prod", stdin="lakehouse-prod\n")
    assert result.returncode == 0, result.stderr
    # moto deletes a stack's bucket only once no version nor delete marker is left in it
    assert not account.bucket_exists(lake) and not account.bucket_exists(logs)
    with pytest.raises(ClientError, match="does not exist"):
        account.stack("lakehouse-prod")
    assert not {d["Name"] for d in account.client("glue").get_databases()["DatabaseList"]} & {
        "lakehouse_prod_gold",
        "lakehouse_prod_silver",
    }


def test_a_describe_stacks_failure_is_not_a_missing_stack(dev: Deployed, moto_url: str) -> None:
    """Any describe-stacks error but "does not exist" (here AccessDenied, as AWS answers it) stops deploy.sh
    before it changes anything: taken for "no stack", phase 1 would remove the Lambda, the Glue job and the roles.
    destroy.sh stops too, instead of reporting that there is nothing to delete."""
    account = dev.account
    iam = account.client("iam")
    iam.create_user(UserName="no-describe")
    iam.put_user_policy(
        UserName="no-describe",
        PolicyName="all-but-describe-stacks",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": "cloudformation:DescribeStacks", "Resource": "*"},
        ]}),
    )  # fmt: skip
    key = iam.create_access_key(UserName="no-describe")["AccessKey"]
    creds = {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
    with enforcing_iam(moto_url):
        deploy = account.run(
            "deploy.sh", "dev", PANDAS_LAYER_ARN=dev.layer, AWS_SESSION_TOKEN="<unset>", **creds
        )
        destroy = account.run("destroy.sh", "dev", FORCE="1", AWS_SESSION_TOKEN="<unset>", **creds)
    for script, result in (("deploy", deploy), ("destroy", destroy)):
        assert result.returncode != 0
        lines = result.stderr.strip().splitlines()
        assert lines[-1].startswith(
            f"{script}: cannot read the status of stack lakehouse-dev, nothing changed: "
        )
        assert "AccessDenied" in lines[-1] and "cloudformation:DescribeStacks" in lines[-1], lines[-1]
    assert "phase 1" not in deploy.stderr
    assert account.stack()["StackStatus"] == "UPDATE_COMPLETE"
    account.client("lambda").get_function(FunctionName="lakehouse-dev-ingest-orders")


def test_drop_dev_prefix_drops_that_prefix_only(dev: Deployed) -> None:
    """What pr-closed.yml runs when pull request 7 closes: its databases and their gold data go, pull request
    70's (same leading characters), a developer's and the stack's stay."""
    account = dev.account
    glue, s3 = account.client("glue"), account.client("s3")
    databases = [
        "lakehouse_dev_pr7_gold",
        "lakehouse_dev_pr7_staging",
        "lakehouse_dev_pr70_gold",
        "lakehouse_dev_ana_gold",
    ]
    for name in databases:
        glue.create_database(DatabaseInput={"Name": name})
        glue.create_table(DatabaseName=name, TableInput={"Name": "fct_orders"})
        s3.put_object(Bucket=LAKE, Key=f"gold/{name}/fct_orders/0a1b/data.parquet", Body=b"PAR1")
    s3.put_object(Bucket=LAKE, Key="gold/lakehouse_dev_gold/fct_orders/9f8e/data.parquet", Body=b"PAR1")

    result = account.run("drop_dev_prefix.sh", "PR7")
    assert result.returncode == 0, result.stderr
    left = {d["Name"] for d in glue.get_databases()["DatabaseList"]}
    assert not {"lakehouse_dev_pr7_gold", "lakehouse_dev_pr7_staging"} & left
    assert {
        "lakehouse_dev_pr70_gold",
        "lakehouse_dev_ana_gold",
        "lakehouse_dev_gold",
        "lakehouse_dev_silver",
    } <= left
    objects = {o["Key"] for o in s3.list_objects_v2(Bucket=LAKE, Prefix="gold/")["Contents"]}
    assert objects == {
        "gold/lakehouse_dev_pr70_gold/fct_orders/0a1b/data.parquet",
        "gold/lakehouse_dev_ana_gold/fct_orders/0a1b/data.parquet",
        "gold/lakehouse_dev_gold/fct_orders/9f8e/data.parquet",
    }
    again = account.run("drop_dev_prefix.sh", "pr7")
    assert again.returncode == 0 and "nothing to drop" in again.stderr


def _fill(account: Account, bucket: str, keys: list[str]) -> None:
    """One version of each key, then a delete marker on each (delete-objects without version ids)."""
    s3 = account.client("s3")
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda key: s3.put_object(Bucket=bucket, Key=key, Body=b"x"), keys))
    for i in range(0, len(keys), 1000):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys[i : i + 1000]]})


def test_destroy_force_does_not_ask(dev: Deployed) -> None:
    """Last of the module: destroys the shared dev stack, with no standard input at all, though its lake holds
    more than 2,000 versions and delete markers under keys of 1,000 bytes (one delete-objects request of 1,000 of
    them is over 1 MB: more than Linux allows in one command-line argument, and more keys than S3 takes)."""
    account = dev.account
    assert account.bucket_exists(LAKE)
    keys = [f"bronze/orders/ingest_date=2026-01-01/{i:05d}-" + "k" * 953 + ".csv" for i in range(1100)]
    assert {len(k.encode()) for k in keys} == {1000}
    _fill(account, LAKE, keys)
    assert len(account.versions(LAKE)) > 2200
    forced = account.run("destroy.sh", "dev", FORCE="1")
    assert forced.returncode == 0, forced.stderr
    with pytest.raises(ClientError, match="does not exist"):
        account.stack()
    assert not account.bucket_exists(LAKE) and not account.bucket_exists(LOGS)


def test_scripts_are_strict_and_executable() -> None:
    for script in ("deploy.sh", "destroy.sh", "drop_dev_prefix.sh"):
        path = SCRIPTS / script
        assert os.access(path, os.X_OK), f"{script} is not executable"
        text = path.read_text()
        assert text.startswith("#!/usr/bin/env bash\n")
        assert "set -euo pipefail" in text
        assert subprocess.run(["bash", "-n", str(path)], check=False).returncode == 0
    assert subprocess.run(["bash", "-n", str(SCRIPTS / "lib.sh")], check=False).returncode == 0
