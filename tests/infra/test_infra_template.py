"""The template against the contracts it implements: the Glue job's arguments, the silver schema in
docs/architecture.md, the Lambda's environment, the dbt athena target's variables, and the security basics."""

from __future__ import annotations

import ast
import fnmatch
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from glue_jobs import bounds
from tests.infra.helpers import INFRA, REPO_ROOT, Resolver

GLUE_SCRIPT = REPO_ROOT / "glue_jobs" / "bronze_to_silver_orders.py"
# The contract in docs/architecture.md, used until the job script exists.
CONTRACT_REQUIRED = ("JOB_NAME", "bronze_path", "silver_path", "reference_path", "state_path", "runs_path")
CONTRACT_OPTIONAL = ("full_refresh",)
# Glue passes it itself
GLUE_MANAGED_ARGS = {"JOB_NAME"}
# A repair window, and a sweep, are given to one run (start-job-run --arguments), never a default of every run.
RUN_ONLY_ARGS = {"from_date", "to_date", "sweep"}


def _normalise(names: object) -> set[str]:
    assert isinstance(names, (tuple, list)), names
    return {str(n).removeprefix("--") for n in names}


def job_args_from_script(path: Path) -> tuple[set[str], set[str]]:
    """REQUIRED_ARGS / OPTIONAL_ARGS of the Glue entry script, read without executing it (it needs Spark)."""
    found: dict[str, object] = {}
    for node in ast.parse(path.read_text()).body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Name) and target.id in ("REQUIRED_ARGS", "OPTIONAL_ARGS"):
                found[target.id] = ast.literal_eval(node.value)  # type: ignore[arg-type]
    assert set(found) == {"REQUIRED_ARGS", "OPTIONAL_ARGS"}, (
        f"{path} must define REQUIRED_ARGS and OPTIONAL_ARGS"
    )
    return _normalise(found["REQUIRED_ARGS"]), _normalise(found["OPTIONAL_ARGS"])


def resources_of(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == type_}


# ---------------------------------------------------------------------------------------------------- Glue job


def test_glue_job_arguments_match_what_the_job_reads(template: dict[str, Any], resolver: Resolver) -> None:
    if GLUE_SCRIPT.exists():
        required, optional = job_args_from_script(GLUE_SCRIPT)
    else:
        # the silver job is being written in parallel; hold the template to the documented contract
        required, optional = set(CONTRACT_REQUIRED), set(CONTRACT_OPTIONAL)
    (job,) = resources_of(template, "AWS::Glue::Job").values()
    args = resolver.resolve(job["Properties"]["DefaultArguments"])
    own_args = {k.removeprefix("--") for k in args if not k.startswith("--enable") and k[2:3].islower()}
    glue_args = {
        "job-bookmark-option",
        "job-language",
        "extra-py-files",
        "custom-logGroup-prefix",
        "additional-python-modules",
        "python-modules-installer-option",
    }
    own_args -= glue_args
    assert own_args == (required | optional) - GLUE_MANAGED_ARGS - RUN_ONLY_ARGS
    settings = {"full_refresh", "earliest_order_date", "max_skew_hours", "correction_horizon_days"}
    for name in own_args - settings:
        assert args[f"--{name}"].startswith("s3://lakehouse-dev-lake-"), (name, args[f"--{name}"])
        assert args[f"--{name}"].endswith("/"), name
    assert args["--full_refresh"] == "false"
    assert (args["--earliest_order_date"], args["--max_skew_hours"]) == (
        bounds.EARLIEST_ORDER_DATE.isoformat(),
        str(bounds.MAX_SKEW_HOURS),
    ), "the template passes the job's own defaults (glue_jobs/bounds.py)"
    assert job["Properties"]["DefaultArguments"]["--correction_horizon_days"] == {
        "Ref": "CorrectionHorizonDays"
    }, "silver's horizon is gold's"


def test_glue_job_settings(template: dict[str, Any], resolver: Resolver) -> None:
    (job,) = resources_of(template, "AWS::Glue::Job").values()
    props = resolver.resolve(job["Properties"])
    # Spark 3.5.4, what requirements pin
    assert props["GlueVersion"] == "5.0"
    assert props["WorkerType"] == "G.1X"
    assert int(props["NumberOfWorkers"]) == 2
    assert props["Command"]["Name"] == "glueetl"
    bucket = resolver.values["LakeBucket"]
    assert props["Command"]["ScriptLocation"] == f"s3://{bucket}/artifacts/glue/bronze_to_silver_orders.py"
    args = props["DefaultArguments"]
    assert args["--extra-py-files"] == f"s3://{bucket}/artifacts/glue/glue_jobs.zip"
    # The job keeps its own bookmark under --state_path (DataFrame API): Glue's must stay off.
    assert args["--job-bookmark-option"] == "job-bookmark-disable"
    assert args["--enable-metrics"] == "true"
    assert props["SecurityConfiguration"], "the job must run with the encrypting security configuration"
    assert props["ExecutionProperty"]["MaxConcurrentRuns"] == 1


def test_glue_artifacts_are_content_addressed(template: dict[str, Any]) -> None:
    """The script and the glue_jobs zip come from keys deploy.sh names by content hash (parameters), so a run never
    pairs a new script with an old library, and a stack update is what switches the job to new code."""
    (job,) = resources_of(template, "AWS::Glue::Job").values()
    props = job["Properties"]
    assert props["Command"]["ScriptLocation"] == {"Fn::Sub": "s3://${LakeBucket}/${GlueScriptKey}"}
    assert props["DefaultArguments"]["--extra-py-files"] == {"Fn::Sub": "s3://${LakeBucket}/${GlueZipKey}"}
    for name in ("LambdaCodeKey", "GlueZipKey", "GlueScriptKey"):
        assert name in template["Parameters"], name


def test_glue_job_installs_the_pins_it_was_tested_with(
    template: dict[str, Any], resolver: Resolver, package: ModuleType
) -> None:
    """Glue 5.0 installs requirements/glue.txt (uploaded beside the zip, under the name deploy.sh gives it) instead
    of running on its own boto3, which may predate the conditional writes the lease needs."""
    (job,) = resources_of(template, "AWS::Glue::Job").values()
    args = resolver.resolve(job["Properties"]["DefaultArguments"])
    bucket, zip_key = resolver.values["LakeBucket"], resolver.values["GlueZipKey"]
    assert args["--additional-python-modules"] == f"s3://{bucket}/{package.glue_requirements_key(zip_key)}"
    assert args["--python-modules-installer-option"] == "-r"


def test_glue_5_logging_goes_to_log_groups_the_stack_owns(
    template: dict[str, Any], resolver: Resolver
) -> None:
    """Glue 5.0 writes <prefix>/error and <prefix>/output (--custom-logGroup-prefix); the 4.0-and-earlier
    continuous-logging arguments are ignored there, which left the stack's log group unused and Glue's own groups
    (no retention, not deleted with the stack) holding the logs."""
    (job,) = resources_of(template, "AWS::Glue::Job").values()
    args = resolver.resolve(job["Properties"]["DefaultArguments"])
    assert not [a for a in args if a.startswith(("--enable-continuous", "--continuous-log"))], list(args)
    prefix = args["--custom-logGroup-prefix"]
    assert prefix == "/aws-glue/jobs/lakehouse-dev-bronze-to-silver"
    groups = {
        resolver.resolve(g["Properties"]["LogGroupName"]): g["Properties"]
        for g in resources_of(template, "AWS::Logs::LogGroup").values()
    }
    for name in (f"{prefix}/error", f"{prefix}/output"):
        assert name in groups, (name, list(groups))
        assert groups[name]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        assert groups[name]["KmsKeyId"] == {"Fn::GetAtt": ["LakeKey", "Arn"]}
    # the job role may write there (the log groups are under /aws-glue/)
    role = resolver.resolve(template["Resources"]["SilverJobRole"]["Properties"])
    (logs,) = [st for st in role["Policies"][0]["PolicyDocument"]["Statement"] if st["Sid"] == "JobLogs"]
    assert all(fnmatch.fnmatchcase(f"arn:aws:logs:us-east-1:123456789012:log-group:{n}", r)
               for n in (f"{prefix}/error", f"{prefix}/output") for r in logs["Resource"])  # fmt: skip


def test_glue_role_registers_no_partition(template: dict[str, Any]) -> None:
    """Partition projection computes the silver partitions: the job never writes one to the catalog."""
    role = template["Resources"]["SilverJobRole"]["Properties"]
    actions = [a for st in role["Policies"][0]["PolicyDocument"]["Statement"] for a in _as_list(st["Action"])]
    assert not [a for a in actions if a.startswith("glue:") and not a.startswith("glue:Get")], actions


def test_services_use_the_key_for_this_account_only(template: dict[str, Any]) -> None:
    """Every service principal in the key policy is held to this account (aws:SourceAccount, or for CloudWatch
    Logs the log-group ARN in the encryption context), except EventBridge, which passes no source to KMS."""
    statements = template["Resources"]["LakeKey"]["Properties"]["KeyPolicy"]["Statement"]
    for st in statements:
        services = _as_list(st["Principal"].get("Service", []))
        if not services or services == ["events.amazonaws.com"]:
            continue
        conditions = {k for block in st.get("Condition", {}).values() for k in block}
        assert conditions & {"aws:SourceAccount", "kms:EncryptionContext:aws:logs:arn"}, st["Sid"]
        if "aws:SourceAccount" in conditions:
            assert st["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}, st[
                "Sid"
            ]
    assert any(
        _as_list(st["Principal"].get("Service", [])) == ["cloudwatch.amazonaws.com"] for st in statements
    )


def test_lake_paths_follow_the_documented_layout(template: dict[str, Any]) -> None:
    prefixed = Resolver(template, {"LakePrefix": "lake/"})
    (job,) = resources_of(template, "AWS::Glue::Job").values()
    args = prefixed.resolve(job["Properties"]["DefaultArguments"])
    root = f"s3://{prefixed.values['LakeBucket']}/lake/"
    assert args["--bronze_path"] == root + "bronze/orders/"
    assert args["--silver_path"] == root + "silver/"
    assert args["--reference_path"] == root + "reference/"
    assert args["--state_path"] == root + "_state/silver/"
    assert args["--runs_path"] == root + "_runs/silver/"


def test_silver_runs_after_ingestion_not_on_a_cron(template: dict[str, Any]) -> None:
    """No Glue trigger on a clock (it would fire whether or not ingestion had finished): the pipeline's state
    machine starts the job once ingestion succeeded (and waits for it)."""
    assert not resources_of(template, "AWS::Glue::Trigger")
    states = template["Resources"]["PipelineStateMachine"]["Properties"]["Definition"]["States"]
    assert states["Ingest"]["Next"] == "Silver"
    assert states["Silver"]["Resource"] == "arn:aws:states:::glue:startJobRun.sync"
    subs = template["Resources"]["PipelineStateMachine"]["Properties"]["DefinitionSubstitutions"]
    assert states["Silver"]["Parameters"]["JobName"] == "${SilverJobName}"
    assert subs["SilverJobName"] == {"Ref": "SilverJob"}


# ---------------------------------------------------------------------------------------------- Glue catalog


def silver_contract() -> dict[str, str]:
    """The silver_orders table of docs/architecture.md as {column: type}."""
    text = (REPO_ROOT / "docs" / "architecture.md").read_text()
    section = text.split("**silver_orders**", 1)[1].split("\n\n", 2)[1]
    rows = [line.split("|")[1:3] for line in section.splitlines() if line.startswith("| ")]
    contract = {}
    # skip the header row
    for name, type_ in rows[1:]:
        contract[name.strip()] = type_.strip().split(" ")[0]
    return contract


def test_silver_orders_table_matches_the_contract(template: dict[str, Any], resolver: Resolver) -> None:
    table = resolver.resolve(template["Resources"]["SilverOrdersTable"]["Properties"]["TableInput"])
    columns = {c["Name"]: c["Type"] for c in table["StorageDescriptor"]["Columns"]}
    partitions = {c["Name"]: c["Type"] for c in table["PartitionKeys"]}
    assert {**columns, **partitions} == silver_contract()
    assert list(partitions) == ["order_date"]
    params = table["Parameters"]
    assert params["projection.enabled"] == "true"
    assert params["projection.order_date.type"] == "date"
    assert params["projection.order_date.format"] == "yyyy-MM-dd"
    assert params["projection.order_date.range"] == "2020-01-01,NOW+1DAYS", "the default FirstIngestDate"
    location = table["StorageDescriptor"]["Location"]
    assert params["storage.location.template"] == location + "order_date=${order_date}/"
    assert location.endswith("/silver/silver_orders/")


def test_rejected_table_keeps_raw_strings(template: dict[str, Any], resolver: Resolver) -> None:
    table = resolver.resolve(template["Resources"]["SilverOrdersRejectedTable"]["Properties"]["TableInput"])
    columns = {c["Name"]: c["Type"] for c in table["StorageDescriptor"]["Columns"]}
    raw = ("order_id", "order_date", "customer_id", "country", "product", "quantity", "unit_price")
    assert all(columns[c] == "string" for c in raw)
    assert {"reject_reason", "source_file", "ingested_at"} <= set(columns)
    assert [c["Name"] for c in table["PartitionKeys"]] == ["ingest_date"]
    params = table["Parameters"]
    assert params["projection.ingest_date.type"] == "date"
    assert params["storage.location.template"].endswith(
        "/silver/silver_orders_rejected/ingest_date=${ingest_date}/"
    )


def test_catalog_columns_are_what_the_job_writes(template: dict[str, Any], resolver: Resolver) -> None:
    transform = pytest.importorskip("glue_jobs.transform", reason="the silver job is not there yet")
    for logical, columns in (
        ("SilverOrdersTable", transform.SILVER_COLUMNS),
        ("SilverOrdersRejectedTable", transform.REJECTED_COLUMNS),
    ):
        table = resolver.resolve(template["Resources"][logical]["Properties"]["TableInput"])
        declared = [c["Name"] for c in table["StorageDescriptor"]["Columns"]]
        partitions = [c["Name"] for c in table["PartitionKeys"]]
        assert set(declared) | set(partitions) == set(columns), (
            logical,
            set(columns) ^ set(declared + partitions),
        )
        assert partitions == [columns[-1]], logical


def test_glue_database_names(template: dict[str, Any], resolver: Resolver) -> None:
    assert resolver.values["SilverDatabase"] == "lakehouse_dev_silver"
    assert resolver.values["GoldDatabase"] == "lakehouse_dev_gold"
    # dbt's other layers (macros/generate_schema_name.sql) belong to the stack too
    assert resolver.values["StagingDatabase"] == "lakehouse_dev_staging"
    assert resolver.values["ReferenceDatabase"] == "lakehouse_dev_reference"


# ---------------------------------------------------------------------------------------------------- Lambda


def test_lambda_function(template: dict[str, Any], resolver: Resolver) -> None:
    (fn,) = resources_of(template, "AWS::Lambda::Function").values()
    props = resolver.resolve(fn["Properties"])
    assert props["Handler"] == "ingestion.handler.lambda_handler"
    assert props["Runtime"] in ("python3.11", "python3.12")
    assert set(props["Environment"]["Variables"]) == {
        "LAKE_BUCKET",
        "LAKE_PREFIX",
        "LOG_LEVEL",
        "LAKE_KMS_KEY_ID",
        "INGEST_EARLIEST_ORDER_DATE",
    }
    assert props["Environment"]["Variables"]["LAKE_BUCKET"] == resolver.values["LakeBucket"]
    assert props["TracingConfig"] == {"Mode": "Active"}
    # 1M rows take seconds (see the template's comment)
    assert 300 <= props["Timeout"] <= 900
    assert int(props["MemorySize"]) >= 1024
    assert len(props["Layers"]) == 1
    assert "ReservedConcurrentExecutions" in fn["Properties"]


def test_lambda_failure_handling_and_schedule(template: dict[str, Any]) -> None:
    (cfg,) = resources_of(template, "AWS::Lambda::EventInvokeConfig").values()
    assert cfg["Properties"]["MaximumRetryAttempts"] <= 2
    assert cfg["Properties"]["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["IngestDeadLetterQueue", "Arn"]
    }
    queue = template["Resources"]["IngestDeadLetterQueue"]["Properties"]
    assert "KmsMasterKeyId" in queue
    rules = resources_of(template, "AWS::Events::Rule")
    schedule = {n: r for n, r in rules.items() if "ScheduleExpression" in r["Properties"]}
    # The Lambda is no schedule's target: the pipeline schedule starts the state machine,
    # whose first stage invokes it with the input's "ingest" event.
    assert set(schedule) == {"PipelineScheduleRule", "SweepScheduleRule"}
    for rule in schedule.values():
        ((target),) = rule["Properties"]["Targets"]
        assert target["Arn"] == {"Ref": "PipelineStateMachine"}
    pipeline = schedule["PipelineScheduleRule"]["Properties"]["Targets"][0]
    assert json.loads(pipeline["Input"]["Fn::Sub"].replace("${IngestRowsPerRun}", "1"))["ingest"] == {
        "rows": 1
    }
    alarms = {
        a["Properties"].get("MetricName") for a in resources_of(template, "AWS::CloudWatch::Alarm").values()
    }
    assert {"Errors", "ApproximateNumberOfMessagesVisible"} <= alarms
    log_groups = resources_of(template, "AWS::Logs::LogGroup").values()
    assert all("RetentionInDays" in g["Properties"] for g in log_groups)


def test_lambda_role_writes_bronze_only(template: dict[str, Any], resolver: Resolver) -> None:
    role = resolver.resolve(template["Resources"]["IngestRole"]["Properties"])
    statements = role["Policies"][0]["PolicyDocument"]["Statement"]
    s3 = [s for s in statements if any(str(a).startswith("s3:") for a in _as_list(s["Action"]))]
    assert len(s3) == 1
    assert _as_list(s3[0]["Action"]) == ["s3:PutObject"]
    assert s3[0]["Resource"] == f"arn:aws:s3:::{resolver.values['LakeBucket']}/bronze/*"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_no_iam_statement_allows_everything(template: dict[str, Any]) -> None:
    for name, res in template["Resources"].items():
        docs = [p["PolicyDocument"] for p in res.get("Properties", {}).get("Policies", [])]
        if res["Type"] == "AWS::IAM::ManagedPolicy":
            docs.append(res["Properties"]["PolicyDocument"])
        for doc in docs:
            for st in doc["Statement"]:
                actions = _as_list(st["Action"])
                assert not any(a == "*" or str(a).endswith(":*") for a in actions), (name, st)
                # a Deny may name what it leaves out (a fence); an Allow always names what it grants
                assert "NotResource" not in st or st["Effect"] == "Deny", (name, st)
                # only for actions that have no resource-level permissions
                if st.get("Resource") == "*":
                    assert all(a.split(":")[0] in ("xray", "cloudwatch") for a in actions), (name, st)


# ---------------------------------------------------------------------------------------------- S3 and Athena


def test_lake_bucket_security_and_lifecycle(template: dict[str, Any], resolver: Resolver) -> None:
    props = resolver.resolve(template["Resources"]["LakeBucket"]["Properties"])
    sse = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert sse["BucketKeyEnabled"] is True
    assert template["Resources"]["LakeKey"]["Properties"]["EnableKeyRotation"] is True
    assert all(props["PublicAccessBlockConfiguration"].values())
    assert props["VersioningConfiguration"]["Status"] == "Enabled"
    assert props["LoggingConfiguration"]["DestinationBucketName"]
    rules = {r["Id"]: r for r in props["LifecycleConfiguration"]["Rules"]}
    assert rules["bronze-tiering-and-expiry"]["Prefix"] == "bronze/"
    assert rules["athena-results-expiry"]["Prefix"] == "athena-results/"
    assert any("NoncurrentVersionExpiration" in r for r in rules.values())
    for policy in resources_of(template, "AWS::S3::BucketPolicy").values():
        deny = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
        assert deny and deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_athena_workgroup(template: dict[str, Any], resolver: Resolver) -> None:
    config = resolver.resolve(
        template["Resources"]["AthenaWorkGroup"]["Properties"]["WorkGroupConfiguration"]
    )
    assert config["EnforceWorkGroupConfiguration"] is True
    assert config["PublishCloudWatchMetricsEnabled"] is True
    assert int(config["BytesScannedCutoffPerQuery"]) >= 10 * 1024 * 1024
    assert config["EngineVersion"]["SelectedEngineVersion"] == "Athena engine version 3"
    result = config["ResultConfiguration"]
    assert result["OutputLocation"] == f"s3://{resolver.values['LakeBucket']}/athena-results/"
    assert result["EncryptionConfiguration"]["EncryptionOption"] in ("SSE_KMS", "SSE_S3")


# ---------------------------------------------------------------------------------- outputs -> dbt environment

DBT_ENV_VARS = {
    "DBT_ATHENA_REGION",
    "DBT_ATHENA_S3_STAGING_DIR",
    "DBT_ATHENA_S3_DATA_DIR",
    "DBT_ATHENA_WORKGROUP",
    "DBT_ATHENA_SCHEMA",
    "DBT_ATHENA_SILVER_DATABASE",
    "DBT_ENV",
    "DBT_PROJECT_PREFIX",
}


def test_outputs_cover_the_dbt_athena_target(
    template: dict[str, Any], resolver: Resolver, package: ModuleType
) -> None:
    assert set(package.OUTPUT_TO_ENV.values()) == DBT_ENV_VARS
    outputs = template["Outputs"]
    for key, env in package.OUTPUT_TO_ENV.items():
        assert key in outputs, key
        assert "Condition" not in outputs[key], f"{key} must exist from the first (bucket-only) phase"
        assert outputs[key]["Description"].startswith(env)
    values = {k: str(resolver.resolve(outputs[k]["Value"])) for k in package.OUTPUT_TO_ENV}
    env = package.dbt_env(values)
    bucket = resolver.values["LakeBucket"]
    assert env["DBT_ATHENA_S3_STAGING_DIR"] == f"s3://{bucket}/athena-results/"
    assert env["DBT_ATHENA_S3_DATA_DIR"] == f"s3://{bucket}/gold/"
    assert env["DBT_ATHENA_SCHEMA"] == "lakehouse_dev_gold"
    assert env["DBT_ATHENA_SILVER_DATABASE"] == "lakehouse_dev_silver"
    assert env["DBT_ENV"] == "dev"


def test_dbt_profile_reads_only_variables_the_stack_exports() -> None:
    profiles = sorted((REPO_ROOT / "profiles").glob("*.yml")) if (REPO_ROOT / "profiles").is_dir() else []
    if not profiles:
        pytest.skip("profiles/ is not there yet (the dbt engineer writes it)")
    # env_var('NAME') without a default must be exported by the stack; ones with a default may be extras.
    calls = re.compile(r"env_var\(\s*['\"](DBT_ATHENA_[A-Z0-9_]+)['\"]\s*(,)?")
    used, required = set(), set()
    for path in profiles:
        for name, has_default in calls.findall(path.read_text()):
            used.add(name)
            if not has_default:
                required.add(name)
    assert required <= DBT_ENV_VARS, (
        f"the profile needs variables the stack does not export: {required - DBT_ENV_VARS}"
    )
    # and every DBT_ATHENA_* the stack exports is read somewhere (profile, sources, macros)
    exported = {v for v in DBT_ENV_VARS if v.startswith("DBT_ATHENA_")}
    assert exported <= used | _used_in_dbt_project(), exported - used - _used_in_dbt_project()


def _used_in_dbt_project() -> set[str]:
    names: set[str] = set()
    for folder in ("models", "macros"):
        for path in (REPO_ROOT / folder).rglob("*"):
            if path.suffix in (".yml", ".sql"):
                names |= set(re.findall(r"env_var\(\s*['\"](DBT_ATHENA_[A-Z0-9_]+)['\"]", path.read_text()))
    return names


# --------------------------------------------------------------------------------------------- parameter files


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_parameter_files_only_set_declared_parameters(template: dict[str, Any], env: str) -> None:
    data = json.loads((INFRA / "parameters" / f"{env}.json").read_text())
    declared = template["Parameters"]
    assert set(data["Parameters"]) <= set(declared), set(data["Parameters"]) - set(declared)
    assert data["Parameters"]["Env"] == env
    for key, value in data["Parameters"].items():
        spec = declared[key]
        if "AllowedValues" in spec:
            assert str(value) in [str(v) for v in spec["AllowedValues"]], (key, value)
        if "AllowedPattern" in spec:
            assert re.fullmatch(spec["AllowedPattern"], str(value)), (key, value)
        if "MinValue" in spec:
            assert float(value) >= float(spec["MinValue"]), (key, value)
    # Set by deploy.sh, never committed: region-specific or build-specific.
    assert not {"PandasLayerArn", "LambdaCodeKey", "DeployCompute"} & set(data["Parameters"])


def test_first_phase_creates_no_compute(template: dict[str, Any]) -> None:
    """With DeployCompute=false (first create) nothing may need the Lambda zip in the bucket."""
    bucket_only = Resolver(template, {"DeployCompute": "false"})
    created = [
        n
        for n, r in template["Resources"].items()
        if "Condition" not in r or bucket_only.condition(r["Condition"])
    ]
    types = {template["Resources"][n]["Type"] for n in created}
    assert "AWS::Lambda::Function" not in types
    assert "AWS::Glue::Job" not in types
    assert {"AWS::S3::Bucket", "AWS::Glue::Database", "AWS::Athena::WorkGroup"} <= types


def test_the_first_ingest_date_bounds_projection_job_and_lambda(template: dict[str, Any]) -> None:
    """The silver tables' partition projection starts at the FirstIngestDate parameter, and the
    silver job and the Lambda accept no order before it: Athena never lists days before the environment's data,
    and no row lands where the projection cannot see it."""
    resolver = Resolver(template, {"FirstIngestDate": "2026-12-01"})
    resources = template["Resources"]
    for table, column in (("SilverOrdersTable", "order_date"), ("SilverOrdersRejectedTable", "ingest_date")):
        params = resolver.resolve(resources[table]["Properties"]["TableInput"]["Parameters"])
        assert params[f"projection.{column}.range"] == "2026-12-01,NOW+1DAYS", table
    (job,) = resources_of(template, "AWS::Glue::Job").values()
    assert resolver.resolve(job["Properties"]["DefaultArguments"])["--earliest_order_date"] == "2026-12-01"
    function = resolver.resolve(resources["IngestFunction"]["Properties"])
    assert function["Environment"]["Variables"]["INGEST_EARLIEST_ORDER_DATE"] == "2026-12-01"


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("2026-12-01", True),
        ("2020-01-01", True),
        ("2026-13-01", False),
        ("2026-12-32", False),
        ("26-12-01", False),
        ("2026-12-01,NOW", False),
        ("", False),
    ],
)
def test_the_first_ingest_date_is_validated_by_pattern(
    template: dict[str, Any], value: str, accepted: bool
) -> None:
    """A value that is not a date would make every silver query fail on Athena (or splice into the projection's
    range): CloudFormation refuses it before any change."""
    pattern = template["Parameters"]["FirstIngestDate"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, value)) is accepted


def test_the_gold_stage_gets_the_correction_horizon(template: dict[str, Any], resolver: Resolver) -> None:
    """dbt reads DBT_CORRECTION_HORIZON_DAYS (macros/incremental.sql); prod sets a horizon its volume affords."""
    projects = [
        resolver.resolve(r["Properties"]["Environment"]["EnvironmentVariables"])
        for r in template["Resources"].values()
        if r["Type"] == "AWS::CodeBuild::Project"
        and any(
            v["Name"] == "DBT_ATHENA_WORKGROUP"
            for v in r["Properties"]["Environment"]["EnvironmentVariables"]
        )
    ]
    assert projects
    for variables in projects:
        assert {v["Name"]: v["Value"] for v in variables}["DBT_CORRECTION_HORIZON_DAYS"] == "90"
    prod = json.loads((INFRA / "parameters" / "prod.json").read_text())
    assert int(prod["Parameters"]["CorrectionHorizonDays"]) <= 14, "at 24M orders a day, see bench/README.md"
