"""One row per order_id: the latest ingest wins, ties broken by file name, then by line order."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.silver.helpers import bronze_file, silver_rows

pytestmark = pytest.mark.spark


def test_latest_ingest_wins_and_duplicates_are_counted(lake: Path, run_job: Callable[..., dict]) -> None:
    # Later file time wins even though the earlier file's name sorts later.
    bronze_file(lake, "20260302_090000", "zzz", ["a,2026-03-01,C1,US,P001,1,1.00"])
    bronze_file(lake, "20260302_100000", "aaa", ["a,2026-03-01,C1,US,P001,2,1.00"])
    # Same file time: the greater file name wins.
    bronze_file(lake, "20260302_110000", "m1", ["b,2026-03-01,C1,US,P001,1,1.00"])
    bronze_file(lake, "20260302_110000", "m2", ["b,2026-03-01,C1,US,P001,3,1.00"])
    # Same file: the later line wins (a late correction), an exact re-send collapses.
    bronze_file(
        lake,
        "20260302_120000",
        "x",
        [
            "c,2026-03-01,C1,US,P001,1,1.00",
            "c,2026-03-01,C1,US,P001,1,1.00",
            "c,2026-03-01,C1,US,P001,4,1.00",
            "d,2026-03-01,C1,US,P001,1,1.00",
            "d,2026-03-01,C1,US,P001,1,1.00",
        ],
    )
    # A later invalid version does not displace a valid one.
    bronze_file(lake, "20260302_130000", "bad", ["a,2026-03-01,C1,US,P001,0,1.00"])

    metrics = run_job(lake)

    rows = silver_rows(lake)
    assert {k: v["quantity"] for k, v in rows.items()} == {"a": 2, "b": 3, "c": 4, "d": 1}
    assert rows["a"]["source_file"] == "orders_lambda_20260302_100000_aaa.csv"
    assert metrics.duplicates_dropped == 5
    assert metrics.rows_rejected == 1
    assert metrics.rows_read == 10 == metrics.rows_written + metrics.rows_rejected + 5
