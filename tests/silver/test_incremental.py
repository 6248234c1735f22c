"""Bookmark-driven incremental runs: late corrections merge into the partitions they touch, nothing else moves."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.silver.helpers import bronze_file, rejected_rows, silver_rows, tree_digest

pytestmark = pytest.mark.spark

DAY1 = [
    "a,2026-03-01,C1,US,P001,1,1.00",
    "b,2026-03-02,C2,GB,P002,2,2.00",
    "c,2026-03-03,C3,DE,P003,3,3.00",
    "bad,2026-03-03,C3,DE,P003,x,3.00",
]
DAY2 = [
    # late correction of a
    "a,2026-03-01,C1,US,P001,5,1.00",
    "d,2026-03-04,C4,FR,P004,4,4.00",
    "bad2,2026-03-04,C4,FR,P004,4,0",
]


def test_late_correction_rewrites_only_touched_partitions(lake: Path, run_job: Callable[..., dict]) -> None:
    bronze_file(lake, "20260302_080000", "day1", DAY1)
    first = run_job(lake)
    assert first.partitions_touched == 3
    silver = lake / "silver" / "silver_orders"
    before = tree_digest(silver)

    bronze_file(lake, "20260303_080000", "day2", DAY2)
    second = run_job(lake)

    rows = silver_rows(lake)
    assert {k: v["quantity"] for k, v in rows.items()} == {"a": 5, "b": 2, "c": 3, "d": 4}
    assert rows["a"]["source_file"] == "orders_lambda_20260303_080000_day2.csv"
    after = tree_digest(silver)
    untouched = [k for k in before if k.startswith(("order_date=2026-03-02/", "order_date=2026-03-03/"))]
    assert untouched and all(after.get(k) == before[k] for k in untouched), (
        "untouched partitions must not move"
    )
    assert not any(k in after for k in before if k.startswith("order_date=2026-03-01/")), (
        "03-01 was rewritten"
    )
    assert second.files_read == 1 and second.rows_read == 3
    assert second.rows_written == 2 and second.rows_rejected == 1 and second.duplicates_dropped == 0
    assert second.superseded == 1
    assert second.order_dates_touched == ["2026-03-01", "2026-03-04"]
    assert sorted(r["order_id"] for r in rejected_rows(lake)) == ["bad", "bad2"]

    # A run with no new bronze changes nothing: same files, same bytes; it still reports itself.
    lake_before = tree_digest(lake / "silver")
    state_before = tree_digest(lake / "_state")
    third = run_job(lake)
    assert tree_digest(lake / "silver") == lake_before
    assert tree_digest(lake / "_state") == state_before
    assert third.files_read == 0 and third.rows_read == 0 and third.partitions_touched == 0
    runs = sorted((lake / "_runs" / "silver").glob("*.json"))
    assert len(runs) == 3
    assert json.loads(runs[-1].read_text())["run_id"] == third.run_id

    # A full refresh from all of bronze gives the same silver and rejected rows.
    incremental, incremental_rejected = rows, sorted(map(str, rejected_rows(lake)))
    full = run_job(lake, full_refresh=True)
    assert full.full_refresh and full.files_read == 2 and full.rows_read == 7
    assert full.duplicates_dropped == 1 and full.rows_written == 4
    assert silver_rows(lake) == incremental
    assert sorted(map(str, rejected_rows(lake))) == incremental_rejected


def test_correction_that_moves_the_order_date_removes_the_old_version(
    lake: Path, run_job: Callable[..., dict]
) -> None:
    bronze_file(
        lake, "20260302_080000", "one", ["a,2026-03-01,C1,US,P001,1,1.00", "b,2026-03-02,C1,US,P001,1,1.00"]
    )
    run_job(lake)
    bronze_file(lake, "20260305_090000", "two", ["a,2026-03-05,C1,US,P001,1,1.00"])
    metrics = run_job(lake)
    rows = silver_rows(lake)
    assert {k: str(v["order_date"]) for k, v in rows.items()} == {"a": "2026-03-05", "b": "2026-03-02"}
    assert not (lake / "silver" / "silver_orders" / "order_date=2026-03-01").exists()
    assert metrics.superseded == 1 and metrics.order_dates_touched == ["2026-03-01", "2026-03-05"]


def test_an_older_file_arriving_late_does_not_override_newer_silver(
    lake: Path, run_job: Callable[..., dict]
) -> None:
    bronze_file(lake, "20260302_100000", "new", ["a,2026-03-01,C1,US,P001,2,1.00"])
    run_job(lake)
    bronze_file(lake, "20260302_090000", "old", ["a,2026-03-01,C1,US,P001,1,1.00"])
    metrics = run_job(lake)
    assert silver_rows(lake)["a"]["quantity"] == 2
    assert metrics.rows_written == 0 and metrics.duplicates_dropped == 1 and metrics.superseded == 0
