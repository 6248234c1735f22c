"""`dbt build --target athena` end to end through the Athena stand-in (lakehouse/athena_local/standin.py), compared with the
local target mart for mart: seed + build, an incremental build after new, late and corrected orders (MERGE), and
a full refresh. One stand-in for the module; the scenario runs once and the tests read what it left."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import sqlglot

from lakehouse.athena_local.catalog import as_prefix, split_s3
from lakehouse.athena_local.outcome import AthenaQueryError
from lakehouse.athena_local.standin import AthenaStandIn
from lakehouse.dbt import REPO, DbtError
from tests.athena.helpers import Build, build_both, dbt_args, scenario
from tests.athena.helpers import cursor as _cursor
from tests.athena.helpers import fails as _fails
from tests.infra.helpers import Resolver, load_template

pytestmark = [pytest.mark.dbt, pytest.mark.filterwarnings("ignore:Tried to parse AWS::")]


@pytest.fixture(scope="module")
def builds(standin: AthenaStandIn, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Build]:
    work = tmp_path_factory.mktemp("athena-build")
    lake = work / "lake"
    first, second = scenario()
    return {
        "first": build_both(standin, lake, work, "first", first),
        "incremental": build_both(standin, lake, work, "incremental", second, after="first"),
        "full_refresh": build_both(
            standin, lake, work, "full-refresh", second, "--full-refresh", after="incremental"
        ),
    }


@pytest.mark.parametrize("step", ["first", "incremental", "full_refresh"])
def test_every_mart_on_athena_equals_the_local_mart(builds: dict[str, Build], step: str) -> None:
    comparison = builds[step].comparison
    assert len(comparison.marts) >= 5, comparison.marts
    # nothing compared empty with empty
    assert all(comparison.rows.values()), comparison.rows
    assert comparison.differences == {}


def test_the_incremental_build_on_athena_equals_a_full_refresh(builds: dict[str, Build]) -> None:
    """On the stand-in itself, the marts the incremental build (MERGE) left equal those a full refresh
    of the same silver builds, mart for mart, row for row."""
    incremental, full = builds["incremental"].comparison.athena, builds["full_refresh"].comparison.athena
    assert len(full) >= 5 and sorted(incremental) == sorted(full)
    differing = [name for name in full if incremental[name] != full[name]]
    assert not differing, differing


def test_the_builds_ran_dbt_athenas_seeds_iceberg_ctas_and_merge(builds: dict[str, Build]) -> None:
    first, incremental, full = (builds[s].statements for s in ("first", "incremental", "full_refresh"))
    assert not [s for s in first + incremental + full if s.status != "ok"]

    def kinds(statements: list[Any]) -> set[str]:
        return {s.kind for s in statements}

    seeds = [s for s in first if "seed.lakehouse." in s.sql and s.kind.startswith("ctas")]
    assert {s.kind for s in seeds} == {"ctas_iceberg"} and len(seeds) == 2
    assert any("month(order_date)" in s.sql for s in first if s.kind == "ctas_iceberg")
    assert {"ctas_iceberg", "create_view", "create_external_table", "select"} <= kinds(first)
    assert "merge" not in kinds(first)
    merges = [s for s in incremental if s.kind == "merge"]
    assert len(merges) >= 5 and all(s.sql.lstrip().lower().startswith(("-- /*", "merge")) for s in merges)
    assert "merge" not in kinds(full) and "ctas_iceberg" in kinds(full)


def test_the_incremental_build_rendered_the_incremental_branch(builds: dict[str, Build]) -> None:
    compiled = builds["incremental"].compiled
    assert "changed_grains" in compiled["gold_orders"]
    assert "changed_grains" not in builds["full_refresh"].compiled["gold_orders"]
    # the merges read only the order dates the run touches, and delete the grains corrections emptied
    merges = {
        s.sql.split("merge into")[1].split()[0].split(".")[-1].strip('"'): s.sql
        for s in builds["incremental"].statements
        if s.kind == "merge"
    }
    assert all("target.order_date in (cast(" in merges[m] for m in ("fct_orders", "gold_orders"))
    assert all(
        "then delete" in merges[m] for m in ("gold_orders", "dim_customers", "fct_country_monthly_kpis")
    )


def test_the_incremental_build_read_only_the_correction_dates_on_athena(builds: dict[str, Build]) -> None:
    """On Athena too, the log's probe and the unique tests on order_id read the window's order
    dates and the correction horizon, as literals Athena prunes partitions and Iceberg files on; the full refresh
    reads everything. Its marts equal the local ones (above), which equal a full refresh (tests/gold)."""
    probe = builds["incremental"].compiled["int_order_versions"]
    assert "where order_date in (cast('" in " ".join(probe.split()), probe
    unique_tests = [
        " ".join(s.sql.split())
        for s in builds["incremental"].statements
        if "unique_field" in s.sql and "order_id as unique_field" in " ".join(s.sql.split())
    ]
    assert unique_tests and all("and order_date in (cast('" in sql for sql in unique_tests), unique_tests
    swept = [
        s.sql
        for s in builds["full_refresh"].statements
        if "order_id as unique_field" in " ".join(s.sql.split())
    ]
    assert swept and not any("order_date in (cast('" in sql for sql in swept)


@pytest.mark.parametrize("step", ["first", "incremental"])
def test_athena_sql_of_both_branches_parses_as_athena(builds: dict[str, Build], step: str) -> None:
    """The full-refresh (first build) and incremental (second build) SQL dbt rendered for Athena, each model."""
    compiled = builds[step].compiled
    assert len(compiled) >= 9
    for name, sql in compiled.items():
        assert sqlglot.parse_one(sql, read="athena", error_level=sqlglot.ErrorLevel.RAISE), name


def test_every_table_dbt_built_lives_in_the_lake_prefix_no_lifecycle_rule_expires(
    builds: dict[str, Build], standin: AthenaStandIn
) -> None:
    """A Hive seed in the enforcing workgroup lands under athena-results/tables/<query-id>/,
    which the stack's lifecycle rule expires; the reference tables then read empty."""
    glue = standin.client("glue")
    # moto's CloudFormation does not apply a bucket's lifecycle rules: read them
    template = load_template()
    lifecycle = Resolver(template).resolve(
        template["Resources"]["LakeBucket"]["Properties"]["LifecycleConfiguration"]
    )
    expiring = [
        r.get("Prefix", "")
        for r in lifecycle["Rules"]
        if r["Status"] == "Enabled" and "ExpirationInDays" in r
    ]
    assert "athena-results/" in expiring
    data_dir = standin.dbt_env()["DBT_ATHENA_S3_DATA_DIR"]
    checked = 0
    for database in ("lakehouse_dev_reference", "lakehouse_dev_gold"):
        for table in glue.get_tables(DatabaseName=database)["TableList"]:
            if table["TableType"] == "VIRTUAL_VIEW":
                continue
            location = table["StorageDescriptor"]["Location"]
            _, key = split_s3(as_prefix(location))
            assert as_prefix(location).startswith(data_dir), (table["Name"], location)
            assert not [p for p in expiring if key.startswith(p)], (table["Name"], location)
            checked += 1
    assert checked >= 7
    _, rows = standin.read("lakehouse_dev_reference", "countries")
    assert len(rows) == len((REPO / "seeds" / "countries.csv").read_text().strip().splitlines()) - 1


def test_seed_values_are_loaded_as_written_not_truncated(standin: AthenaStandIn, tmp_path: Path) -> None:
    """A seed column typed varchar(n) is truncated silently by Athena's cast (DuckDB ignores
    the length). A project copy whose countries seed holds a 3-letter code: Athena must load it as written, and
    the seed's data test must reject it (on both engines)."""
    project = tmp_path / "project"
    project.mkdir()
    for item in ("dbt_project.yml", "models", "macros", "data-tests", "seeds", "profiles"):
        (shutil.copytree if (REPO / item).is_dir() else shutil.copy)(REPO / item, project / item)
    csv_path = project / "seeds" / "countries.csv"
    csv_path.write_text(
        csv_path.read_text().replace("\nDE,Germany,Europe,EUR,", "\nDEU,Germany,Europe,EURO,")
    )
    from dbt.cli.main import dbtRunner

    def dbt(*args: str, target: str) -> Any:
        return dbtRunner().invoke(
            [
                *args,
                "--project-dir",
                str(project),
                "--profiles-dir",
                str(project / "profiles"),
                "--target",
                target,
                *dbt_args(tmp_path / target),
            ]
        )

    with standin.environment(DBT_DEV_PREFIX="seedcheck", LAKEHOUSE_LAKE=str(tmp_path / "lake")):
        assert dbt("seed", "--select", "countries", target="athena").success
        _, rows = standin.read("lakehouse_dev_seedcheck_reference", "countries")
        tested = dbt("test", "--select", "countries", target="athena")
    assert ("DEU", "Germany", "Europe", "EURO", 11) in rows
    assert not tested.success
    failed = {r.node.name for r in tested.result.results if str(r.status) == "fail"}
    assert failed == {"countries_codes_are_iso_length"}, failed


DAYS_101 = "select date_add('day', n, date '2026-01-01') as day, n from unnest(sequence(0, 100)) as t(n)"


@pytest.mark.parametrize(
    ("sql", "error"),
    [
        (
            "select strftime(current_date, '%Y') as y",
            "FUNCTION_NOT_FOUND: line 1:1: Function 'strftime' not registered",
        ),
        ("select 1::bigint as one", "SYNTAX_ERROR"),
        (
            "create table lakehouse_dev_gold.by_day with (table_type='hive', partitioned_by=ARRAY['day'])"
            f" as select n, day from ({DAYS_101})",
            "HIVE_TOO_MANY_OPEN_PARTITIONS: Exceeded limit of 100 open writers for partitions/buckets",
        ),
        (
            "create table lakehouse_dev_gold.by_day with (table_type='iceberg', location='s3://{bucket}/gold/by_day',"
            f" partitioning=ARRAY['day']) as select n, day from ({DAYS_101})",
            "ICEBERG_TOO_MANY_OPEN_PARTITIONS",
        ),
        (
            "create table lakehouse_dev_gold.t with (table_type='hive', external_location='s3://{bucket}/gold/t')"
            " as select 1 as a",
            "submitted with an 'external_location' property to an Athena Workgroup that enforces",
        ),
        ("create table lakehouse_dev_gold.t with (table_type='iceberg') as select 1 as a", "location"),
        (
            "create table lakehouse_dev_gold.t with (table_type='iceberg', location='s3://{bucket}/silver/')"
            " as select 1 as a",
            "HIVE_PATH_ALREADY_EXISTS: Target directory for table 'lakehouse_dev_gold.t' already exists",
        ),
        ("select * from lakehouse_dev_gold.no_such_table", "TABLE_NOT_FOUND"),
        (
            "create table lakehouse_dev_gold.t with (table_type='iceberg', location='s3://{bucket}/gold/ts3/')"
            " as select cast('2026-01-01 10:00:00.123456' as timestamp) as at",
            'NOT_SUPPORTED: Timestamp precision (3) not supported for Iceberg. Use "timestamp(6)" instead.',
        ),
        (
            "update lakehouse_dev_silver.silver_orders set quantity = 0",
            "NOT_SUPPORTED: UPDATE is only supported for Iceberg tables",
        ),
        (
            "alter table lakehouse_dev_silver.silver_orders drop column quantity",
            "NOT_SUPPORTED: DROP COLUMN is only supported for Iceberg tables",
        ),
    ],
)
def test_the_standin_fails_what_athena_fails(
    standin: AthenaStandIn, builds: dict[str, Build], sql: str, error: str
) -> None:
    assert error in _fails(standin, sql.format(bucket=standin.bucket))


def test_a_model_with_a_duckdb_only_function_fails_on_athena_and_runs_locally(
    standin: AthenaStandIn, builds: dict[str, Build], tmp_path: Path
) -> None:
    from lakehouse.dbt import run_dbt

    inline = "select strftime(order_date, '%Y-%m') as month from {{ ref('fct_orders') }}"
    lake = tmp_path / "lake"
    with standin.environment(), pytest.raises(DbtError):
        run_dbt(["show", "--inline", inline, *dbt_args(tmp_path)], lake, target="athena")
    assert standin.statements[-1].status == "FUNCTION_NOT_FOUND: line 1:1: Function 'strftime' not registered"


def test_partition_projection_hides_order_dates_outside_its_range(standin: AthenaStandIn) -> None:
    """A partition outside projection.order_date.range is invisible on Athena."""
    s3 = standin.client("s3")
    key = "silver/silver_orders/order_date=2019-12-31/part-0.parquet"
    visible = "silver/silver_orders/order_date=2026-01-25/"
    source = s3.list_objects_v2(Bucket=standin.bucket, Prefix=visible)["Contents"][0]["Key"]
    s3.copy_object(Bucket=standin.bucket, Key=key, CopySource={"Bucket": standin.bucket, "Key": source})
    try:
        _, rows = standin.read("lakehouse_dev_silver", "silver_orders")
        dates = {str(row[-1]) for row in rows}
        assert "2026-01-25" in dates and "2019-12-31" not in dates
    finally:
        s3.delete_object(Bucket=standin.bucket, Key=key)


def test_rename_moves_an_iceberg_table_and_keeps_its_data(
    standin: AthenaStandIn, builds: dict[str, Build]
) -> None:
    glue = standin.client("glue")
    with standin.environment():
        cursor = _cursor(standin)
        cursor.execute(
            "create table lakehouse_dev_gold.before_rename with (table_type='iceberg',"
            f" location='s3://{standin.bucket}/gold/rename-check/') as select 1 as a"
        )
        cursor.execute(
            "alter table `lakehouse_dev_gold`.`before_rename` rename to `lakehouse_dev_gold`.`renamed`"
        )
        cursor.execute("select a from lakehouse_dev_gold.renamed")
        assert cursor.fetchall() == [(1,)]
        cursor.execute("drop table `lakehouse_dev_gold`.`renamed`")
    names = {t["Name"] for t in glue.get_tables(DatabaseName="lakehouse_dev_gold")["TableList"]}
    assert not {"before_rename", "renamed"} & names
    assert standin.statements[-3].kind == "rename"


def test_statement_log_file_holds_every_statement(standin: AthenaStandIn, builds: dict[str, Build]) -> None:
    assert standin.statement_log is not None
    text = standin.statement_log.read_text()
    assert text.count("\n-- [") + text.startswith("-- [") == len(standin.statements)
    # the summary the report prints
    assert json.dumps({"kinds": dict(standin.counts())})


def test_a_query_error_is_athenas_text_not_a_traceback(standin: AthenaStandIn) -> None:
    assert issubclass(AthenaQueryError, Exception)
    message = _fails(standin, "select from where")
    assert "\n" not in message and message.startswith(("SYNTAX_ERROR", "GENERIC_USER_ERROR"))


def _iceberg_table(standin: AthenaStandIn, schema: str, select: str) -> Any:
    """dbt-athena's cursor, after it created `<schema>.t`, an Iceberg table of `select`, in a new schema."""
    with standin.environment():
        cursor = _cursor(standin)
        cursor.execute(f"create schema if not exists {schema}")
        location = f"s3://{standin.bucket}/gold/{schema}/t/"
        cursor.execute(
            f"create table {schema}.t with (table_type='iceberg', location='{location}') as {select}"
        )
    return cursor


def test_drop_schema_names_the_schema_with_its_catalog(
    standin: AthenaStandIn, builds: dict[str, Build]
) -> None:
    """dbt-athena drops a schema as `awsdatacatalog`.`<schema>`: the schema is the name's last part, and CASCADE
    drops its tables (the stand-in passed an empty table part to Glue, a raw botocore error)."""
    glue = standin.client("glue")
    _iceberg_table(standin, "dropcheck", "select 1 as a")
    assert "SCHEMA_NOT_EMPTY" in _fails(standin, "drop schema `awsdatacatalog`.`dropcheck`")
    with standin.environment():
        _cursor(standin).execute("drop schema if exists `awsdatacatalog`.`dropcheck` cascade")
        _cursor(standin).execute("drop schema if exists `awsdatacatalog`.`dropcheck` cascade")
    assert "dropcheck" not in {d["Name"] for d in glue.get_databases()["DatabaseList"]}


def test_iceberg_schema_evolution_keeps_the_values(standin: AthenaStandIn, builds: dict[str, Build]) -> None:
    """ADD COLUMNS, UPDATE and CHANGE COLUMN on an Iceberg table, as dbt-athena's on_schema_change and its column
    type change send them: a renamed column keeps its values, the added one is null until updated."""
    cursor = _iceberg_table(standin, "evolvecheck", "select 1 as a union all select 2")
    with standin.environment():
        cursor.execute("alter table evolvecheck.t add columns (a__dbt_alter bigint)")
        cursor.execute("update evolvecheck.t set a__dbt_alter = cast(a as bigint) * 10 where a = 2")
        cursor.execute("alter table evolvecheck.t change column a__dbt_alter b bigint")
        cursor.execute("show columns from evolvecheck.t")
        columns = [row[0] for row in cursor.fetchall()]
        cursor.execute("select a, b from evolvecheck.t order by a")
        rows = cursor.fetchall()
        cursor.execute("drop schema `awsdatacatalog`.`evolvecheck` cascade")
    assert columns == ["a", "b"]
    assert rows == [(1, None), (2, 20)]
