"""A local Athena, from real parts, for running dbt-athena end to end offline.

    with AthenaStandIn(statement_log=Path("athena.log")) as athena:
        athena.upload_silver(lake)                 # the silver Parquet of a local run, into the stack's bucket
        with athena.environment():                 # DBT_ATHENA_* from the stack's outputs, AWS_* at moto
            run_dbt(["build"], lake, target="athena")
        rows = athena.read("lakehouse_dev_gold", "fct_orders")

* moto's server (S3, Glue, STS, Athena, CloudFormation) in this process, holding the stack's own resources:
  infra/lakehouse.yaml is created through moto's CloudFormation (lakehouse/moto_aws.py hands it the Glue
  databases and tables and the Athena workgroup), so the bucket, the four Glue databases, both silver tables
  with their partition projection and the workgroup with its enforced, encrypted results location are the
  template's, not a copy.
* dbt-athena's cursor is routed to the engine (`cursor.CursorHook`); everything else dbt-athena does (Glue
  get/create/update/delete table, table versions, S3 uploads, listings and deletes, STS) goes to moto's server
  through boto3 (AWS_ENDPOINT_URL).
"""

from __future__ import annotations

import threading
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from lakehouse.athena_local.cursor import CursorHook, MotoReads
from lakehouse.athena_local.engine import Engine
from lakehouse.athena_local.outcome import Context
from lakehouse.dbt import _env
from lakehouse.infra import TEMPLATE, load_package_module
from lakehouse.moto_aws import ACCOUNT, REGION, MotoServer

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
    """One statement the stand-in received: its kind, "ok" or Athena's error text, and its SQL."""

    kind: str
    # "ok" or Athena's error text
    status: str
    sql: str
    # the bytes it scanned, as Athena's Statistics.DataScannedInBytes reports them (lakehouse/athena_local/scan.py)
    scanned_bytes: int = 0


class AthenaStandIn:
    """moto's server with the stack deployed into it, and dbt-athena's cursor executing on DuckDB."""

    def __init__(self, statement_log: Path | None = None, parameters: dict[str, str] | None = None) -> None:
        self.server = MotoServer()
        self.statement_log = statement_log
        self.parameters = {"Env": ENV, **(parameters or {})}
        self.statements: list[Statement] = []
        self._log_lock = threading.Lock()
        self._undo: list[Any] = []

    # ---- lifecycle

    def start(self) -> AthenaStandIn:
        """Start moto's server, deploy the stack into it, route dbt-athena's cursor to the engine."""
        self.url = self.server.start()
        urllib.request.urlopen(urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")).close()
        self.engine = Engine(
            self.client("s3"), self.client("glue"), self._record, reads=MotoReads(ACCOUNT, REGION)
        )
        self._deploy_stack()
        self._undo.append(CursorHook(self.engine, ACCOUNT, REGION).install())
        if self.statement_log is not None:
            self.statement_log.parent.mkdir(parents=True, exist_ok=True)
            self.statement_log.write_text("")
        return self

    def stop(self) -> None:
        """Undo the cursor hook; stop the server."""
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()
        self.server.stop()

    def __enter__(self) -> AthenaStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def client(self, service: str) -> Any:
        """A boto3 client of moto's server."""
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
            # no Lambda, no Glue job: what dbt needs exists from phase 1
            "DeployCompute": "false",
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
        """How many statements of each kind succeeded."""
        return Counter(s.kind for s in self.statements if s.status == "ok")

    def _record(self, kind: str, status: str, sql: str, scanned: int = 0) -> None:
        """Log one statement (the engine's log callback), to memory and to the statement log."""
        with self._log_lock:
            self.statements.append(Statement(kind, status, sql, scanned))
            if self.statement_log is not None:
                with self.statement_log.open("a") as log:
                    log.write(
                        f"-- [{len(self.statements)}] {kind}: {status} (scanned {scanned} bytes)\n{sql.strip()}\n;\n\n"
                    )
