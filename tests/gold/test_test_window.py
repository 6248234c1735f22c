"""Data tests that follow the new data (macros/test_window.sql): on an incremental build a test reads the rows the
builds since its last green run could have changed; a full sweep (--full-refresh, var full_test_sweep) reads all.

The lake: the base orders built whole (marks at 2026-02-08 06:00), then late and corrected orders ingested
2026-02-20 08:00 built incrementally (marks at 2026-02-20 08:00): the next window starts at 2026-02-17 08:00.
Two nulls planted in old rows before that build lie outside every window."""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from bench.synthetic_silver import add_silver_file
from lakehouse.dbt import DbtError, run_dbt
from tests.gold.helpers import (
    base_orders,
    dbt_args,
    from_snapshot,
    keep_snapshot,
    late_and_corrected_orders,
    write_silver,
)

pytestmark = pytest.mark.dbt

MARK = "2026-02-20 08:00:00"


@pytest.fixture(scope="module")
def windowed_lake(built_lake: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The lake after the incremental build, kept aside; every test gets a fresh copy of it at one same path, so
    dbt's partial parsing (keyed on the lake path, which the profile and the sources use) serves every run.

    Before that build, nulls are planted in rows ingested long before the window, one in silver (customer_id of
    the first order) and one in gold (category of the second): the build must pass, its tests not seeing them."""
    work = tmp_path_factory.mktemp("window")
    lake = work / "lake"
    shutil.copytree(built_lake, lake)
    base = base_orders()
    first = base[0]
    write_silver(lake, [(first[0], first[1], None, *first[3:]), *base[1:], *late_and_corrected_orders(base)])
    with duckdb.connect(str(lake / "warehouse.duckdb")) as con:
        con.execute("update gold.fct_orders set category = null where order_id = ?", [base[1][0]])
    run_dbt(["build", *dbt_args(work)], lake)
    return keep_snapshot(lake)


@pytest.fixture
def lake(windowed_lake: Path) -> Path:
    return from_snapshot(windowed_lake)


def dbt(lake: Path, *args: str) -> dict[str, dict]:
    """Run dbt; return {node name: its run result} whether it passed or not."""
    with contextlib.suppress(DbtError):
        run_dbt([*args, *dbt_args(lake.parent)], lake)
    results = json.loads((lake.parent / "target" / "run_results.json").read_text())["results"]
    return {r["unique_id"].split(".")[2]: r for r in results}


def failed(results: dict[str, dict]) -> set[str]:
    return {name for name, r in results.items() if r["status"] in ("fail", "error")}


def marks(lake: Path) -> dict[str, str]:
    with duckdb.connect(str(lake / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute("select tested, cast(verified_through as varchar) from staging.test_window_marks")
        return dict(rows.fetchall())


def test_a_green_build_marks_each_windowed_table_with_its_watermark(lake: Path) -> None:
    assert marks(lake) == {
        name: MARK
        for name in (
            "fct_orders",
            "int_order_versions",
            "dim_customers",
            "gold_orders",
            "int_customer_months",
            "stg_orders",
            "int_orders_enriched",
            # a singular test's own mark: the reconciliation's window (macros/reconciliation.sql)
            "assert_gold_reconciles_with_silver",
        )
    }


def test_tests_read_the_window_of_the_watermark_at_their_last_green_run(lake: Path) -> None:
    """`dbt run` merges a late file (ingested 2026-02-18, a null customer_id) and a new day (2026-02-25) without
    testing them. The next tests start at the last green mark (2026-02-17 08:00), not at the new watermark
    (2026-02-22), so they see the late null; and since they failed, so does the run after them."""
    add_silver_file(
        lake,
        [("O95001", "2026-02-10", None, "US", "P001", 1, "79.99", "2026-02-18 08:00:00")],
        "late.parquet",
    )
    add_silver_file(
        lake,
        [("O95002", "2026-02-24", "C001", "GB", "P003", 2, "24.99", "2026-02-25 06:00:00")],
        "day.parquet",
    )
    assert not failed(dbt(lake, "run"))

    first = dbt(lake, "test")
    assert {"not_null_stg_orders_customer_id", "not_null_fct_orders_customer_id"} <= failed(first)
    window = " ".join(first["not_null_fct_orders_customer_id"]["compiled_code"].split())
    assert f"where (ingested_at > (cast('{MARK}' as timestamp)" in window, window
    assert "(order_id) in (select order_id from" in first["unique_fct_orders_order_id"]["compiled_code"]
    assert marks(lake)["fct_orders"] == MARK, "a failed test must not move its table's mark"

    again = dbt(lake, "test", "--select", "fct_orders")
    assert "not_null_fct_orders_customer_id" in failed(again)


def test_a_duplicate_with_one_old_and_one_new_copy_is_caught(lake: Path) -> None:
    """The new copy is in the window, the old one (ingested 2026-01-26) is not: unique tests read every row whose
    key is among the window's keys."""
    old = base_orders()[3]
    new_copy = (old[0], "2026-02-19", *old[2:7], "2026-02-20 08:00:00")
    add_silver_file(lake, [new_copy], "copy.parquet")
    with duckdb.connect(str(lake / "warehouse.duckdb")) as con:
        con.execute(
            "insert into gold.fct_orders select * replace (cast('2026-02-20 08:00:00' as timestamp) as ingested_at) "
            "from gold.fct_orders where order_id = ?",
            [old[0]],
        )
    results = dbt(lake, "test", "--select", "fct_orders", "stg_orders")
    assert {"unique_fct_orders_order_id", "unique_stg_orders_order_id"} <= failed(results)


def test_the_full_sweep_catches_what_the_window_does_not_see(lake: Path) -> None:
    """The nulls planted in old rows passed the incremental build (the fixture); the full sweep fails on them:
    with --full-refresh, and with the var."""
    assert "not_null_stg_orders_customer_id" in failed(dbt(lake, "build", "--full-refresh"))
    swept = dbt(lake, "test", "--vars", "{full_test_sweep: true}")
    assert {"not_null_stg_orders_customer_id", "not_null_fct_orders_category"} <= failed(swept)
