"""A run killed mid-swap leaves silver readable; the next run completes it with no file counted twice."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from glue_jobs import commit, table
from glue_jobs.table import Swap
from tests.silver.helpers import bronze_file, rejected_rows, silver_rows

pytestmark = pytest.mark.spark

FIRST = ["a,2026-03-01,C1,US,P001,1,1.00", "b,2026-03-02,C2,GB,P002,2,2.00", "c,2026-03-03,C3,DE,P003,3,3.00"]
SECOND = [
    "a,2026-03-01,C1,US,P001,7,1.00",
    "b,2026-03-02,C2,GB,P002,8,2.00",
    "c,2026-03-03,C3,DE,P003,9,3.00",
    "e,2026-03-03,C3,DE,P003,0,3.00",
]


class Killed(Exception):
    pass


def _lake_with_second_batch(lake: Path, run_job: Callable[..., dict]) -> None:
    bronze_file(lake, "20260302_080000", "first", FIRST)
    run_job(lake)
    bronze_file(lake, "20260303_080000", "second", SECOND)


def test_killed_during_swaps_then_rerun_equals_uninterrupted_run(
    tmp_path: Path, run_job: Callable[..., dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    _lake_with_second_batch(reference, run_job)
    run_job(reference)
    expected, expected_rejected = silver_rows(reference), sorted(map(str, rejected_rows(reference)))

    _lake_with_second_batch(killed, run_job)

    def kill_at_second_swap(n: int, swap: Swap) -> None:
        if n == 1:
            raise Killed("simulated crash between two partition swaps")

    monkeypatch.setattr(commit, "before_swap", kill_at_second_swap)
    with pytest.raises(Killed):
        run_job(killed)
    monkeypatch.setattr(commit, "before_swap", None)

    # Silver is readable mid-way: one row per order_id, every partition whole (old or new version).
    mid = silver_rows(killed)
    assert set(mid) == {"a", "b", "c"}
    assert mid["a"]["quantity"] == 7 and mid["b"]["quantity"] == 2
    bookmark = json.loads((killed / "_state/silver/bookmark.json").read_text())["files"]
    assert not any("second" in f for f in bookmark), "the bookmark moves only after the swaps"

    recovery = run_job(killed)
    assert len(recovery.recovered_runs) == 1
    assert recovery.files_read == 0, "the interrupted run's file is not processed twice"
    assert silver_rows(killed) == expected
    assert sorted(map(str, rejected_rows(killed))) == expected_rejected
    interrupted = json.loads((killed / "_runs/silver" / f"{recovery.recovered_runs[0]}.json").read_text())
    assert interrupted["recovered"] is True and interrupted["files_read"] == 1
    assert interrupted["rows_read"] == 4 and interrupted["superseded"] == 3
    assert not any((killed / "silver/_staging").iterdir())


def test_killed_while_staging_is_discarded_and_redone(
    lake: Path, run_job: Callable[..., dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    _lake_with_second_batch(lake, run_job)
    before = silver_rows(lake)

    def crash(*args: object, **kwargs: object) -> None:
        raise Killed("simulated crash before the journal")

    monkeypatch.setattr(table, "write_journal", crash)
    with pytest.raises(Killed):
        run_job(lake)
    monkeypatch.undo()
    assert silver_rows(lake) == before
    # A hard kill leaves staged Parquet without a journal behind: readers never see it, the next run drops it.
    orphan = lake / "silver/_staging/20000101T000000000000Z-dead/silver_orders/order_date=2026-03-01"
    orphan.mkdir(parents=True)
    (orphan / "part-0.parquet").write_bytes(b"half a file")
    assert silver_rows(lake) == before

    metrics = run_job(lake)
    assert metrics.files_read == 1 and metrics.recovered_runs == []
    assert {k: v["quantity"] for k, v in silver_rows(lake).items()} == {"a": 7, "b": 8, "c": 9}
    assert not any((lake / "silver/_staging").iterdir())
