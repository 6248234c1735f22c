"""Where Athena bites and the stand-in must too: the bytes a query scans and the workgroup's cutoff on
them, MERGE's one-source-row-per-target-row rule, the 100-partitions-per-write limit on MERGE and INSERT (and
dbt-athena's batching around it)."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from lakehouse.athena_local.catalog import split_s3
from lakehouse.athena_local.scan import CUTOFF_EXCEEDED
from lakehouse.athena_local.standin import AthenaStandIn
from tests.athena.helpers import cursor, fails

pytestmark = [pytest.mark.dbt, pytest.mark.filterwarnings("ignore:Tried to parse AWS::")]

GOLD = "lakehouse_dev_gold"
DAYS_101 = "select date_add('day', n, date '2026-01-01') as day, n from unnest(sequence(0, 100)) as t(n)"


def run(standin: AthenaStandIn, sql: str) -> int:
    """Run a statement through dbt-athena's cursor; the bytes it scanned, as GetQueryExecution reports them."""
    with standin.environment():
        athena = cursor(standin)
        athena.execute(sql)
        return int(athena.data_scanned_in_bytes)


def iceberg(standin: AthenaStandIn, name: str, select: str, partitioning: str = "") -> None:
    """A fresh Iceberg table of the gold database holding the rows of `select`."""
    spec = f", partitioning=ARRAY['{partitioning}']" if partitioning else ""
    run(standin, f"drop table if exists {GOLD}.{name}")
    run(
        standin,
        f"create table {GOLD}.{name} with (table_type='iceberg',"
        f" location='s3://{standin.bucket}/gold/strict/{name}/'{spec}) as {select}",
    )


def column_bytes(standin: AthenaStandIn, name: str) -> dict[str, int]:
    """Each column's compressed bytes over the table's data files, read straight from S3."""
    table = standin.client("glue").get_table(DatabaseName=GOLD, Name=name)["Table"]
    bucket, prefix = split_s3(table["StorageDescriptor"]["Location"])
    s3 = standin.client("s3")
    sizes: dict[str, int] = {}
    for obj in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]:
        if not obj["Key"].endswith(".parquet"):
            continue
        data = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
        metadata = pq.ParquetFile(io.BytesIO(data)).metadata
        for group in range(metadata.num_row_groups):
            for index in range(metadata.num_columns):
                column = metadata.row_group(group).column(index)
                sizes[column.path_in_schema] = (
                    sizes.get(column.path_in_schema, 0) + column.total_compressed_size
                )
    return sizes


def test_a_query_scans_the_compressed_bytes_of_the_columns_it_reads(standin: AthenaStandIn) -> None:
    iceberg(
        standin,
        "scanned",
        "select n, md5(to_utf8(cast(n as varchar))) as payload from unnest(sequence(1, 5000)) as t(n)",
    )
    sizes = column_bytes(standin, "scanned")
    assert run(standin, f"select sum(n) from {GOLD}.scanned") == sizes["n"]
    assert run(standin, f"select * from {GOLD}.scanned") == sizes["n"] + sizes["payload"]
    assert run(standin, f"select count(*) from {GOLD}.scanned") == 0
    logged = standin.statements[-1]
    assert (logged.kind, logged.scanned_bytes) == ("select", 0)
    assert standin.statement_log is not None
    assert f"scanned {sizes['n'] + sizes['payload']} bytes" in standin.statement_log.read_text()


def test_a_query_over_the_workgroup_cutoff_is_cancelled(standin: AthenaStandIn, cutoff: int) -> None:
    from dbt.adapters.athena.exceptions import AthenaQueryCancelledError

    iceberg(
        standin,
        "wide",
        "select n, to_hex(sha256(to_utf8(cast(n as varchar)))) as payload from unnest(sequence(1, 300000)) as t(n)",
    )
    assert column_bytes(standin, "wide")["payload"] > cutoff
    with pytest.raises(AthenaQueryCancelledError) as cancelled:
        run(standin, f"select max(payload) from {GOLD}.wide")
    assert CUTOFF_EXCEEDED in str(cancelled.value)
    assert standin.statements[-1].scanned_bytes > cutoff
    # the narrow column of the same table stays under it
    assert 0 < run(standin, f"select max(n) from {GOLD}.wide") <= cutoff


def test_merge_refuses_two_source_rows_for_one_target_row(standin: AthenaStandIn) -> None:
    iceberg(standin, "merged", "select 1 as id, 'old' as v")
    error = fails(
        standin,
        f"merge into {GOLD}.merged as target using (select * from (values (1, 'a'), (1, 'b')) as s(id, v)) as src"
        " on target.id = src.id when matched then update set v = src.v"
        " when not matched then insert (id, v) values (src.id, src.v)",
    )
    assert error == (
        "MERGE_TARGET_ROW_MULTIPLE_MATCHES: One MERGE target table row matched more than one source row"
    )
    _, rows = standin.read(GOLD, "merged")
    assert rows == [(1, "old")]


def test_merge_with_one_source_row_per_target_row_runs(standin: AthenaStandIn) -> None:
    iceberg(standin, "merged_once", "select 1 as id, 'old' as v")
    run(
        standin,
        f"merge into {GOLD}.merged_once as target using (select * from (values (1, 'a'), (2, 'b')) as s(id, v))"
        " as src on target.id = src.id when matched then update set v = src.v"
        " when not matched then insert (id, v) values (src.id, src.v)",
    )
    _, rows = standin.read(GOLD, "merged_once")
    assert sorted(rows) == [(1, "a"), (2, "b")]


def test_an_insert_or_merge_writing_101_partitions_fails(standin: AthenaStandIn) -> None:
    iceberg(standin, "by_day_ice", "select date '2025-01-01' as day, -1 as n", partitioning="day")
    insert = f"insert into {GOLD}.by_day_ice ({DAYS_101})"
    assert fails(standin, insert).startswith("ICEBERG_TOO_MANY_OPEN_PARTITIONS")
    merge = (
        f"merge into {GOLD}.by_day_ice as target using ({DAYS_101}) as src on target.n = src.n"
        " when matched then update set day = src.day when not matched then insert (day, n) values (src.day, src.n)"
    )
    assert fails(standin, merge).startswith("ICEBERG_TOO_MANY_OPEN_PARTITIONS")
    # 100 partitions are allowed
    run(standin, merge.replace("sequence(0, 100)", "sequence(0, 99)"))
    _, rows = standin.read(GOLD, "by_day_ice")
    assert len(rows) == 101


def test_a_model_of_101_partitions_builds_in_batches(standin: AthenaStandIn, tmp_path: Path) -> None:
    """dbt-athena catches TOO_MANY_OPEN_PARTITIONS and writes in batches of 100 partitions: a table model and an
    incremental (merge) model of 101 days build, their INSERT / MERGE batches under the limit."""
    from dbt.cli.main import dbtRunner

    from lakehouse.dbt import REPO

    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text(
        "name: batching\nversion: '1.0'\nconfig-version: 2\nprofile: lakehouse\n"
        "models:\n  batching:\n    +table_type: iceberg\n    +partitioned_by: ['day']\n"
    )
    (project / "models" / "days_table.sql").write_text(
        "{{ config(materialized='table') }}\n" + DAYS_101 + "\n"
    )
    (project / "models" / "days_merged.sql").write_text(
        "{{ config(materialized='incremental', incremental_strategy='merge', unique_key='n') }}\n"
        + DAYS_101
        + "\n{% if is_incremental() %} where n >= 0 {% endif %}\n"
    )

    # a copy of the profile: dbt writes its .user.yml next to the profile it reads
    shutil.copytree(REPO / "profiles", project / "profiles")
    args = ["--project-dir", str(project), "--profiles-dir", str(project / "profiles"), "--target", "athena"]
    before = len(standin.statements)
    with standin.environment(LAKEHOUSE_LAKE=str(tmp_path / "lake")):
        for _ in range(2):
            result = dbtRunner().invoke(["run", *args, "--target-path", str(tmp_path / "target")])
            assert result.success, [s for s in standin.statements[before:] if s.kind == "failed"][-1:]
    refused = [s for s in standin.statements[before:] if "TOO_MANY_OPEN_PARTITIONS" in s.status]
    # the table's CTAS and the incremental run's MERGE were refused, then written in batches
    assert {s.kind for s in refused} == {"failed"} and len(refused) >= 2, refused
    kinds = [s.kind for s in standin.statements[before:] if s.status == "ok"]
    assert kinds.count("merge") >= 2, kinds
    for model in ("days_table", "days_merged"):
        _, rows = standin.read(GOLD, model)
        assert sorted(r[-1] for r in rows) == list(range(101)), model


TYPED = "select day, n, cast(n as varchar) as s from unnest(sequence(0, 3)) as t(n), unnest(array[date '2026-01-01']) as u(day)"


@pytest.mark.parametrize(
    ("select", "error"),
    [
        (
            "select n from {t} where day = '2026-01-01'",
            "TYPE_MISMATCH: line 1:1: Cannot apply operator: date = varchar(10)",
        ),
        (
            "select n from (select day as d, n from {t}) where '2026-01-01' < d",
            "TYPE_MISMATCH: line 1:1: Cannot apply operator: varchar(10) < date",
        ),
        (
            "select 'n-' || n as label from {t}",
            "TYPE_MISMATCH: line 1:1: Unexpected parameters (varchar(2), bigint) for function concat",
        ),
        (
            "select day as d, count(*) as orders from {t} group by d",
            "COLUMN_NOT_FOUND: line 1:1: Column 'd' cannot be resolved",
        ),
    ],
)
def test_trino_strict_typing_refuses_what_duckdb_coerces(
    standin: AthenaStandIn, select: str, error: str
) -> None:
    iceberg(standin, "typed", TYPED)
    assert fails(standin, select.format(t=f"{GOLD}.typed")).startswith(error)


@pytest.mark.parametrize(
    "select",
    [
        "select n from {t} where day = date '2026-01-01'",
        "select n from {t} where cast(day as varchar) = '2026-01-01'",
        "select 'n-' || cast(n as varchar) as label, s || 'x' as sx from {t}",
        "select day, count(*) as orders from {t} group by day",
        "select day as d, count(*) as orders from {t} group by 1",
        # an alias that is also a column of the FROM clause: GROUP BY names the column
        "select upper(s) as s from {t} group by s",
    ],
)
def test_trino_strict_typing_runs_what_trino_runs(standin: AthenaStandIn, select: str) -> None:
    iceberg(standin, "typed", TYPED)
    run(standin, select.format(t=f"{GOLD}.typed"))
