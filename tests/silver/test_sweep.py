"""The correction horizon end to end: a correction that moves an order within the horizon leaves no double; one
that moves it further is doubled after the run, and the sweep (``--sweep``) removes the stale copy, reports it,
and leaves silver and the index as a clean run leaves them, even when killed at any swap of its commit."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from glue_jobs.local import silver_table
from tests.reliability.helpers import die_during_commit
from tests.silver.helpers import bronze_file, index_pairs, silver_pairs, silver_rows

pytestmark = pytest.mark.spark

DAY1 = [
    "a,2026-03-01,C1,US,P001,1,1.00",
    "b,2026-01-10,C2,GB,P002,2,2.00",
    "c,2026-02-27,C3,DE,P003,3,3.00",
]
# a moves 4 days (within a horizon of 7), b moves 57 days (beyond it), c keeps its date; d is new
DAY2 = [
    "a,2026-03-05,C1,US,P001,1,1.00",
    "b,2026-03-08,C2,GB,P002,5,2.00",
    "c,2026-02-27,C3,DE,P003,9,3.00",
    "d,2026-03-08,C4,FR,P004,4,4.00",
]
CLEAN = {("a", "2026-03-05"), ("b", "2026-03-08"), ("c", "2026-02-27"), ("d", "2026-03-08")}


def _copies(lake: Path) -> list[tuple[str, str]]:
    """Every (order_id, order_date) row of silver, doubles included."""
    glob = lake / "silver" / "silver_orders" / "order_date=*" / "*.parquet"
    with duckdb.connect() as con:
        rows = con.execute(
            f"select order_id, cast(order_date as varchar) from read_parquet('{glob}', hive_partitioning=true)"
        ).fetchall()
    return sorted(rows)


@pytest.fixture
def doubled(
    tmp_path: Path, run_job: Callable[..., object], monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, object]:
    """A lake after two runs with a horizon of 7 days: b doubled; and the second run's figures."""
    monkeypatch.setenv("DBT_CORRECTION_HORIZON_DAYS", "7")
    lake = tmp_path / "lake"
    bronze_file(lake, "20260302_080000", "day1", DAY1)
    run_job(lake)
    bronze_file(lake, "20260309_080000", "day2", DAY2)
    return lake, run_job(lake)


def test_a_far_move_is_doubled_until_the_sweep_which_reports_it(
    doubled: tuple[Path, object], tmp_path: Path, run_job: Callable[..., object]
) -> None:
    lake, second = doubled
    # within the horizon: a moved, no double; c kept its date; beyond it: b on both dates
    assert _copies(lake) == sorted([*CLEAN, ("b", "2026-01-10")])
    lookup = second.index_lookup
    assert lookup["horizon_days"] == 7 and lookup["ids"] == 4
    assert (lookup["first_day_read"], lookup["last_day_read"]) == ("2026-02-27", "2026-03-01")
    assert lookup["days_read"] == 2 and lookup["days_in_index"] == 3, "the part of 2026-01-10 is not read"

    swept = run_job(lake, sweep=True)
    assert swept.sweep and swept.files_read == 0 and swept.superseded == 1
    assert swept.corrections_beyond_horizon == [
        {"order_id": "b", "old_date": "2026-01-10", "new_date": "2026-03-08"}
    ]
    assert _copies(lake) == sorted(CLEAN)
    assert index_pairs(lake) == silver_pairs(lake) == CLEAN

    # the same bronze in one clean run: the same silver, row for row
    clean = tmp_path / "clean"
    for path in (lake / "bronze").rglob("*.csv"):
        target = clean / path.relative_to(lake)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    run_job(clean)
    assert silver_rows(lake) == silver_rows(clean)

    again = run_job(lake, sweep=True)
    assert again.corrections_beyond_horizon == [] and again.partitions_touched == 0
    assert silver_pairs(lake) == CLEAN


def test_a_sweep_killed_at_each_swap_recovers_to_the_uninterrupted_result(
    doubled: tuple[Path, object],
    tmp_path: Path,
    run_job: Callable[..., object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lake, _ = doubled
    before = tmp_path / "before"
    shutil.copytree(lake, before)
    run_job(lake, sweep=True)
    expected = (silver_rows(lake), index_pairs(lake))

    point = 0
    while True:
        trial = tmp_path / f"killed-{point}"
        shutil.copytree(before, trial)

        def pick(n: int, swap: object, at: int = point) -> bool:
            return n == at

        try:
            die_during_commit(monkeypatch, lambda lake=trial: run_job(lake, sweep=True), pick)
        except pytest.fail.Exception:
            # past the last swap: the sweep was not killed
            break
        assert len(silver_table(trial).recover()) == 1
        assert (silver_rows(trial), index_pairs(trial)) == expected, f"killed before swap {point}"
        assert not list((trial / "silver" / "_staging").glob("*")), "no staging left"
        point += 1
    assert point >= 4, "partitions, index files, bookmark, index deletes: each a kill point"
