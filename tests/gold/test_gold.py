"""The gold layer: dbt build on DuckDB, incremental == full refresh, reconciliation, the Athena target offline,
lint and docs. Tiny silver lakes are written by conftest.py in the silver contract's exact Parquet types."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from bench.baselines.gold_duckdb import contract_columns, run_gold_duckdb
from lakehouse.dbt import REPO, DbtError, run_dbt
from tests.gold.helpers import (
    base_orders,
    build,
    dbt_args,
    late_and_corrected_orders,
    read_tables,
    write_silver,
)

pytestmark = pytest.mark.dbt

MARK = "2026-02-20 08:00:00"
MARTS = ("gold_orders", "fct_orders", "dim_customers", "dim_products", "fct_country_monthly_kpis")
ATHENA_ENV = {
    "DBT_ATHENA_REGION": "eu-west-1",
    "DBT_ATHENA_S3_STAGING_DIR": "s3://placeholder-bucket/athena-results/",
    "DBT_ATHENA_S3_DATA_DIR": "s3://placeholder-bucket/gold/",
    "DBT_ATHENA_WORKGROUP": "placeholder",
    "DBT_ATHENA_SCHEMA": "lakehouse_dev_gold",
    "DBT_ATHENA_SILVER_DATABASE": "lakehouse_dev_silver",
    "DBT_ENV": "dev",
    "DBT_DEV_PREFIX": "ci",
    # no AWS access: fake credentials, no instance metadata lookups
    "AWS_ACCESS_KEY_ID": "placeholder",
    "AWS_SECRET_ACCESS_KEY": "placeholder",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def _copy_lake(lake: Path, into: Path) -> Path:
    shutil.copytree(lake, into / "lake")
    return into / "lake"


def test_build_is_green_and_gold_lands_in_schema_gold(built_lake: Path) -> None:
    with duckdb.connect(str(built_lake / "warehouse.duckdb"), read_only=True) as con:
        gold = {
            t
            for (t,) in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'gold'"
            ).fetchall()
        }
        assert set(MARTS) <= gold
        silver_rows = con.execute("select count(*) from silver.silver_orders").fetchone()[0]
        rejected_rows = con.execute("select count(*) from silver.silver_orders_rejected").fetchone()[0]
        gold_orders = con.execute("select sum(order_count) from gold.gold_orders").fetchone()[0]
    assert silver_rows == gold_orders == len(base_orders())
    # no rejected file yet: an empty view, not an error
    assert rejected_rows == 0


def baseline_column_mismatch(mart: str, baseline: list[str]) -> str | None:
    """One line naming a column the baseline lacks (or has beyond the contract), and the file to add it to."""
    contract = contract_columns(mart)
    missing = [c for c in contract if c not in baseline]
    extra = [c for c in baseline if c not in contract]
    if missing:
        return (
            f"{mart}.{missing[0]} is in the contract (models/marts/{mart}.yml) but bench/baselines/gold_duckdb.py "
            f"does not compute it: add it to MARTS['{mart}'] there"
        )
    if extra:
        return (
            f"{mart}.{extra[0]} is computed by bench/baselines/gold_duckdb.py but not in the contract "
            f"(models/marts/{mart}.yml): remove it from MARTS['{mart}'] there"
        )
    return None


def test_marts_equal_the_plain_duckdb_baseline(built_lake: Path, tmp_path: Path) -> None:
    """The benchmark baseline computes the same marts as dbt: same rows, same types, on the contract's columns."""
    run_gold_duckdb(built_lake / "silver", tmp_path / "baseline.duckdb")
    with duckdb.connect(str(built_lake / "warehouse.duckdb"), read_only=True) as con:
        con.execute(f"attach '{tmp_path / 'baseline.duckdb'}' as baseline (read_only)")
        for mart in MARTS:
            baseline = [
                name
                for (name,) in con.execute(
                    "select column_name from duckdb_columns() where database_name = 'baseline' "
                    "and schema_name = 'gold' and table_name = ? order by column_index",
                    [mart],
                ).fetchall()
            ]
            mismatch = baseline_column_mismatch(mart, baseline)
            if mismatch:
                pytest.fail(mismatch, pytrace=False)
            columns = ", ".join(contract_columns(mart))
            diff = con.execute(
                f"select count(*) from ((select {columns} from gold.{mart} except all "
                f"select {columns} from baseline.gold.{mart}) union all (select {columns} from baseline.gold.{mart} "
                f"except all select {columns} from gold.{mart}))"
            ).fetchone()[0]
            assert diff == 0, mart


def test_a_column_the_baseline_lacks_is_one_line_naming_it_and_the_file() -> None:
    contract = contract_columns("fct_orders")
    line = baseline_column_mismatch("fct_orders", contract[:-1])
    assert line is not None and "\n" not in line
    assert f"fct_orders.{contract[-1]}" in line and "bench/baselines/gold_duckdb.py" in line
    assert baseline_column_mismatch("fct_orders", contract) is None


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The base and the late and corrected orders, built with --full-refresh: what every incremental path must give."""
    fresh = tmp_path_factory.mktemp("fresh") / "lake"
    write_silver(fresh, base_orders() + late_and_corrected_orders(base_orders()))
    build(fresh, "--full-refresh")
    return fresh


def test_incremental_run_equals_full_refresh_after_late_and_corrected_orders(
    built_lake: Path, refreshed: Path, tmp_path: Path
) -> None:
    base = base_orders()
    late = late_and_corrected_orders(base)
    lake = _copy_lake(built_lake, tmp_path / "incremental")
    before = read_tables(lake, MARTS)
    write_silver(lake, base + late)

    result = run_dbt(["build", *dbt_args(lake.parent)], lake)
    compiled = {
        r.node.name: r.node.compiled_code for r in result.result.results if r.node.resource_type == "model"
    }
    assert "changed_grains" in compiled["gold_orders"], "the second build must run incrementally"
    merges = (lake.parent / "logs" / "dbt.log").read_text().split("MERGE INTO")[1:]
    pruned = {
        m.split()[0].split(".")[-1].strip('"')
        for m in merges
        if "DBT_INTERNAL_DEST.order_date in (cast(" in m
    }
    assert pruned == {"fct_orders", "gold_orders"}, (
        "the merges read only the target's order dates the run touches"
    )
    by_month = {
        m.split()[0].split(".")[-1].strip('"')
        for m in merges
        if "DBT_INTERNAL_DEST.order_month in (cast(" in m
    }
    assert by_month == {"int_customer_months", "int_product_months"}, (
        "the monthly aggregates' merges read only the target's months the run touches"
    )
    incremental = read_tables(lake, MARTS)
    assert incremental != before

    fresh = refreshed
    full = read_tables(fresh, MARTS)
    for mart in MARTS:
        assert incremental[mart] == full[mart], f"{mart}: incremental run differs from a full refresh"

    # the scenario really exercised what it claims to
    with duckdb.connect(str(fresh / "warehouse.duckdb"), read_only=True) as con:

        def one(sql: str, *params: object) -> tuple | None:
            return con.execute(sql, list(params)).fetchone()

        corrected = one("select quantity from gold.fct_orders where order_id = ?", base[10][0])
        c500 = one("select first_order_date from gold.dim_customers where customer_id = 'C500'")
        moved = one(
            "select order_date, customer_id, country, product from gold.fct_orders where order_id = 'O00501'"
        )
        left_behind = {
            "gold_orders": one("select count(*) from gold.gold_orders where order_date = '2025-12-20'"),
            "kpis": one(
                "select count(*) from gold.fct_country_monthly_kpis where order_month = '2025-12-01'"
            ),
            "dim_customers": one("select count(*) from gold.dim_customers where customer_id = 'C501'"),
            "dim_products": one("select order_count from gold.dim_products where product_code = 'P020'"),
        }
        c010 = one("select first_order_date from gold.dim_customers where customer_id = 'C010'")
    assert corrected == (base[10][5] + 7,)
    assert str(c500[0]) == "2026-01-28"
    assert moved is not None and (str(moved[0]), *moved[1:]) == ("2026-01-30", "C600", "IT", "P019")
    assert left_behind == dict.fromkeys(left_behind, (0,)), left_behind
    # its first order moved to February
    assert str(c010[0]) > "2026-01-25"
    # ... and those grains were there before the incremental build
    assert [r for r in before["dim_customers"] if r[0] == "C501"]
    assert [r for r in before["gold_orders"] if str(r[0]) == "2025-12-20"]


def test_a_build_of_fct_orders_and_its_marts_alone_keeps_fct_orders_right_and_the_next_build_catches_up(
    built_lake: Path, refreshed: Path, tmp_path: Path
) -> None:
    """`dbt build -s fct_orders+` leaves the order-version log behind: fct_orders must still merge the corrections
    without a duplicate (its merge then reads the whole target), the marts take the new and late orders, the
    grains the moved orders left are caught by the reconciliation, and the next whole build, the log catching up,
    brings every mart to the full refresh."""
    lake = _copy_lake(built_lake, tmp_path)
    write_silver(lake, base_orders() + late_and_corrected_orders(base_orders()))
    full = read_tables(refreshed, MARTS)

    with pytest.raises(DbtError) as failure:
        build(lake, "--select", "fct_orders+")
    assert "1 node(s): assert_gold_reconciles_with_silver (fail" in str(failure.value)
    assert read_tables(lake, ["fct_orders"])["fct_orders"] == full["fct_orders"]
    build(lake)
    after = read_tables(lake, MARTS)
    for mart in MARTS:
        assert after[mart] == full[mart], f"{mart}: differs from a full refresh"


def test_reconciliation_test_fails_when_gold_is_tampered(built_lake: Path, tmp_path: Path) -> None:
    lake = _copy_lake(built_lake, tmp_path)
    with duckdb.connect(str(lake / "warehouse.duckdb")) as con:
        con.execute(
            "update gold.gold_orders set total_revenue = total_revenue + 0.01 "
            "where order_date = (select min(order_date) from gold.gold_orders)"
        )
    with pytest.raises(DbtError) as failure:
        run_dbt(["test", "--select", "assert_gold_reconciles_with_silver", *dbt_args(tmp_path)], lake)
    assert "assert_gold_reconciles_with_silver" in str(failure.value)
    assert "\n" not in str(failure.value)


@pytest.fixture(scope="module")
def athena(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`dbt parse` and `dbt compile` on the Athena target with placeholder settings and no AWS access."""
    work = tmp_path_factory.mktemp("athena")
    saved = {key: os.environ.get(key) for key in ATHENA_ENV}
    os.environ.update(ATHENA_ENV)
    try:
        run_dbt(["parse", *dbt_args(work)], work / "lake", target="athena")
        # with the data-test windows an incremental build would use (macros/test_window.sql)
        preview = ["--vars", f"{{test_window_preview: '{MARK}'}}"]
        run_dbt(
            ["compile", "--no-populate-cache", "--no-introspect", *preview, *dbt_args(work)],
            work / "lake",
            target="athena",
        )
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
    return work / "target"


def test_athena_marts_are_iceberg_merge_in_per_environment_databases(athena: Path) -> None:
    manifest = json.loads((athena / "manifest.json").read_text())
    for mart in MARTS:
        node = manifest["nodes"][f"model.lakehouse.{mart}"]
        config = node["config"]
        assert config["materialized"] == "incremental"
        assert config["table_type"] == "iceberg" and config["format"] == "parquet"
        assert config["incremental_strategy"] == "merge" and config["unique_key"]
        assert config["contract"]["enforced"] and config["on_schema_change"] == "fail"
        assert node["schema"] == "lakehouse_dev_ci_gold"
    assert manifest["nodes"]["model.lakehouse.gold_orders"]["config"]["partitioned_by"] == [
        "month(order_date)"
    ]
    source = manifest["sources"]["source.lakehouse.silver.silver_orders"]
    assert source["schema"] == "lakehouse_dev_silver"


def test_athena_compiled_sql_reads_the_glue_tables(athena: Path) -> None:
    compiled = athena / "compiled" / "lakehouse" / "models"
    stg = (compiled / "staging" / "stg_orders.sql").read_text()
    assert '"lakehouse_dev_silver"."silver_orders"' in stg and "read_parquet" not in stg
    gold = (compiled / "marts" / "gold_orders.sql").read_text()
    assert '"lakehouse_dev_ci_gold"."fct_orders"' in gold
    assert "::" not in "".join(p.read_text() for p in compiled.rglob("*.sql"))


def test_athena_data_test_windows_are_trino_sql(athena: Path) -> None:
    """The windows of incremental builds' data tests, rendered for Athena: Trino's date_add, a row-value IN."""
    tests = athena / "compiled" / "lakehouse" / "models" / "marts" / "fct_orders.yml"
    start = f"date_add('day', -3, cast('{MARK}' as timestamp(6)))"
    unique = " ".join((tests / "unique_fct_orders_order_id.sql").read_text().split())
    assert (
        '(order_id) in (select order_id from "awsdatacatalog"."lakehouse_dev_ci_gold"."fct_orders" '
        f"where ingested_at > {start})"
    ) in unique
    not_null = " ".join((tests / "not_null_fct_orders_order_id.sql").read_text().split())
    assert f"where (ingested_at > {start})" in not_null and "interval" not in not_null


@pytest.mark.parametrize("warehouse", ["empty", "built"])
def test_sqlfluff_finds_no_violation(built_lake: Path, warehouse: str) -> None:
    """Linted twice: against an empty warehouse (models render their full-refresh SQL) and a built one (the
    marts exist, so their incremental branch is rendered and linted too)."""
    lake = built_lake if warehouse == "built" else built_lake.parent / "lint-lake"
    lake.mkdir(exist_ok=True)
    env = {**os.environ, "LAKEHOUSE_LAKE": str(lake)}
    lint = subprocess.run(
        [str(Path(sys.executable).parent / "sqlfluff"), "lint", "models", "macros", "data-tests", "analyses"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout[-3000:] + lint.stderr[-3000:]


def test_docs_generate_and_every_model_and_column_is_described(built_lake: Path, tmp_path: Path) -> None:
    run_dbt(["docs", "generate", *dbt_args(tmp_path)], built_lake)
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    catalog = json.loads((tmp_path / "target" / "catalog.json").read_text())
    undocumented = []
    for unique_id, node in manifest["nodes"].items():
        if node["resource_type"] not in ("model", "seed"):
            continue
        if not node["description"].strip():
            undocumented.append(unique_id)
        documented = {name for name, column in node["columns"].items() if column["description"].strip()}
        for column in catalog["nodes"].get(unique_id, {}).get("columns", {}):
            if column.lower() not in documented:
                undocumented.append(f"{unique_id}.{column}")
    assert not undocumented


def test_a_changed_column_on_an_incremental_mart_is_one_line_with_the_full_refresh_command(
    built_lake: Path, tmp_path: Path
) -> None:
    """An analyst adds a column to a mart and runs `dbt build -s gold_orders`: the incremental run stops with the
    project's one line and the command, not dbt's twenty lines suggesting append_new_columns. The built table
    lacks a column the model now selects, as it would after an edit of the SQL and the YAML."""
    lake = _copy_lake(built_lake, tmp_path)
    with duckdb.connect(str(lake / "warehouse.duckdb")) as con:
        con.execute("alter table gold.gold_orders drop column total_quantity")
    expected = (
        "gold_orders: its columns changed since it was built (added: total_quantity); an incremental build would "
        "leave the old rows without them: rebuild it and what depends on it with "
        "dbt build -s gold_orders+ --full-refresh"
    )

    with pytest.raises(DbtError) as failed:
        run_dbt(["build", "-s", "gold_orders", *dbt_args(tmp_path)], lake)
    assert expected in str(failed.value) and "\n" not in str(failed.value)

    plain = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "build", "-s", "gold_orders", *dbt_args(tmp_path)],
        cwd=REPO,
        env={**os.environ, "LAKEHOUSE_LAKE": str(lake), "DBT_PROFILES_DIR": str(REPO / "profiles")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert plain.returncode != 0
    assert expected in plain.stdout
    assert "append_new_columns" not in plain.stdout
