"""The test-window marks are checked before use: a mark is spliced into the SQL of every
windowed test, so one in the future would empty every window (the tests pass, reading nothing), and one that is
not a timestamp would be SQL of whoever wrote the view. Either stops the run with one line naming the view."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from lakehouse.dbt import DbtError, run_dbt
from tests.gold.helpers import dbt_args

pytestmark = pytest.mark.dbt

MARKS = "staging.test_window_marks"


@pytest.fixture
def lake(built_lake: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "lake"
    shutil.copytree(built_lake, copy)
    return copy


def store_mark(lake: Path, value_sql: str) -> None:
    """Replace the marks view with one mark of fct_orders, `value_sql` as its verified_through."""
    with duckdb.connect(str(lake / "warehouse.duckdb")) as con:
        con.execute(
            f"create or replace view {MARKS} as"
            f" select cast('fct_orders' as varchar) as tested, {value_sql} as verified_through"
        )


@pytest.mark.parametrize(
    ("value_sql", "shown"),
    [
        ("cast('2999-01-01 00:00:00' as timestamp)", "2999-01-01 00:00:00"),
        # a varchar column: what a writer of the view may put there is spliced into the tests' SQL as is
        ("cast('2026-01-01 00:00:00'' as timestamp) or (true' as varchar)", "or (true"),
        ("cast('yesterday' as varchar)", "yesterday"),
    ],
    ids=["future", "sql", "not-a-timestamp"],
)
def test_a_mark_that_is_not_a_past_timestamp_stops_the_run(lake: Path, value_sql: str, shown: str) -> None:
    store_mark(lake, value_sql)
    with pytest.raises(DbtError) as refused:
        run_dbt(["test", "--select", "fct_orders", *dbt_args(lake.parent)], lake)
    message = str(refused.value)
    assert "\n" not in message
    assert 'the test window mark of fct_orders in "warehouse"."staging"."test_window_marks"' in message, (
        message
    )
    assert shown in message and "drop that view" in message, message


def test_a_past_mark_is_used(lake: Path) -> None:
    """The check refuses nothing the build writes: a typed mark in the past narrows the tests as before."""
    store_mark(lake, "cast('2026-02-01 06:00:00.123' as timestamp)")
    result = run_dbt(["test", "--select", "fct_orders", *dbt_args(lake.parent)], lake)
    compiled = {r.node.name: r.node.compiled_code for r in result.result.results}
    window = " ".join(compiled["not_null_fct_orders_customer_id"].split())
    assert "cast('2026-02-01 06:00:00.123' as timestamp)" in window, window
