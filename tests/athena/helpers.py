"""Helpers of the Athena tests: the silver scenario, dbt on either target, and marts read back from both."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pytest

from lakehouse.athena_local.standin import AthenaStandIn
from lakehouse.dbt import run_dbt
from tests.gold.helpers import (
    REJECTED,
    Order,
    Rejected,
    base_orders,
    late_and_corrected_orders,
    write_rejected,
    write_silver,
)

Rows = list[tuple[Any, ...]]


def with_microseconds(orders: Iterable[Order]) -> list[Order]:
    """The orders with a sub-millisecond part in ingested_at: Athena's bare `timestamp` (3 digits) would round it."""
    return [(*o[:7], f"{o[7]}.{(i * 7919) % 1_000_000:06d}") for i, o in enumerate(orders, start=1)]


@dataclass(frozen=True)
class Silver:
    """What the silver job has left in the lake at one step: the orders and the quarantine."""

    orders: list[Order]
    rejected: list[Rejected]


def scenario() -> tuple[Silver, Silver]:
    """The gold tests' silver batches (tests/gold/helpers.py): a first load, then new, late and corrected
    orders ingested later, with microsecond ingestion stamps; the quarantine grows with a later ingest day."""
    base = with_microseconds(base_orders())
    later_rejects = [("bad_quantity", "2026-02-09", "orders_lambda_20260209_060000_a.csv")]
    return (
        Silver(base, REJECTED),
        Silver(base + with_microseconds(late_and_corrected_orders(base_orders())), REJECTED + later_rejects),
    )


def dbt_args(work: Path) -> list[str]:
    return ["--target-path", str(work / "target"), "--log-path", str(work / "logs")]


PARTIAL_PARSE = "partial_parse.msgpack"


def reuse_parse(earlier: Path, work: Path) -> None:
    """dbt's partial parse across target folders: a call whose target folder (`dbt_args(work)`) is new starts
    from the parse an earlier call saved in `dbt_args(earlier)`, as a second call in one target folder would. dbt
    checks the saved parse before using it: it parses again what changed, and everything when the profile (the
    lake, the stand-in), the vars or dbt's version differ."""
    saved = earlier / "target" / PARTIAL_PARSE
    if saved.is_file():
        (work / "target").mkdir(parents=True, exist_ok=True)
        shutil.copy2(saved, work / "target" / PARTIAL_PARSE)


def sort_rows(rows: Rows) -> Rows:
    return sorted(rows, key=lambda row: tuple((value is None, str(value)) for value in row))


def marts(manifest: Path) -> list[tuple[str, str, str]]:
    """(model name, database, table) of every model of the marts folder, from dbt's manifest."""
    nodes = json.loads(manifest.read_text())["nodes"].values()
    return sorted(
        (node["name"], node["schema"], node["alias"])
        for node in nodes
        if node["resource_type"] == "model" and node["original_file_path"].startswith("models/marts/")
    )


def read_local(lake: Path, table: str) -> tuple[list[str], Rows]:
    with duckdb.connect(str(lake / "warehouse.duckdb"), read_only=True) as con:
        relation = con.sql(f'select * from gold."{table}"')
        return list(relation.columns), sort_rows(relation.fetchall())


@dataclass
class Comparison:
    """Each mart read back from the stand-in and from the local warehouse; the marts that differ."""

    marts: list[str]
    rows: dict[str, int] = field(default_factory=dict)
    differences: dict[str, str] = field(default_factory=dict)
    # each mart as the stand-in holds it (sorted rows), to compare one build step with another
    athena: dict[str, Rows] = field(default_factory=dict)


def compare_marts(standin: AthenaStandIn, lake: Path, manifest: Path) -> Comparison:
    found = marts(manifest)
    comparison = Comparison([name for name, _, _ in found])
    for name, database, table in found:
        athena_columns, athena_rows = standin.read(database, table)
        local_columns, local_rows = read_local(lake, table)
        comparison.rows[name] = len(local_rows)
        if [c for c, _ in athena_columns] != local_columns:
            comparison.differences[name] = f"columns {athena_columns} != {local_columns}"
            continue
        athena_rows = sort_rows(athena_rows)
        comparison.athena[name] = athena_rows
        if athena_rows != local_rows:
            first = next(((a, b) for a, b in zip(athena_rows, local_rows, strict=False) if a != b), None)
            comparison.differences[name] = (
                f"{len(athena_rows)} rows on Athena, {len(local_rows)} locally; first difference: {first}"
            )
    return comparison


@dataclass
class Build:
    """One step of the scenario on both targets."""

    name: str
    comparison: Comparison
    statements: list[Any]
    compiled: dict[str, str]


def build_both(
    standin: AthenaStandIn,
    lake: Path,
    work: Path,
    name: str,
    silver: Silver,
    *extra: str,
    after: str | None = None,
) -> Build:
    """Write silver, upload it, `dbt build` on the local target and on the athena target, compare the marts.
    `after`: the step built before on the same lake and stand-in, whose dbt parse each target reuses."""
    write_silver(lake, silver.orders)
    write_rejected(lake, silver.rejected)
    standin.upload_silver(lake)
    if after:
        for engine in ("local", "athena"):
            reuse_parse(work / f"{engine}-{after}", work / f"{engine}-{name}")
    run_dbt(["build", *extra, *dbt_args(work / f"local-{name}")], lake)
    before = len(standin.statements)
    with standin.environment():
        result = run_dbt(["build", *extra, *dbt_args(work / f"athena-{name}")], lake, target="athena")
    compiled = {
        r.node.name: r.node.compiled_code for r in result.result.results if r.node.resource_type == "model"
    }
    comparison = compare_marts(standin, lake, work / f"athena-{name}" / "target" / "manifest.json")
    return Build(name, comparison, standin.statements[before:], compiled)


def cursor(standin: AthenaStandIn) -> Any:
    """dbt-athena's own cursor on the stand-in, with the athena target's settings."""
    from dbt.adapters.athena.connections import AthenaConnection, AthenaCredentials

    env = standin.dbt_env()
    credentials = AthenaCredentials(
        database="awsdatacatalog",
        schema=env["DBT_ATHENA_SCHEMA"],
        region_name=env["DBT_ATHENA_REGION"],
        s3_staging_dir=env["DBT_ATHENA_S3_STAGING_DIR"],
        work_group=env["DBT_ATHENA_WORKGROUP"],
        num_retries=0,
    )
    with standin.environment():
        return AthenaConnection(credentials).connect().cursor()


def fails(standin: AthenaStandIn, sql: str) -> str:
    """Athena's error text for a statement dbt-athena's cursor sends, which must fail."""
    from dbt.adapters.athena.exceptions import AthenaQueryFailedError

    with standin.environment(), pytest.raises(AthenaQueryFailedError) as failure:
        cursor(standin).execute(sql)
    # dbt's str() adds "Runtime Error" and indentation
    return str(failure.value.msg)
