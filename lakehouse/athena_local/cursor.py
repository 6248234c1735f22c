"""The cursor hook: how dbt-athena's queries reach the engine, and how their outcome reaches dbt-athena.

dbt-athena sends every query through its own cursor (dbt.adapters.athena.connections.AthenaCursor, a pyathena
cursor): the hook wraps its StartQueryExecution step. The query reaches moto's Athena (which records it in the
workgroup), then the engine executes it and the outcome is left in moto's Athena, so the cursor's own polling
and GetQueryResults code reads it: SUCCEEDED with rows, or FAILED with Athena's error text. The first poll finds
the query finished: dbt-athena never sleeps. Everything else dbt-athena does (Glue, S3, STS) goes to moto's
server through boto3 (AWS_ENDPOINT_URL).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import botocore.session

from lakehouse.athena_local.catalog import duckdb_to_trino
from lakehouse.athena_local.engine import Engine
from lakehouse.athena_local.outcome import AthenaQueryError, Context, Outcome


class MotoReads:
    """The engine's reads of Glue and S3, from moto's backends in this process (the server's own state): a query
    reads the catalog and several objects, and each HTTP round trip to the server costs 10-50 ms on a busy machine.
    Everything dbt-athena does still goes through the server."""

    def __init__(self, account: str, region: str) -> None:
        self.account, self.region = account, region

    def table(self, database: str, name: str) -> dict[str, Any] | None:
        """GetTable from moto's Glue backend, or None."""
        from moto.glue.models import glue_backends

        backend = glue_backends[self.account][self.region]
        found = backend.databases.get(database)
        table = found.tables.get(name) if found is not None else None
        return None if table is None else dict(table.as_dict())

    def objects(self, bucket: str, prefix: str) -> Iterator[dict[str, Any]]:
        """The objects under a prefix, from moto's S3 backend."""
        from moto.s3.models import FakeKey, s3_backends

        keys = s3_backends[self.account]["aws"].get_bucket(bucket).keys
        for name in sorted(k for k in list(keys) if k.startswith(prefix)):
            key = keys.get(name)
            if isinstance(key, FakeKey):
                yield {"Bucket": bucket, "Key": name, "ETag": key.etag}

    def read(self, bucket: str, key: str) -> bytes:
        """An object's bytes, from moto's S3 backend."""
        from moto.s3.models import FakeKey, s3_backends

        found = s3_backends[self.account]["aws"].get_bucket(bucket).keys.get(key)
        if not isinstance(found, FakeKey):
            raise KeyError(f"s3://{bucket}/{key}")
        return bytes(found.value)


def render_value(value: Any) -> str | None:
    """A cell as Athena's GetQueryResults writes it (VarCharValue)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if hasattr(value, "isoformat") and hasattr(value, "hour"):
        return str(value.strftime("%Y-%m-%d %H:%M:%S.%f"))
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def _results(outcome: Outcome) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(rows, column info) of an outcome as Athena's GetQueryResults returns them."""
    column_info = []
    for name, duck_type in outcome.columns:
        trino, precision, scale = duckdb_to_trino(duck_type)
        column_info.append(
            {"Name": name, "Label": name, "Type": trino, "Precision": precision, "Scale": scale}
        )
    # a query's first row holds the column labels; a SHOW statement's result (UTILITY) has none
    labelled = outcome.columns and outcome.statement_type != "UTILITY"
    header = [{"Data": [{"VarCharValue": name} for name, _ in outcome.columns]}] if labelled else []
    rows = [
        {"Data": [{} if (v := render_value(cell)) is None else {"VarCharValue": v} for cell in row]}
        for row in outcome.rows
    ]
    return header + rows, column_info


class CursorHook:
    """Routes dbt-athena's cursor through moto's Athena to the engine while installed."""

    def __init__(self, engine: Engine, account: str, region: str) -> None:
        self.engine, self.account, self.region = engine, account, region
        self.outcomes: dict[str, Outcome | AthenaQueryError] = {}

    def run(self, execution_id: str) -> None:
        """Execute a query moto's Athena has just accepted, and leave its outcome there."""
        from moto.athena.models import QueryResults, athena_backends

        backend = athena_backends[self.account][self.region]
        execution = backend.executions[execution_id]
        workgroup = execution.workgroup.configuration if execution.workgroup else {}
        enforced = bool(workgroup.get("EnforceWorkGroupConfiguration"))
        cutoff = workgroup.get("BytesScannedCutoffPerQuery")
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
            bytes_cutoff=int(cutoff) if cutoff else None,
        )
        try:
            outcome = self.engine.execute(execution.query, context)
        except AthenaQueryError as failure:
            self.outcomes[execution_id] = failure
            execution.status = failure.state
            return
        self.outcomes[execution_id] = outcome
        rows, column_info = _results(outcome)
        backend.query_results[execution_id] = QueryResults(rows=rows, column_info=column_info)

    def _query_execution(self, body: dict[str, Any]) -> None:
        execution = body["QueryExecution"]
        outcome = self.outcomes.get(execution["QueryExecutionId"])
        if outcome is not None:
            execution.setdefault("Statistics", {})["DataScannedInBytes"] = outcome.scanned_bytes
        if isinstance(outcome, AthenaQueryError):
            execution["Status"]["StateChangeReason"] = str(outcome)
            # a cancelled query (the bytes-scanned cutoff) reports no AthenaError
            if outcome.state == "CANCELLED":
                return
            execution["Status"]["AthenaError"] = {
                "ErrorCategory": outcome.category,
                "ErrorType": outcome.error_type,
                "Retryable": False,
                "ErrorMessage": str(outcome),
            }
        elif outcome is not None:
            execution["StatementType"] = outcome.statement_type

    def install(self) -> Callable[[], None]:
        """Patch dbt-athena's cursor and moto's Athena responses; return what undoes it."""
        from dbt.adapters.athena.connections import AthenaCursor
        from moto.athena.responses import AthenaResponse

        start, get_execution, get_results = (
            AthenaCursor._start_execution,
            AthenaResponse.get_query_execution,
            AthenaResponse.get_query_results,
        )
        hook = self

        def start_and_run(cursor: AthenaCursor) -> None:
            start(cursor)
            if cursor._query_execution_id is not None:
                hook.run(cursor._query_execution_id)

        def query_execution(response: AthenaResponse) -> str:
            body = json.loads(get_execution(response))
            hook._query_execution(body)
            return json.dumps(body)

        def query_results(response: AthenaResponse) -> str:
            body = json.loads(get_results(response))
            outcome = hook.outcomes.get(response._get_param("QueryExecutionId"))
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

        return undo
