"""A local Athena, from real parts, for running dbt-athena end to end offline.

    with AthenaStandIn(statement_log=Path("athena.log")) as athena:
        athena.upload_silver(lake)                 # the silver Parquet of a local run, into the stack's bucket
        with athena.environment():                 # DBT_ATHENA_* from the stack's outputs, AWS_* at moto
            run_dbt(["build"], lake, target="athena")
        rows = athena.read("lakehouse_dev_gold", "fct_orders")

* moto's server (S3, Glue, STS, Athena, CloudFormation) in this process, holding the stack's own resources:
  infra/lakehouse.yaml is created through moto's CloudFormation (tests/infra/moto_aws.py hands it the Glue
  databases and tables and the Athena workgroup), so the bucket, the four Glue databases, both silver tables
  with their partition projection and the workgroup with its enforced, encrypted results location are the
  template's, not a copy.
* dbt-athena 1.11 sends every query through its own cursor (dbt.adapters.athena.connections.AthenaCursor):
  the stand-in wraps its StartQueryExecution step. The query reaches moto's Athena (which records it in the
  workgroup), then tests/athena/engine.py executes it and hands the outcome to moto's Athena, so the cursor's
  own polling and GetQueryResults code reads it: SUCCEEDED with rows, or FAILED with Athena's error text. The
  first poll finds the query finished: dbt-athena never sleeps.
* Everything else dbt-athena does (Glue get/create/update/delete table, table versions, S3 uploads, listings
  and deletes, STS) goes to moto's server through boto3 (AWS_ENDPOINT_URL).
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import botocore.session

from lakehouse.dbt import _env
from tests.athena.engine import AthenaQueryError, Context, Engine, Outcome, duckdb_to_trino, render_value
from tests.infra.helpers import REPO_ROOT, load_package_module
from tests.infra.moto_aws import ACCOUNT, REGION, MotoServer

TEMPLATE = REPO_ROOT / "infra" / "lakehouse.yaml"
ENV = "dev"
STACK = f"lakehouse-{ENV}"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def patched_environ(values: dict[str, str]) -> AbstractContextManager[None]:
    """os.environ with `values` set, restored afterwards (lakehouse.dbt's own helper)."""
    return _env(**values)


@dataclass(frozen=True)
class Statement:
    kind: str
    status: str  # "ok" or Athena's error text
    sql: str


class MotoReads:
    """The engine's reads of Glue and S3, from moto's backends in this process (the server's own state): a query
    reads the catalog and several objects, and each HTTP round trip to the server costs 10-50 ms on a busy machine.
    Everything dbt-athena does still goes through the server."""

    def table(self, database: str, name: str) -> dict[str, Any] | None:
        from moto.glue.models import glue_backends

        backend = glue_backends[ACCOUNT][REGION]
        found = backend.databases.get(database)
        table = found.tables.get(name) if found is not None else None
        return None if table is None else dict(table.as_dict())

    def objects(self, bucket: str, prefix: str) -> Iterator[dict[str, Any]]:
        from moto.s3.models import FakeKey, s3_backends

        keys = s3_backends[ACCOUNT]["aws"].get_bucket(bucket).keys
        for name in sorted(k for k in list(keys) if k.startswith(prefix)):
            key = keys.get(name)
            if isinstance(key, FakeKey):
                yield {"Bucket": bucket, "Key": name, "ETag": key.etag}

    def read(self, bucket: str, key: str) -> bytes:
        from moto.s3.models import FakeKey, s3_backends

        found = s3_backends[ACCOUNT]["aws"].get_bucket(bucket).keys.get(key)
        if not isinstance(found, FakeKey):
            raise KeyError(f"s3://{bucket}/{key}")
        return bytes(found.value)


class AthenaStandIn:
    """moto's server with the stack deployed into it, and dbt-athena's cursor executing on DuckDB."""

    def __init__(self, statement_log: Path | None = None, parameters: dict[str, str] | None = None) -> None:
        self.server = MotoServer()
        self.statement_log = statement_log
        self.parameters = {"Env": ENV, **(parameters or {})}
        self.statements: list[Statement] = []
        self._log_lock = threading.Lock()
        self._outcomes: dict[str, Outcome | AthenaQueryError] = {}
        self._undo: list[Any] = []

    # ---- lifecycle

    def start(self) -> AthenaStandIn:
        self.url = self.server.start()
        urllib.request.urlopen(urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")).close()
        self.engine = Engine(self.client("s3"), self.client("glue"), self._record, reads=MotoReads())
        self._deploy_stack()
        self._intercept()
        if self.statement_log is not None:
            self.statement_log.parent.mkdir(parents=True, exist_ok=True)
            self.statement_log.write_text("")
        return self

    def stop(self) -> None:
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()
        self.server.stop()

    def __enter__(self) -> AthenaStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            **{k.lower(): v for k, v in CREDENTIALS.items()},
        )

    # ---- the stack

    def _deploy_stack(self) -> None:
        cfn = self.client("cloudformation")
        parameters = {
            **self.parameters,
            "DeployCompute": "false",  # no Lambda, no Glue job: what dbt needs exists from phase 1
            "PandasLayerArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:AWSSDKPandas-Python312:1",
        }
        cfn.create_stack(
            StackName=self.stack_name,
            TemplateBody=TEMPLATE.read_text(),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            Capabilities=["CAPABILITY_IAM"],
        )
        stack = cfn.describe_stacks(StackName=self.stack_name)["Stacks"][0]
        if stack["StackStatus"] != "CREATE_COMPLETE":
            raise RuntimeError(f"the stack did not deploy into moto: {stack['StackStatus']}")
        self.outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
        self.bucket = self.outputs["LakeBucketName"]

    @property
    def stack_name(self) -> str:
        return f"{self.parameters.get('ProjectName', 'lakehouse')}-{self.parameters['Env']}"

    def dbt_env(self) -> dict[str, str]:
        """The athena target's environment, exactly as deploy.sh writes it from the stack's outputs."""
        return dict(load_package_module().dbt_env(self.outputs))

    @contextmanager
    def environment(self, **extra: str) -> Iterator[dict[str, str]]:
        """os.environ with the dbt athena variables and AWS pointed at moto's server, for in-process dbt runs."""
        values = {
            **CREDENTIALS,
            "AWS_ENDPOINT_URL": self.url,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
            **self.dbt_env(),
            # the stand-in is the stack's own shared dev databases, as CI's main build and the pipeline see them
            "DBT_DEV_SHARED": "true",
            **extra,
        }
        with patched_environ(values):
            yield values

    def upload_silver(self, lake: Path) -> int:
        """Replace silver/ in the bucket with the local lake's silver Parquet (under the stack's LakeRoot)."""
        root = self.outputs["LakeRoot"].removeprefix(f"s3://{self.bucket}/")
        s3 = self.client("s3")
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=f"{root}silver/"):
            for obj in page.get("Contents", []):
                s3.delete_object(Bucket=self.bucket, Key=obj["Key"])
        files = sorted((lake / "silver").rglob("*.parquet"))
        for path in files:
            s3.upload_file(str(path), self.bucket, f"{root}{path.relative_to(lake).as_posix()}")
        return len(files)

    # ---- reading back

    def read(self, database: str, table: str) -> tuple[list[tuple[str, str]], list[tuple[Any, ...]]]:
        """Columns and rows of a table as a query on the stand-in sees them (read from S3 now)."""
        outcome = self.engine.execute(
            f'select * from "{database}"."{table}"', Context(database, "", False, "read-back")
        )
        return outcome.columns, outcome.rows

    def counts(self) -> Counter[str]:
        return Counter(s.kind for s in self.statements if s.status == "ok")

    # ---- the interception

    def _record(self, kind: str, status: str, sql: str) -> None:
        with self._log_lock:
            self.statements.append(Statement(kind, status, sql))
            if self.statement_log is not None:
                with self.statement_log.open("a") as log:
                    log.write(f"-- [{len(self.statements)}] {kind}: {status}\n{sql.strip()}\n;\n\n")

    def run(self, execution_id: str) -> None:
        """Execute a query moto's Athena has just accepted, and leave its outcome there."""
        from moto.athena.models import QueryResults, athena_backends

        backend = athena_backends[ACCOUNT][REGION]
        execution = backend.executions[execution_id]
        workgroup = execution.workgroup.configuration if execution.workgroup else {}
        enforced = bool(workgroup.get("EnforceWorkGroupConfiguration"))
        output = (
            workgroup.get("ResultConfiguration", {}).get("OutputLocation")
            if enforced
            else (execution.config or {}).get("OutputLocation", "").rsplit("/", 1)[0] + "/"
        )
        context = Context(
            database=(execution.context or {}).get("Database", "default"),
            output_location=f"{output.rstrip('/')}/{execution_id}.csv",
            enforced=enforced,
            query_id=execution_id,
        )
        try:
            outcome = self.engine.execute(execution.query, context)
        except AthenaQueryError as failure:
            self._outcomes[execution_id] = failure
            execution.status = "FAILED"
            return
        self._outcomes[execution_id] = outcome
        column_info = []
        for name, duck_type in outcome.columns:
            trino, precision, scale = duckdb_to_trino(duck_type)
            column_info.append(
                {"Name": name, "Label": name, "Type": trino, "Precision": precision, "Scale": scale}
            )
        header = (
            [{"Data": [{"VarCharValue": name} for name, _ in outcome.columns]}] if outcome.columns else []
        )
        rows = [
            {"Data": [{} if (v := render_value(cell)) is None else {"VarCharValue": v} for cell in row]}
            for row in outcome.rows
        ]
        backend.query_results[execution_id] = QueryResults(rows=header + rows, column_info=column_info)

    def _intercept(self) -> None:
        from dbt.adapters.athena.connections import AthenaCursor
        from moto.athena.responses import AthenaResponse

        start, get_execution, get_results = (
            AthenaCursor._start_execution,
            AthenaResponse.get_query_execution,
            AthenaResponse.get_query_results,
        )
        standin = self

        def start_and_run(cursor: AthenaCursor) -> None:
            start(cursor)
            if cursor._query_execution_id is not None:
                standin.run(cursor._query_execution_id)

        def query_execution(response: AthenaResponse) -> str:
            body = json.loads(get_execution(response))
            execution = body["QueryExecution"]
            outcome = standin._outcomes.get(execution["QueryExecutionId"])
            if isinstance(outcome, AthenaQueryError):
                execution["Status"]["StateChangeReason"] = str(outcome)
                execution["Status"]["AthenaError"] = {
                    "ErrorCategory": outcome.category,
                    "ErrorType": outcome.error_type,
                    "Retryable": False,
                    "ErrorMessage": str(outcome),
                }
            elif outcome is not None:
                execution["StatementType"] = outcome.statement_type
            return json.dumps(body)

        def query_results(response: AthenaResponse) -> str:
            body = json.loads(get_results(response))
            outcome = standin._outcomes.get(response._get_param("QueryExecutionId"))
            if isinstance(outcome, Outcome) and outcome.update_count is not None:
                body["UpdateCount"] = outcome.update_count
            return json.dumps(body)

        # dbt-athena opens a boto3 session per connection (one per node), and every new session parses botocore's
        # service models again (0.2 s each on a busy 2-core machine, most of a build's time). The data files
        # are the same for all of them: one loader serves every session in this process while the stand-in runs.
        create_loader = botocore.session.create_loader
        shared_loader = create_loader()
        botocore.session.create_loader = lambda search_path_string=None: (  # type: ignore[assignment]
            shared_loader if search_path_string is None else create_loader(search_path_string)
        )

        AthenaCursor._start_execution = start_and_run  # type: ignore[method-assign]
        AthenaResponse.get_query_execution = query_execution  # type: ignore[method-assign]
        AthenaResponse.get_query_results = query_results  # type: ignore[method-assign]

        def undo() -> None:
            botocore.session.create_loader = create_loader  # type: ignore[assignment]
            AthenaCursor._start_execution = start  # type: ignore[method-assign]
            AthenaResponse.get_query_execution = get_execution  # type: ignore[method-assign]
            AthenaResponse.get_query_results = get_results  # type: ignore[method-assign]

        self._undo.append(undo)
