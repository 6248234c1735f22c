"""The pipeline's orchestrator (PipelineStateMachine in infra/lakehouse.yaml), its definition read from the template
and executed by moto's own ASL interpreter (moto 5.2: `mock_aws(config={"stepfunctions": {"execute_state_machine":
True}})`), against moto's Lambda, Glue, CodeBuild, SNS and Step Functions.

What moto's interpreter executes here: the Pass, Choice, Succeed and Fail states, JSONPath and the intrinsic
functions (States.JsonMerge, States.ArrayLength, States.Format), Retry (its waits recorded instead of slept: see
`waits`) and Catch, and these integrations, each as a real call on moto's backend: lambda:invoke (moto's Lambda
without Docker answers with a canned payload; the handler is tested in tests/ingestion and test_infra_lambda.py),
glue:startJobRun.sync (StartJobRun, then GetJobRun every 0.5 s until the run is terminal), sns:publish and
aws-sdk:sfn:listExecutions.

What it does not model, and how that is covered instead:
* codebuild:startBuild.sync: moto's interpreter lists CodeBuild among the services it does not integrate and
  raises for `.sync`. Those four states (gold, upkeep, freshness, sweep) run here as request-response StartBuild
  calls on moto's CodeBuild with the template's parameters (`DBT_SYNC` below), so the order, the parameters and
  the failure routing are tested; the command each build runs (`python -m lakehouse.stage $STAGE`) is run against
  the Athena stand-in in tests/athena/test_athena_stages.py, and the buildspec is checked here.
* a failed Glue job run: moto's job runs always end SUCCEEDED; the silver failure is set on moto's own job-run
  model (its state FAILED), which GetJobRun then reports as Glue would.
* the aws-sdk integration's casing: Step Functions takes its parameters in PascalCase (StateMachineArn) and returns
  the response in PascalCase (Executions) whatever the SDK's own casing (camelCase for Step Functions' API). moto
  ships the converters (StateTaskService._to_boto_request / _from_boto_response) but its _normalise_parameters and
  _normalise_response are stubs; `aws_sdk_casing` calls moto's own converters with botocore's shapes, as AWS does
  (for the CodeBuild calls too, whose API is camelCase).
* moto 5.2.5's glue:startJobRun.sync always ends in States.Runtime ("'NoneType' object has no attribute
  'interrupt_all'"): StateTaskServiceCallback releases a callback endpoint it only creates for integrations that
  also support waitForTaskToken, which moto's Glue integration does not declare. `glue_sync_endpoint` declares it,
  so the .sync gets its endpoint; the polling of GetJobRun and its outcome are moto's, unchanged.
* IAM: moto's interpreter does not check the role's policy; test_the_role_allows_exactly_what_the_tasks_call
  holds the role to the actions each integration needs (AWS's Step Functions IAM documentation).
"""

from __future__ import annotations

import io
import json
import re
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import boto3
import pytest
import yaml
from botocore import xform_name
from moto import mock_aws
from moto.glue.models import FakeJob
from moto.moto_api import state_manager
from moto.sns.models import sns_backends
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_glue
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (
    StateTaskServiceAwsSdk,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_unsupported import (
    StateTaskServiceUnsupported,
)

from lakehouse.stage import STAGES
from tests.infra.helpers import REPO_ROOT, Resolver

ACCOUNT, REGION = "123456789012", "us-east-1"
# moto does not run codebuild:startBuild.sync (see the module docstring): request-response StartBuild instead.
DBT_SYNC, DBT_CALL = "arn:aws:states:::codebuild:startBuild.sync", "arn:aws:states:::codebuild:startBuild"
JOB_RUN = "glue::job_run"
SUBSTITUTIONS = {"IngestFunctionArn", "SilverJobName", "DbtProjectName", "AlarmTopicArn", "IngestLog", "SilverLog", "DbtLog"}  # fmt: skip


def definition(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"]["PipelineStateMachine"]["Properties"]["Definition"]  # type: ignore[no-any-return]


def stage_variable(parameters: dict[str, Any]) -> str:
    """The STAGE a dbt build is started with."""
    return next(str(v["Value"]) for v in parameters["EnvironmentVariablesOverride"] if v["Name"] == "STAGE")


def task_states(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in definition(template)["States"].items() if s["Type"] == "Task"}


@dataclass
class Aws:
    """moto's account with the pipeline's resources and the state machine from the template."""

    machine: str
    topic: str
    job: str
    log_groups: dict[str, str]
    waits: list[float] = field(default_factory=list)
    on_wait: list[Callable[[int], None]] = field(default_factory=list)

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION)

    def run(self, payload: dict[str, Any], name: str | None = None) -> dict[str, Any]:
        started = self.start(payload, name)
        return self.finish(started)

    def start(self, payload: dict[str, Any], name: str | None = None) -> str:
        sfn = self.client("stepfunctions")
        # (AWS names an unnamed execution with a UUID; moto would name every one "None")
        arn: str = sfn.start_execution(
            stateMachineArn=self.machine, input=json.dumps(payload), name=name or str(uuid.uuid4())
        )["executionArn"]
        return arn

    def finish(self, arn: str) -> dict[str, Any]:
        sfn = self.client("stepfunctions")
        # a guard against a hung interpreter thread, not a speed assertion
        deadline = time.monotonic() + 120
        while (execution := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
            assert time.monotonic() < deadline, f"{arn} still running"
            time.sleep(0.1)
        return execution  # type: ignore[no-any-return]

    def stages(self, arn: str) -> list[str]:
        """The stages the execution scheduled, in order: the service, for a dbt build its STAGE, for the silver
        sweep ``glue:sweep``."""
        sfn = self.client("stepfunctions")
        events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        found = []
        for event in events:
            details = event.get("taskScheduledEventDetails")
            if not details:
                continue
            parameters = json.loads(details["parameters"])
            label = details["resourceType"]
            if label == "codebuild":
                label = f"dbt:{stage_variable(parameters)}"
            elif label == "lambda":
                label = f"lambda:{json.dumps(parameters['Payload'], sort_keys=True)}"
            elif label == "glue" and parameters.get("Arguments", {}).get("--sweep") == "true":
                label = "glue:sweep"
            found.append(label)
        return found

    def messages(self) -> list[tuple[str, str]]:
        """(subject, message) of everything published to the alarm topic."""
        sent = sns_backends[ACCOUNT][REGION].topics[self.topic].sent_notifications
        return [(n[2], n[1]) for n in sent]

    def builds(self) -> int:
        return len(self.client("codebuild").list_builds()["ids"])


def aws_sdk_casing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The aws-sdk integration, and the CodeBuild calls moto forwards as they are, convert Step Functions'
    PascalCase to the SDK's shapes and back (moto's converters, which moto 5.2.5 leaves uncalled)."""
    import botocore.session

    def operation(task: StateTaskServiceAwsSdk) -> Any:
        model = botocore.session.get_session().get_service_model(task._get_boto_service_name())
        action = task._get_boto_service_action()
        (name,) = [n for n in model.operation_names if xform_name(n) == action]
        return model.operation_model(name)

    def parameters(task: StateTaskServiceAwsSdk, values: dict[str, Any], *_: Any, **__: Any) -> None:
        task._to_boto_request(values, operation(task).input_shape)

    def response(task: StateTaskServiceAwsSdk, value: Any, *_: Any, **__: Any) -> None:
        task._from_boto_response(value, operation(task).output_shape)

    for integration in (StateTaskServiceAwsSdk, StateTaskServiceUnsupported):
        monkeypatch.setattr(integration, "_normalise_parameters", parameters)
        monkeypatch.setattr(integration, "_normalise_response", response)


def glue_sync_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's Glue integration gets the callback endpoint its .sync releases (see the module docstring)."""
    patterns = {ResourceCondition.Sync, ResourceCondition.WaitForTaskToken}
    monkeypatch.setattr(state_task_service_glue, "_SUPPORTED_INTEGRATION_PATTERNS", patterns)


@pytest.fixture
def aws(template: dict[str, Any], resolver: Resolver, monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    config = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
    with mock_aws(config=config):  # type: ignore[arg-type]
        aws = _deploy(template, resolver)

        # Retry waits: recorded, and each may let something happen meanwhile (another run finishing).
        def wait(seconds: float) -> None:
            aws.waits.append(seconds)
            for hook in aws.on_wait:
                hook(len(aws.waits))

        monkeypatch.setattr(retrier_decl, "time", SimpleNamespace(sleep=wait))
        aws_sdk_casing(monkeypatch)
        glue_sync_endpoint(monkeypatch)
        try:
            yield aws
        finally:
            state_manager.unset_transition(JOB_RUN)


def _deploy(template: dict[str, Any], resolver: Resolver) -> Aws:
    resources = template["Resources"]
    iam = boto3.client("iam", region_name=REGION)
    trust = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}
    )
    role = iam.create_role(RoleName="pipeline", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as zf:
        zf.writestr("ingestion/handler.py", "def lambda_handler(event, context):\n    return event\n")
    function = resolver.resolve(resources["IngestFunction"]["Properties"])
    function_arn = boto3.client("lambda", region_name=REGION).create_function(
        FunctionName=function["FunctionName"],
        Runtime=function["Runtime"],
        Role=role,
        Handler=function["Handler"],
        Code={"ZipFile": code.getvalue()},
    )["FunctionArn"]
    job = resolver.resolve(resources["SilverJob"]["Properties"])
    boto3.client("glue", region_name=REGION).create_job(
        Name=job["Name"],
        Role=role,
        Command=job["Command"],
        DefaultArguments=job["DefaultArguments"],
        ExecutionProperty=job["ExecutionProperty"],
        GlueVersion=job["GlueVersion"],
        WorkerType=job["WorkerType"],
        NumberOfWorkers=int(job["NumberOfWorkers"]),
        Timeout=job["Timeout"],
        MaxRetries=job["MaxRetries"],
    )
    project = resolver.resolve(resources["DbtRunnerProject"]["Properties"])
    boto3.client("codebuild", region_name=REGION).create_project(
        name=project["Name"],
        source={
            "type": "S3",
            "location": project["Source"]["Location"],
            "buildspec": project["Source"]["BuildSpec"],
        },
        artifacts={"type": "NO_ARTIFACTS"},
        environment={
            "type": project["Environment"]["Type"],
            "image": project["Environment"]["Image"],
            "computeType": project["Environment"]["ComputeType"],
        },
        serviceRole=role,
    )
    topic = boto3.client("sns", region_name=REGION).create_topic(Name=resolver.values["AlarmTopic"])[
        "TopicArn"
    ]
    props = resources["PipelineStateMachine"]["Properties"]
    assert set(props["DefinitionSubstitutions"]) == SUBSTITUTIONS
    # (a log group's Ref is its name)
    logs = {
        k: resolver.resolve(resources[v["Ref"]]["Properties"]["LogGroupName"])
        for k, v in props["DefinitionSubstitutions"].items()
        if k.endswith("Log")
    }
    values = {
        "IngestFunctionArn": function_arn,
        "SilverJobName": job["Name"],
        "DbtProjectName": project["Name"],
        "AlarmTopicArn": topic,
        **logs,
    }
    text = json.dumps(props["Definition"]).replace(DBT_SYNC, DBT_CALL)
    text = re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], text)
    machine = boto3.client("stepfunctions", region_name=REGION).create_state_machine(
        name=resolver.resolve(props["StateMachineName"]), definition=text, roleArn=role
    )["stateMachineArn"]
    return Aws(machine, topic, job["Name"], logs)


def _fail_silver_runs(monkeypatch: pytest.MonkeyPatch, job_name: str) -> None:
    """moto's job runs always succeed: a silver run is set FAILED on moto's model as it starts."""
    start = FakeJob.start_job_run

    def start_and_fail(job: FakeJob, *args: Any, **kwargs: Any) -> str:
        run_id: str = start(job, *args, **kwargs)
        if job.name == job_name:
            job.job_runs[-1].status = "FAILED"
        return run_id

    monkeypatch.setattr(FakeJob, "start_job_run", start_and_fail)


# ------------------------------------------------------------------------------------------ executed by moto


def test_stages_run_in_order_and_the_sweep_only_when_asked(aws: Aws) -> None:
    scheduled = aws.run({"ingest": {"rows": 5}, "full_test_sweep": True}, name="weekly")
    assert scheduled["status"] == "SUCCEEDED", aws.messages()
    assert aws.stages(scheduled["executionArn"]) == [
        "aws-sdk:sfn",
        'lambda:{"rows": 5}',
        "glue",
        "dbt:gold",
        "dbt:upkeep",
        "dbt:freshness",
        "glue:sweep",
        "dbt:gold",
        "dbt:sweep",
    ]
    # what a bare start does: every stage but the sweep, the Lambda's own defaults
    hourly = aws.run({})
    assert hourly["status"] == "SUCCEEDED"
    assert aws.stages(hourly["executionArn"]) == ["aws-sdk:sfn", "lambda:{}", "glue", "dbt:gold", "dbt:upkeep", "dbt:freshness"]  # fmt: skip
    # every dbt build names the execution as its RUN_ID (where its artifacts go)
    builds = aws.client("codebuild").batch_get_builds(ids=aws.client("codebuild").list_builds()["ids"])[
        "builds"
    ]
    # the weekly run's five (gold, upkeep, freshness, gold after silver's sweep, the full test sweep) and the
    # hourly run's three
    assert len(builds) == 8
    assert aws.messages() == []


def test_start_at_reruns_from_one_stage(aws: Aws) -> None:
    rerun = aws.run({"start_at": "gold"})
    assert rerun["status"] == "SUCCEEDED"
    assert aws.stages(rerun["executionArn"]) == ["aws-sdk:sfn", "dbt:gold", "dbt:upkeep", "dbt:freshness"]
    sweep = aws.run({"start_at": "sweep", "full_test_sweep": True})
    assert aws.stages(sweep["executionArn"]) == ["aws-sdk:sfn", "glue:sweep", "dbt:gold", "dbt:sweep"]


def test_a_failed_silver_alarms_with_its_stage_and_log_and_gold_never_runs(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fail_silver_runs(monkeypatch, aws.job)
    execution = aws.run({"ingest": {"rows": 5}})
    assert execution["status"] == "FAILED"
    assert aws.stages(execution["executionArn"]) == ["aws-sdk:sfn", 'lambda:{"rows": 5}', "glue", "sns"]
    # no dbt stage started
    assert aws.builds() == 0
    ((subject, message),) = aws.messages()
    assert subject == "Lakehouse pipeline stage failed"
    assert message.startswith(f"Stage silver failed in execution {execution['executionArn']}.")
    assert aws.log_groups["SilverLog"] in message and "/aws-glue/jobs/" in aws.log_groups["SilverLog"]
    # the cause: Glue's job run, with its id
    assert '"JobRunState":"FAILED"' in message.replace(" ", "")


def test_a_transient_error_is_retried_with_backoff(aws: Aws) -> None:
    """Another silver run is still going (MaxConcurrentRuns 1): StartJobRun fails with Glue's
    ConcurrentRunsExceededException, is retried after 30 s, then 60 s, by which time the other run has ended."""
    glue = aws.client("glue")
    state_manager.set_transition(JOB_RUN, {"progression": "manual", "times": 1})
    other = glue.start_job_run(JobName=aws.job)["JobRunId"]

    def other_run_ends(wait: int) -> None:
        if wait == 2:
            # STARTING -> RUNNING -> SUCCEEDED
            for _ in range(2):
                glue.get_job_run(JobName=aws.job, RunId=other)

    aws.on_wait.append(other_run_ends)
    execution = aws.run({"start_at": "silver"})
    assert execution["status"] == "SUCCEEDED", execution
    assert aws.waits == [30, 60]
    # two refused starts, one run
    assert aws.stages(execution["executionArn"]).count("glue") == 3
    assert aws.messages() == []


def test_a_run_that_would_overlap_a_running_one_is_refused(aws: Aws) -> None:
    # the first execution's silver run stays STARTING until released
    state_manager.set_transition(JOB_RUN, {"progression": "manual", "times": 10**9})
    first = aws.start({"start_at": "silver"}, name="first")
    glue = aws.client("glue")
    deadline = time.monotonic() + 60
    while not glue.get_job_runs(JobName=aws.job)["JobRuns"]:
        assert time.monotonic() < deadline, "the first execution never started silver"
        time.sleep(0.1)
    second = aws.run({"start_at": "gold"}, name="second")
    # refused is not a failure of the data
    assert second["status"] == "SUCCEEDED"
    assert aws.stages(second["executionArn"]) == ["aws-sdk:sfn", "sns"]
    assert aws.builds() == 0
    ((subject, message),) = aws.messages()
    assert subject == "Lakehouse pipeline run refused (overlap)"
    assert second["executionArn"] in message and "still running" in message
    state_manager.set_transition(JOB_RUN, {"progression": "immediate"})
    assert aws.finish(first)["status"] == "SUCCEEDED"
    # the first run went on: gold, upkeep, freshness
    assert aws.builds() == 3


# ------------------------------------------------------------------------- what moto does not check or run

# The IAM actions each Step Functions integration needs (AWS Step Functions developer guide, "IAM policies for
# integrated services"), and what the state machine's own configuration needs.
INTEGRATION_ACTIONS: dict[str, set[str]] = {
    "arn:aws:states:::aws-sdk:sfn:listExecutions": {"states:ListExecutions"},
    "arn:aws:states:::lambda:invoke": {"lambda:InvokeFunction"},
    "arn:aws:states:::glue:startJobRun.sync": {
        "glue:StartJobRun",
        "glue:GetJobRun",
        "glue:GetJobRuns",
        "glue:BatchStopJobRun",
    },
    DBT_SYNC: {
        "codebuild:StartBuild",
        "codebuild:StopBuild",
        "codebuild:BatchGetBuilds",
        "events:PutTargets",
        "events:PutRule",
        "events:DescribeRule",
    },
    # the topic is encrypted with the lake key
    "arn:aws:states:::sns:publish": {"sns:Publish", "kms:Decrypt", "kms:GenerateDataKey"},
}
TRACING_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"}  # fmt: skip


def test_the_role_allows_exactly_what_the_tasks_call(template: dict[str, Any], resolver: Resolver) -> None:
    resources = {s["Resource"] for s in task_states(template).values()}
    assert resources <= set(INTEGRATION_ACTIONS), resources - set(INTEGRATION_ACTIONS)
    needed = set().union(*(INTEGRATION_ACTIONS[r] for r in resources)) | TRACING_ACTIONS
    role = resolver.resolve(template["Resources"]["PipelineRole"]["Properties"])
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    granted = {
        a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert granted == needed, {"unused": granted - needed, "missing": needed - granted}
    assert not role.get("ManagedPolicyArns")
    by_action = {a: s["Resource"] for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}  # fmt: skip
    name = resolver.resolve(template["Resources"]["PipelineStateMachine"]["Properties"]["StateMachineName"])
    assert by_action["states:ListExecutions"] == f"arn:aws:states:us-east-1:123456789012:stateMachine:{name}"
    assert by_action["sns:Publish"] == resolver.values["AlarmTopic"]
    assert by_action["glue:StartJobRun"].endswith(f":job/{resolver.values['SilverJob']}")
    assert by_action["events:PutRule"].endswith(":rule/StepFunctionsGetEventForCodeBuildStartBuildRule")


def test_every_stage_fails_into_the_alarm_and_transient_errors_only_are_retried(
    template: dict[str, Any],
) -> None:
    states = definition(template)["States"]
    stages = {n: s for n, s in task_states(template).items() if n not in ("ListRunning", "RefuseOverlap", "NotifyFailure")}  # fmt: skip
    assert set(stages) == {
        "Ingest",
        "Silver",
        "Gold",
        "Upkeep",
        "Freshness",
        "SilverSweep",
        "GoldAfterSweep",
        "FullTestSweep",
    }
    for name, state in stages.items():
        ((catch),) = state["Catch"]
        assert catch["ErrorEquals"] == ["States.ALL"] and catch["ResultPath"] == "$.error"
        assert states[catch["Next"]]["Next"] == "NotifyFailure", name
        # never a failed run itself (States.TaskFailed / ALL): only the service's
        for retry in state["Retry"]:
            assert not {"States.ALL", "States.TaskFailed"} & set(retry["ErrorEquals"]), name
            assert retry["BackoffRate"] >= 2 and retry["MaxAttempts"] <= 3, name
    assert states["NotifyFailure"]["Next"] == "Failed" and states["Failed"]["Type"] == "Fail"
    dbt = {n: s for n, s in stages.items() if s["Resource"] == DBT_SYNC}
    assert {n: stage_variable(s["Parameters"]) for n, s in dbt.items()} == {
        "Gold": "gold",
        "Upkeep": "upkeep",
        "Freshness": "freshness",
        "GoldAfterSweep": "gold",
        "FullTestSweep": "sweep",
    }
    assert set(STAGES) == {"gold", "upkeep", "freshness", "sweep"}


def test_the_timeout_and_its_alarm_agree(template: dict[str, Any]) -> None:
    timeout = definition(template)["TimeoutSeconds"]
    # below the hourly schedule
    assert timeout < 3600
    metrics = template["Resources"]["PipelineDurationAlarm"]["Properties"]["Metrics"]
    assert metrics[0]["Expression"] == f"time / {timeout * 1000}"


def test_the_dbt_stages_build_from_pinned_requirements_with_the_stacks_dbt_environment(
    template: dict[str, Any], resolver: Resolver, package: ModuleType, tmp_path: Path
) -> None:
    project = resolver.resolve(template["Resources"]["DbtRunnerProject"]["Properties"])
    spec = yaml.safe_load(project["Source"]["BuildSpec"])
    assert spec["phases"]["install"]["runtime-versions"] == {"python": "3.11"}
    assert spec["phases"]["install"]["commands"] == [
        "python -m pip install --quiet --no-deps -r requirements/gold-runner.txt"
    ]
    assert spec["phases"]["build"]["commands"] == [
        'python -m lakehouse.stage "$STAGE" --work "$CODEBUILD_SRC_DIR/pipeline-work"'
    ]
    pins = (REPO_ROOT / "requirements" / "gold-runner.txt").read_text().split("\n")
    pinned = [line for line in pins if line and not line.startswith("#")]
    assert pinned and all(re.fullmatch(r"[a-z0-9._-]+==[^\s=]+", line) for line in pinned), pinned
    dev = set((REPO_ROOT / "requirements" / "dev.txt").read_text().split("\n"))
    # the versions every test here ran with
    assert set(pinned) <= dev, set(pinned) - dev
    names = {line.split("==")[0] for line in pinned}
    assert {"dbt-core", "dbt-athena-community", "boto3"} <= names and not {"pyspark", "duckdb"} & names
    env = {v["Name"]: v["Value"] for v in project["Environment"]["EnvironmentVariables"]}
    outputs = {k: resolver.resolve(template["Outputs"][k]["Value"]) for k in package.OUTPUT_TO_ENV}
    for output, variable in package.OUTPUT_TO_ENV.items():
        assert env[variable] == str(outputs[output]), variable
    assert env["ARTIFACTS_URI"] == f"s3://{resolver.values['LakeBucket']}/artifacts/dbt"
    # the dbt_docs exposure's URL: where lakehouse.stage publishes the site (<ARTIFACTS_URI>/docs/)
    assert env["DBT_DOCS_URL"].endswith(
        f"/s3/buckets/{resolver.values['LakeBucket']}?region=us-east-1&prefix=artifacts/dbt/docs/"
    )
    zipped = package.build_dbt_project_zip(tmp_path / "project.zip")
    with zipfile.ZipFile(zipped) as zf:
        members = set(zf.namelist())
    assert {
        "dbt_project.yml",
        "requirements/gold-runner.txt",
        "lakehouse/stage.py",
        "macros/upkeep.sql",
    } <= members
    assert "profiles/profiles.yml" in members and not [m for m in members if m.startswith("tests/")]
    assert project["Source"]["Location"] == f"{resolver.values['LakeBucket']}/artifacts/dbt/project.zip"


def test_schedules_start_the_pipeline_and_the_weekly_sweep(template: dict[str, Any]) -> None:
    rules = {n: template["Resources"][n]["Properties"] for n in ("PipelineScheduleRule", "SweepScheduleRule")}
    sweep = json.loads(rules["SweepScheduleRule"]["Targets"][0]["Input"])
    assert sweep == {"start_at": "sweep", "full_test_sweep": True}
    assert rules["PipelineScheduleRule"]["ScheduleExpression"] == {"Ref": "PipelineSchedule"}
    params = template["Parameters"]
    hourly, weekly = params["PipelineSchedule"]["Default"], params["SweepSchedule"]["Default"]
    # the sweep starts half past, away from the hourly runs at the top of the hour (an overlap is refused)
    assert hourly.split()[0] == "cron(0" and weekly.split()[0] == "cron(30"
    for env in ("dev", "prod"):
        data = json.loads((REPO_ROOT / "infra" / "parameters" / f"{env}.json").read_text())["Parameters"]
        assert data["PipelineSchedule"].split()[0] != data["SweepSchedule"].split()[0], env


def test_the_first_create_passes_cloudformation_the_part_it_makes_under_the_inline_limit(
    template: dict[str, Any], package: ModuleType, tmp_path: Path
) -> None:
    """The template (with the pipeline) is over CloudFormation's 51,200-byte inline limit, and the first create has
    no bucket to pass it through: it gets the template without the compute it would not create anyway."""
    from tests.infra.helpers import TEMPLATE, load_template

    assert TEMPLATE.stat().st_size > package.INLINE_TEMPLATE_LIMIT
    out = tmp_path / "phase1.yaml"
    out.write_text(package.bucket_only_template(TEMPLATE.read_text()))
    assert out.stat().st_size <= package.INLINE_TEMPLATE_LIMIT
    phase1 = load_template(out)
    compute = package.COMPUTE_CONDITION
    for section in ("Resources", "Outputs"):
        expected = {k: v for k, v in template[section].items() if v.get("Condition") != compute}
        assert phase1[section] == expected, section
    assert {k: v for k, v in phase1.items() if k not in ("Resources", "Outputs")} == {
        k: v for k, v in template.items() if k not in ("Resources", "Outputs")
    }
