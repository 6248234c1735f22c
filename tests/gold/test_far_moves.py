"""A correction that moves an order further than the correction horizon (docs/decisions/0005-correction-horizon.md):
the hourly silver run writes the new version and keeps the old row (its lookups stop at the horizon), gold does the
same, and silver's weekly sweep removes the old row. Gold then holds a row silver does not: the next build absorbs
it (the row deleted, the keys it held recomputed) with no full refresh, and every mart equals a clean lake's."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from bench.synthetic_silver import add_silver_file, sweep
from lakehouse import gold_build
from lakehouse.dbt import DbtError
from tests.gold.helpers import Order, base_orders, build, dbt_args, read_tables

pytestmark = pytest.mark.dbt

MARTS = ("gold_orders", "fct_orders", "dim_customers", "dim_products", "fct_country_monthly_kpis")
MOVED_AT = "2026-02-20 08:00:00"
# 2025-12-20 and 2026-01-26 are before the 7-day horizon of the first hourly build (its window starts 2026-02-05
# 06:00, so the horizon reaches 2026-01-29): O00501 is alone on its date, O00010 shares its date with five orders.
FAR_MOVES = {"O00501": ("2025-12-20", "2026-01-30", "C600"), "O00010": ("2026-01-26", "2026-02-19", "C900")}


def hour(lake: Path, name: str, orders: list[Order]) -> None:
    """An hourly silver run: new versions in their new dates' partitions, beside what is there (a far move's old
    row stays where it was, as the silver job leaves it)."""
    add_silver_file(lake, orders, name)


def moves() -> list[Order]:
    by_id = {order[0]: order for order in base_orders()}
    return [
        (order_id, new_date, customer, *by_id[order_id][3:7], MOVED_AT)
        for order_id, (_, new_date, customer) in FAR_MOVES.items()
    ]


def gold(lake: Path) -> None:
    gold_build.build(lake, ["build", *dbt_args(lake.parent)])


@pytest.fixture(scope="module")
def swept(built_lake: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two hourly runs (the far moves, then a later day) each followed by gold, then silver's sweep: built once
    for the module, each test starts from a copy (`swept_lake`)."""
    lake = tmp_path_factory.mktemp("far-moves") / "lake"
    shutil.copytree(built_lake, lake)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DBT_CORRECTION_HORIZON_DAYS", "7")
        hour(
            lake,
            "hour-1.parquet",
            [*moves(), ("O90001", "2026-02-19", "C001", "US", "P001", 2, "79.99", MOVED_AT)],
        )
        gold(lake)
        with duckdb.connect(str(lake / "warehouse.duckdb"), read_only=True) as con:
            copies = con.execute(
                "select order_id, count(*) from gold.fct_orders where order_id in ('O00501', 'O00010') group by 1"
            ).fetchall()
        assert sorted(copies) == [("O00010", 2), ("O00501", 2)], (
            "the hourly build found the old rows: not a far move"
        )
        # a week later: the move landed before the lookback window of the build after the sweep
        hour(
            lake,
            "hour-2.parquet",
            [("O90002", "2026-02-26", "C002", "GB", "P003", 1, "24.99", "2026-02-27 08:00:00")],
        )
        gold(lake)
    sweep(lake)
    return lake


@pytest.fixture
def swept_lake(swept: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the swept lake, for a test to build on."""
    monkeypatch.setenv("DBT_CORRECTION_HORIZON_DAYS", "7")
    lake = tmp_path / "lake"
    shutil.copytree(swept, lake)
    return lake


@pytest.fixture(scope="module")
def clean(swept: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple]]:
    """The marts of a lake built whole from the swept lake's silver (which gold's builds do not change)."""
    fresh = tmp_path_factory.mktemp("far-moves-clean") / "lake"
    shutil.copytree(swept / "silver", fresh / "silver")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DBT_CORRECTION_HORIZON_DAYS", "7")
        build(fresh, "--full-refresh")
    return read_tables(fresh, MARTS)


def test_gold_absorbs_a_far_move_after_silvers_sweep(
    swept_lake: Path, clean: dict[str, list[tuple]], caplog: pytest.LogCaptureFixture
) -> None:
    gold(swept_lake)
    warnings = [r.getMessage() for r in caplog.records if r.name == "lakehouse.gold_build"]
    assert any("gold holds 2 order row(s) that silver no longer holds" in w for w in warnings), warnings
    absorbed = read_tables(swept_lake, MARTS)
    assert absorbed == clean
    # the next hourly build is an ordinary one
    caplog.clear()
    gold(swept_lake)
    assert not [r for r in caplog.records if r.name == "lakehouse.gold_build"]
    assert read_tables(swept_lake, MARTS) == absorbed


def test_plain_dbt_names_the_moved_orders_and_the_fix(
    swept_lake: Path, clean: dict[str, list[tuple]]
) -> None:
    """`dbt build` itself stops with one line naming the orders, their old dates and the var that absorbs them;
    following it gives the clean marts."""
    with pytest.raises(DbtError) as failed:
        build(swept_lake)
    line = str(failed.value)
    assert "\n" not in line
    assert (
        "assert_gold_reconciles_with_silver (error: gold does not reconcile with silver: gold holds 2 order row(s) "
        "that silver no longer holds (corrections moved them further than the correction horizon, and silver's "
        "sweep removed the old rows): O00501 (on 2025-12-20, landed 2025-12-21 06:00:00), O00010 (on 2026-01-26, "
        "landed 2026-01-27 06:00:00); `lakehouse gold` absorbs them (plain dbt: `dbt build --vars "
        "'{absorb_moved_orders: true}'`))"
    ) in line, line
    build(swept_lake, "--vars", "{absorb_moved_orders: true}")
    assert read_tables(swept_lake, MARTS) == clean
