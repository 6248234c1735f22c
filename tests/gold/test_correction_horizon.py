"""The correction horizon (docs/decisions/0005-correction-horizon.md): an incremental build looks for the version a
correction replaces, and for the old copy of a duplicate key, on the new versions' order dates and within
var('correction_horizon_days') before its window, not in the whole history.

- the unique tests on order_id read only those dates, and still catch an old copy within the horizon; an old copy
  before it is left to the full sweep (the stated bound), which catches it;
- a correction that moves an order from a date before the horizon fails the reconciliation of the same build;
- the reconciliation with silver checks every order date's row counts on an incremental build, and its values on
  the dates changed since it last passed; the full sweep compares every date's values
  (docs/decisions/0010-reconciliation-window.md);
- what the log, the merges, the key tests and the reconciliation read on a new day does not grow with the history
  (DuckDB's profile, bench/gold_bytes.py: the stand-in for Athena's scanned bytes)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest

from bench.gold_bytes import measure
from bench.synthetic_silver import add_day, add_silver_file, write_history
from tests.gold.helpers import (
    base_orders,
    build,
    from_snapshot,
    keep_snapshot,
    late_and_corrected_orders,
    read_tables,
    write_silver,
)
from tests.gold.test_test_window import dbt, failed

pytestmark = pytest.mark.dbt

# The windowed lake's tests start at 2026-02-17 08:00 (its mark minus the lookback): a horizon of 7 days reaches
# back to order dates from 2026-02-10 on.
MARTS = ("gold_orders", "fct_orders", "dim_customers", "dim_products", "fct_country_monthly_kpis")
HORIZON_7 = ["--vars", "{correction_horizon_days: 7}"]
SWEEP_7 = ["--vars", "{correction_horizon_days: 7, full_test_sweep: true}"]


@pytest.fixture(scope="module")
def windowed_lake(built_lake: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The base lake after the incremental build of the late and corrected orders (ingested 2026-02-20 08:00)."""
    work = tmp_path_factory.mktemp("horizon")
    lake = work / "lake"
    shutil.copytree(built_lake, lake)
    base = base_orders()
    write_silver(lake, [*base, *late_and_corrected_orders(base)])
    build(lake)
    return keep_snapshot(lake)


@pytest.fixture
def lake(windowed_lake: Path) -> Path:
    return from_snapshot(windowed_lake)


def plant_duplicate(lake: Path, order_id: str, old_date: str) -> None:
    """An order with an old copy (dated `old_date`, ingested a day later, before the window) and a new copy
    (dated 2026-02-19, ingested in the window), in silver and in fct_orders."""
    landed = (dt.date.fromisoformat(old_date) + dt.timedelta(days=1)).isoformat() + " 06:00:00"
    old = (order_id, old_date, "C001", "US", "P001", 1, "79.99", landed)
    new = (order_id, "2026-02-19", "C001", "US", "P001", 1, "79.99", "2026-02-20 08:00:00")
    add_silver_file(lake, [old, new], "copy.parquet")
    with duckdb.connect(str(lake / "warehouse.duckdb")) as con:
        for order_date, ingested_at in ((old[1], old[7]), (new[1], new[7])):
            con.execute(
                "insert into gold.fct_orders select * replace (cast(? as varchar) as order_id, "
                "cast(? as date) as order_date, cast(? as timestamp) as ingested_at) "
                "from gold.fct_orders where order_id = 'O00001'",
                [order_id, order_date, ingested_at],
            )


def test_the_key_tests_read_only_the_horizon_and_the_windows_dates(lake: Path) -> None:
    results = dbt(lake, "test", "--select", "fct_orders", "stg_orders", "int_order_versions", *HORIZON_7)
    assert not failed(results)
    sql = " ".join(results["unique_fct_orders_order_id"]["compiled_code"].split())
    assert "order_date in (cast('" in sql, sql
    # the horizon (from 2026-02-10) and the late orders' own dates, nothing between them
    assert "cast('2026-02-10' as date)" in sql and "cast('2026-01-02' as date)" in sql
    assert "cast('2026-02-09' as date)" not in sql and "cast('2026-01-03' as date)" not in sql
    log = " ".join(results["int_order_versions_one_row_per_order_version"]["compiled_code"].split())
    assert "in (select order_id, ingested_at" not in log, "a version key is tested on the window's rows alone"


def test_an_old_copy_within_the_horizon_is_caught(lake: Path) -> None:
    plant_duplicate(lake, "O97001", "2026-02-12")
    results = dbt(lake, "test", "--select", "fct_orders", "stg_orders", *HORIZON_7)
    assert {"unique_fct_orders_order_id", "unique_stg_orders_order_id"} <= failed(results)


def test_an_old_copy_before_the_horizon_is_left_to_the_full_sweep(lake: Path) -> None:
    """The stated bound: dated 2026-02-05, before the horizon, the old copy is not read by the incremental key
    tests; the weekly full sweep (var full_test_sweep, lakehouse.stage sweep) catches it."""
    plant_duplicate(lake, "O97002", "2026-02-05")
    incremental = dbt(lake, "test", "--select", "fct_orders", "stg_orders", *HORIZON_7)
    assert not failed(incremental) & {"unique_fct_orders_order_id", "unique_stg_orders_order_id"}
    swept = dbt(lake, "test", "--select", "fct_orders", "stg_orders", *SWEEP_7)
    assert {"unique_fct_orders_order_id", "unique_stg_orders_order_id"} <= failed(swept)


def test_a_move_from_before_the_horizon_fails_the_reconciliation(built_lake: Path, tmp_path: Path) -> None:
    """O00501 moves from 2025-12-20 to 2026-01-30, 47 days before the window: with a 7-day horizon the build does
    not find the version it replaces, and the reconciliation with silver (every date's counts) fails on that build."""
    lake = tmp_path / "lake"
    shutil.copytree(built_lake, lake)
    base = base_orders()
    write_silver(lake, [*base, *late_and_corrected_orders(base)])
    results = dbt(lake, "build", *HORIZON_7)
    assert "assert_gold_reconciles_with_silver" in failed(results)


def test_moves_within_the_horizon_give_the_marts_of_a_full_refresh(built_lake: Path, tmp_path: Path) -> None:
    """With a 7-day horizon (the base build's window starts 2026-02-05 06:00, so the horizon reaches 2026-01-29),
    corrections move orders forward, backward and from the horizon's first day to another date and customer: the
    incremental build gives the marts a full refresh of the same silver gives."""
    base = base_orders()
    by_id = {order[0]: order for order in base}
    landed = "2026-02-20 08:00:00"

    def moved(order_id: str, order_date: str, customer: str | None = None) -> tuple:
        order = by_id[order_id]
        return (order_id, order_date, customer or order[2], *order[3:7], landed)

    assert [by_id[o][1] for o in ("O00050", "O00070", "O00026")] == ["2026-02-02", "2026-02-05", "2026-01-29"]
    corrections = [
        moved("O00050", "2026-02-07"),
        moved("O00070", "2026-01-31"),
        moved("O00026", "2026-02-01", customer="C900"),
    ]
    lake = tmp_path / "incremental" / "lake"
    shutil.copytree(built_lake, lake)
    write_silver(lake, [*base, *corrections])
    results = dbt(lake, "build", *HORIZON_7)
    assert not failed(results), failed(results)
    probe = " ".join(results["int_order_versions"]["compiled_code"].split())
    assert "cast('2026-01-29' as date)" in probe and "cast('2026-01-28' as date)" not in probe, probe

    fresh = tmp_path / "fresh" / "lake"
    write_silver(fresh, [*base, *corrections])
    build(fresh, "--full-refresh")
    incremental, full = read_tables(lake, MARTS), read_tables(fresh, MARTS)
    for mart in MARTS:
        assert incremental[mart] == full[mart], f"{mart}: the incremental build differs from a full refresh"


def test_a_horizon_that_is_not_a_number_of_days_stops_the_build_in_one_line(
    lake: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBT_CORRECTION_HORIZON_DAYS", "7d")
    results = dbt(lake, "run", "--select", "int_order_versions")
    message = results["int_order_versions"]["message"]
    assert "the correction horizon is '7d', not a whole number of days from 0 to 3650" in message, message
    assert "DBT_CORRECTION_HORIZON_DAYS" in message


# ------------------------------------------------------------------------------ the reconciliation's window

RECONCILIATION = "assert_gold_reconciles_with_silver"
# a base order date no version of the windowed lake's last build is on (nor replaced one on)
UNTOUCHED = "2026-02-02"


def reconciliation(lake: Path, *args: str) -> tuple[dict, list[tuple]]:
    """Run the reconciliation alone: its result, and the rows it fails on (its compiled SQL run again)."""
    result = dbt(lake, "test", "--select", RECONCILIATION, *args)[RECONCILIATION]
    with duckdb.connect(str(lake / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute(result["compiled_code"]).fetchall()
    return result, rows


def test_the_reconciliation_compares_values_on_the_windows_dates_only(lake: Path) -> None:
    """Its window: the dates of the last build's versions (new, late, corrected) and of the versions they replaced,
    not the base dates nothing touched; on a full sweep no window at all."""
    result, rows = reconciliation(lake)
    assert result["status"] == "pass" and not rows, rows
    sql = " ".join(result["compiled_code"].split())
    # late (2026-01-02), moved to (2026-02-04) and moved from (2025-12-20, 2026-01-25), new (2026-02-08)
    for touched in ("2026-01-02", "2026-02-04", "2025-12-20", "2026-01-25", "2026-02-08"):
        assert f"cast('{touched}' as date)" in sql, touched
    assert f"cast('{UNTOUCHED}' as date)" not in sql
    swept, _ = reconciliation(lake, "--vars", "{full_test_sweep: true}")
    assert "order_date in (cast(" not in " ".join(swept["compiled_code"].split())


def test_an_old_dates_count_that_disagrees_fails_the_incremental_reconciliation(lake: Path) -> None:
    """A grain of gold_orders on a date long before the window is lost (a merge that missed it): the incremental
    reconciliation, which compares values only on the window's dates, fails on that date's order count."""
    with duckdb.connect(str(lake / "warehouse.duckdb")) as con:
        con.execute(
            "delete from gold.gold_orders where order_date = ? and (country, product) in "
            "(select country, product from gold.gold_orders where order_date = ? order by all limit 1)",
            [UNTOUCHED, UNTOUCHED],
        )
    result, rows = reconciliation(lake)
    assert result["status"] == "fail"
    assert f"cast('{UNTOUCHED}' as date)" not in result["compiled_code"], "the date is outside the window"
    assert [r for r in rows if r[:2] == ("order count per order_date", UNTOUCHED)], rows


def test_an_old_dates_amount_that_disagrees_is_left_to_the_full_sweep(lake: Path) -> None:
    """The stated bound: silver's revenue of an order on a date before the window changes, its count and ingested_at
    kept (silver rewritten in place): the incremental reconciliation compares that date's count only, and passes;
    the weekly full sweep (var full_test_sweep, lakehouse.stage sweep) compares its values, and fails."""
    base = base_orders()
    orders = [*base, *late_and_corrected_orders(base)]
    changed = next(n for n, order in enumerate(orders) if order[1] == UNTOUCHED)
    orders[changed] = (*orders[changed][:6], "1.00", orders[changed][7])
    write_silver(lake, orders)
    incremental, _ = reconciliation(lake)
    assert incremental["status"] == "pass"
    swept, rows = reconciliation(lake, "--vars", "{full_test_sweep: true}")
    assert swept["status"] == "fail"
    assert [r for r in rows if r[:2] == ("orders, revenue and quantity per order_date", UNTOUCHED)], rows


# ------------------------------------------------------------------------------ bytes against the history

PRUNED = (
    "int_order_versions",
    "fct_orders",
    "gold_orders",
    "unique_",
    "int_order_versions_one_row_per_order_version",
    RECONCILIATION,
)
# data tests that read the whole history before they had a window: each on its own
WINDOWED_TESTS = ("int_order_versions_one_row_per_order_version", RECONCILIATION)
# what the reconciliation reads whole by design (docs/decisions/0010-reconciliation-window.md): gold_orders, a row
# per order date, country and product, so its rows grow with the days and the catalogue, not with the orders
READ_WHOLE = {"gold_orders"}
# the marts keyed by customer, product and month, and the monthly aggregates they roll up
# (docs/decisions/0009-mart-aggregates.md)
ROLLED_UP = (
    "dim_customers",
    "dim_products",
    "fct_country_monthly_kpis",
    "int_customer_months",
    "int_product_months",
)


def test_a_new_days_reads_do_not_grow_with_the_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same new day on 30 and on 300 days of history: the log's probe, the order-dated merges, the key
    tests and the reconciliation read about the same bytes (at most 1.3x, together and each of those two tests,
    apart from the daily aggregate the reconciliation reads whole); before the horizon they read every key of the
    history, and before its window the reconciliation read silver's and fct_orders' values whole. So do the
    customer, product and monthly marts with the aggregates they roll up; before those, they read every order of
    each customer and product the day touched."""
    monkeypatch.setenv("DBT_CORRECTION_HORIZON_DAYS", "7")
    # one thread: tables are written in the order their rows come, so each row group holds a run of days, as in
    # a lake built a day at a time (with two, a row group's day range depends on the threads' interleaving)
    monkeypatch.setenv("DUCKDB_THREADS", "1")
    read: dict[int, dict[str, int]] = {}
    windowed: dict[int, dict[str, int]] = {}
    rolled_up: dict[int, dict[str, int]] = {}
    totals: dict[int, int] = {}
    for days in (30, 300):
        lake = tmp_path / f"history-{days}" / "lake"
        write_history(lake, days)
        build(lake)
        add_day(lake, days)
        measured = measure(lake, full_refresh=False)
        by_node = measured["by_node"]
        names = {node: [*node.split("."), "", ""][2] for node in by_node}
        read[days] = {names[n]: b for n, b in by_node.items() if names[n].startswith(PRUNED)}
        windowed[days] = {
            names[n]: sum(b for table, b in tables.items() if table not in READ_WHOLE)
            for n, tables in measured["by_node_table"].items()
            if names.get(n) in WINDOWED_TESTS
        }
        rolled_up[days] = {names[n]: b for n, b in by_node.items() if names[n] in ROLLED_UP}
        totals[days] = sum(by_node.values())
    short, long = sum(read[30].values()), sum(read[300].values())
    assert set(read[30]) == set(read[300]) and len(read[30]) >= 6, read
    assert long <= 1.3 * short, {"30 days": read[30], "300 days": read[300], "whole builds": totals}
    assert set(windowed[300]) == set(WINDOWED_TESTS), windowed
    for test in WINDOWED_TESTS:
        assert windowed[300][test] <= 1.3 * windowed[30][test], {"test": test, **windowed}
    marts = {"30 days": rolled_up[30], "300 days": rolled_up[300], "whole builds": totals}
    assert {"dim_customers", "dim_products", "fct_country_monthly_kpis"} <= set(rolled_up[30]), marts
    assert sum(rolled_up[300].values()) <= 1.3 * sum(rolled_up[30].values()), marts
