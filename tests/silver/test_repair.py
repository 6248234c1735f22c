"""Repairs that never delete what bronze can no longer rebuild: a full refresh refused when bronze files silver
holds rows of are gone, and a repair window of ingest days (glue_jobs.repair; one end-to-end Spark run)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from glue_jobs.repair import RefreshRefused, Window, ingest_day, lost_partitions, refusal
from lakehouse.cli import main
from tests.silver.helpers import bronze_file, rejected_rows, silver_rows, tree_digest


def test_a_window_holds_its_ingest_days_both_ends_included() -> None:
    window = Window(dt.date(2026, 3, 2), dt.date(2026, 3, 3))
    assert [window.holds(dt.date(2026, 3, d)) for d in (1, 2, 3, 4)] == [False, True, True, False]
    assert not window.holds(None) and Window(None, dt.date(2026, 3, 3)).holds(dt.date(2020, 1, 1))
    assert window.describe() == "2026-03-02..2026-03-03"
    with pytest.raises(ValueError, match=r"starts .* after it ends"):
        Window(dt.date(2026, 3, 4), dt.date(2026, 3, 3))


def test_a_bronze_file_s_ingest_day_is_its_folder_s_else_its_name_s() -> None:
    assert ingest_day("ingest_date=2026-03-02/orders_lambda_20260301_080000_x.csv") == dt.date(2026, 3, 2)
    assert ingest_day("orders_lambda_20260301_080000_x.csv") == dt.date(2026, 3, 1)
    assert ingest_day("misc/other.csv") is None and ingest_day("ingest_date=2026-02-30/a.csv") is None


def test_a_full_refresh_is_refused_only_for_partitions_with_rows_of_gone_files() -> None:
    sources = {"2026-03-01": {"a.csv", "b.csv"}, "2026-03-02": {"b.csv"}, "2026-03-03": {"c.csv"}}
    assert lost_partitions(sources, {"b.csv", "c.csv"}) == {"2026-03-01": {"a.csv"}}
    assert refusal({"silver_orders": lost_partitions(sources, {"a.csv", "b.csv", "c.csv"})}) is None
    refused = refusal(
        {
            "silver_orders": {f"2026-03-0{d}": {f"{d}.csv"} for d in range(1, 6)},
            "silver_orders_rejected": {"2026-03-02": {"2.csv"}},
        }
    )
    assert isinstance(refused, RefreshRefused)
    message = str(refused)
    assert "\n" not in message
    assert message.startswith(
        "silver full refresh refused: 5 silver_orders partitions (2026-03-01, 2026-03-02, 2026-03-03 and 2 more)"
        " and 1 silver_orders_rejected partitions (2026-03-02) hold rows of 5 bronze files that are gone"
    )
    assert "silver is untouched" in message and "--from-date/--to-date" in message


# landed 2026-03-02
F1 = [
    "a,2026-03-01,C1,US,P001,1,1.00",
    "b,2026-03-02,C2,GB,P002,2,2.00",
    "c,2026-03-03,C3,DE,P003,3,3.00",
    # rejected: unknown country
    "x,2026-03-03,C3,XX,P003,3,3.00",
]
# landed 2026-03-03: a corrected
F2 = ["a,2026-03-01,C1,US,P001,5,1.00", "d,2026-03-03,C4,US,P001,4,4.00"]


@pytest.mark.spark
def test_a_repair_window_restores_a_damaged_partition_and_a_lossy_full_refresh_is_refused(
    lake: Path, run_job: Callable[..., dict], capsys: pytest.CaptureFixture[str]
) -> None:
    first = bronze_file(lake, "20260302_080000", "first", F1)
    bronze_file(lake, "20260303_080000", "second", F2)
    run_job(lake)
    clean, clean_rejected = silver_rows(lake), sorted(map(str, rejected_rows(lake)))
    assert {k: v["quantity"] for k, v in clean.items()} == {"a": 5, "b": 2, "c": 3, "d": 4}

    # damage: a partition is lost (a bad restore, a hand-made delete); the bookmark still lists its files
    shutil.rmtree(lake / "silver/silver_orders/order_date=2026-03-03")
    assert set(silver_rows(lake)) == {"a", "b"}
    assert run_job(lake).files_read == 0, "an incremental run sees nothing to do"
    repaired = run_job(lake, repair=(dt.date(2026, 3, 2), dt.date(2026, 3, 3)))
    assert repaired.files_read == 2 and repaired.files_repaired == 2
    assert repaired.repair_window == "2026-03-02..2026-03-03"
    assert silver_rows(lake) == clean, "every order back, at its latest version"
    assert sorted(map(str, rejected_rows(lake))) == clean_rejected, "no rejected row doubled"

    # bronze of 2026-03-02 expires: b, c and the rejected x live only in silver now
    first.unlink()
    before = tree_digest(lake / "silver")
    assert main(["-q", "silver", "--lake", str(lake), "--full-refresh"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert (
        "silver full refresh refused: 2 silver_orders partitions (2026-03-02, 2026-03-03) and 1 "
        "silver_orders_rejected partitions (2026-03-02) hold rows of 1 bronze files that are gone"
    ) in err
    assert tree_digest(lake / "silver") == before, "a refused full refresh leaves silver untouched"
    # a window that does not reach the expired day still repairs, and keeps what it cannot rebuild
    assert main(["-q", "silver", "--lake", str(lake), "--from-date", "2026-03-03"]) == 0
    assert json.loads(max((lake / "_runs/silver").glob("*.json")).read_text())["files_repaired"] == 1
    assert silver_rows(lake) == clean and sorted(map(str, rejected_rows(lake))) == clean_rejected
