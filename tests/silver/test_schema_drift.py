"""Header matched by name: reordered and extra columns load; a missing column quarantines the file, run goes on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.silver.helpers import bronze_file, rejected_rows, silver_rows

pytestmark = pytest.mark.spark


def test_reordered_extra_and_missing_columns(lake: Path, run_job: Callable[..., dict]) -> None:
    bronze_file(lake, "20260302_080000", "std", ["a,2026-03-01,C1,US,P001,1,1.00"])
    bronze_file(
        lake,
        "20260302_081000",
        "reordered",
        ["2.00,2,P002,GB,C2,2026-03-01,b"],
        header="unit_price,quantity,product,country,customer_id,order_date,order_id",
    )
    bronze_file(
        lake,
        "20260302_082000",
        "extra",
        ["c,promo,2026-03-01,C3,DE,P003,3,3.00,x"],
        header=" Order_ID ,coupon,order_date,customer_id,country,product,quantity,unit_price,note",
    )
    bronze_file(
        lake,
        "20260302_083000",
        "missing",
        ["d,2026-03-01,C4,US,P004,4", "e,2026-03-01,C5,US,P005,5"],
        header="order_id,order_date,customer_id,country,product,quantity",
    )
    bronze_file(lake, "20260302_084000", "after", ["f,2026-03-02,C6,US,P006,6,6.00"])

    metrics = run_job(lake)

    rows = silver_rows(lake)
    assert set(rows) == {"a", "b", "c", "f"}
    assert (rows["b"]["quantity"], rows["b"]["country"], str(rows["b"]["unit_price"])) == (2, "GB", "2.00")
    assert (rows["c"]["customer_id"], rows["c"]["product"]) == ("C3", "P003")
    rejected = rejected_rows(lake)
    assert sorted((r["order_id"], r["reject_reason"]) for r in rejected) == [
        ("d", "missing_column"),
        ("e", "missing_column"),
    ]
    assert all(r["unit_price"] is None and r["quantity"] in {"4", "5"} for r in rejected)
    assert metrics.files_read == 5
    assert [q.missing_columns for q in metrics.files_quarantined] == [("unit_price",)]
    assert metrics.rows_read == 6 and metrics.rows_rejected == 2 and metrics.rows_written == 4


def test_empty_and_header_only_files_are_read_without_rows(lake: Path, run_job: Callable[..., dict]) -> None:
    bronze_file(lake, "20260302_080000", "headeronly", [])
    empty = bronze_file(lake, "20260302_081000", "empty", [])
    empty.write_text("")
    bronze_file(lake, "20260302_082000", "one", ["a,2026-03-01,C1,US,P001,1,1.00"])
    metrics = run_job(lake)
    assert metrics.files_read == 3 and metrics.rows_read == 1
    assert set(silver_rows(lake)) == {"a"}
