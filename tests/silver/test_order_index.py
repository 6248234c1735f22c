"""The order index (order_id -> order_date, kept with the job's state): after every run it holds exactly silver's
(order_id, order_date) pairs, whatever happened: corrections moving orders, kills during the commit, a full
refresh, damage (rebuilt from silver and reported), compaction."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from tests.reliability.helpers import die_during_commit
from tests.silver.helpers import bronze_file, index_files, index_pairs, silver_pairs, silver_rows

pytestmark = pytest.mark.spark

DAY1 = [
    "a,2026-03-01,C1,US,P001,1,1.00",
    "b,2026-03-02,C2,GB,P002,2,2.00",
    "c,2026-03-03,C3,DE,P003,3,3.00",
]
# a moves to a new date, c to an existing one; d is new
DAY2 = ["a,2026-03-09,C1,US,P001,1,1.00", "c,2026-03-02,C3,DE,P003,3,3.00", "d,2026-03-04,C4,FR,P004,4,4.00"]
AFTER_DAY2 = {("a", "2026-03-09"), ("b", "2026-03-02"), ("c", "2026-03-02"), ("d", "2026-03-04")}


def two_days(lake: Path, run_job: Callable[..., object]) -> object:
    bronze_file(lake, "20260302_080000", "day1", DAY1)
    run_job(lake)
    bronze_file(lake, "20260309_080000", "day2", DAY2)
    return run_job(lake)


def test_the_index_follows_corrections_that_move_orders(lake: Path, run_job: Callable[..., object]) -> None:
    bronze_file(lake, "20260302_080000", "day1", DAY1)
    run_job(lake)
    assert (
        index_pairs(lake)
        == silver_pairs(lake)
        == {("a", "2026-03-01"), ("b", "2026-03-02"), ("c", "2026-03-03")}
    )

    bronze_file(lake, "20260309_080000", "day2", DAY2)
    second = run_job(lake)
    assert index_pairs(lake) == silver_pairs(lake) == AFTER_DAY2
    assert second.order_dates_touched == [
        "2026-03-01",
        "2026-03-02",
        "2026-03-03",
        "2026-03-04",
        "2026-03-09",
    ]
    assert second.order_index_rebuilt == ""

    # a moves back to where it was first: the index's entry of day 1 for a must not be taken for its place now
    bronze_file(lake, "20260310_080000", "day3", ["a,2026-03-01,C1,US,P001,7,1.00"])
    third = run_job(lake)
    assert index_pairs(lake) == silver_pairs(lake)
    assert silver_rows(lake)["a"]["quantity"] == 7 and "2026-03-09" in third.order_dates_touched
    assert not (lake / "silver" / "silver_orders" / "order_date=2026-03-09").exists()


# Each point of the commit a run can die at: before anything, with the index's new files in place but not the
# bookmark that lists them, and with the bookmark in place but the files it no longer lists still there.
KILL_POINTS: dict[str, Callable[[int, dict[str, str]], bool]] = {
    "before the first swap": lambda n, s: n == 0,
    "after the silver partitions, before the index files": lambda n, s: (
        s.target.endswith(".parquet") and "/order_index/" in s.target
    ),
    "after the index files, before the bookmark": lambda n, s: s.target.endswith("bookmark.json"),
    "after the bookmark, before the old index files go": lambda n, s: (
        s.kind == "delete" and "/order_index/" in s.target
    ),
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_a_run_killed_at_each_commit_point_leaves_index_and_silver_agreeing(
    point: str, lake: Path, run_job: Callable[..., object], monkeypatch: pytest.MonkeyPatch
) -> None:
    bronze_file(lake, "20260302_080000", "day1", DAY1)
    run_job(lake)
    # 3 rows after 3: the two files are compacted into one
    bronze_file(lake, "20260309_080000", "day2", DAY2)
    die_during_commit(monkeypatch, lambda: run_job(lake), KILL_POINTS[point])

    rerun = run_job(lake)
    assert len(rerun.recovered_runs) == 1 and rerun.files_read == 0
    assert rerun.order_index_rebuilt == "", "the commit kept the index whole: nothing to rebuild"
    assert silver_pairs(lake) == AFTER_DAY2
    assert index_pairs(lake) == AFTER_DAY2
    assert sorted(p.name for p in (lake / "_state" / "silver" / "order_index").iterdir()) == sorted(
        p.name for p in index_files(lake)
    ), "no index file is left that the bookmark does not list"


def test_a_full_refresh_rebuilds_the_index_from_silver(lake: Path, run_job: Callable[..., object]) -> None:
    two_days(lake, run_job)
    # an index that lies (well-formed, every date wrong) is beyond what a run can detect: the full refresh repairs it
    _rewrite(
        lake,
        lambda t: t.set_column(
            2,
            "order_date",
            pc.add(t["order_date"].cast(pa.int32()), pa.scalar(1, pa.int32())).cast(pa.date32()),
        ),
    )
    folder = lake / "_state" / "silver" / "order_index"
    (folder / "part-stray.parquet").write_bytes(b"left over")
    full = run_job(lake, full_refresh=True)
    assert index_pairs(lake) == silver_pairs(lake) == AFTER_DAY2
    # a part per order date
    assert len(index_files(lake)) == 3 and sorted(folder.iterdir()) == sorted(index_files(lake))
    assert full.order_index_rebuilt == ""


def _drop_the_listing(lake: Path) -> None:
    """A lake from before the index existed: its bookmark lists no index."""
    bookmark = lake / "_state" / "silver" / "bookmark.json"
    data = json.loads(bookmark.read_text())
    del data["order_index"]
    bookmark.write_text(json.dumps(data))


def _rewrite(lake: Path, change: Callable[[pa.Table], pa.Table]) -> None:
    path = index_files(lake)[-1]
    pq.write_table(change(pq.read_table(path)), path)


def _unsorted(lake: Path) -> None:
    """The newest index file holds its row twice, the first copy with a greater key (and the bookmark says 2)."""
    path = index_files(lake)[-1]
    table = pq.read_table(path)
    top = table.set_column(0, table.schema.field(0), pa.array([(1 << 64) - 1] * table.num_rows, pa.uint64()))
    pq.write_table(pa.concat_tables([top, table]), path)
    bookmark = lake / "_state" / "silver" / "bookmark.json"
    data = json.loads(bookmark.read_text())
    for entry in data["order_index"]["files"]:
        if entry["name"] == path.name:
            entry["rows"] = 2 * table.num_rows
    bookmark.write_text(json.dumps(data))


DAMAGE: dict[str, Callable[[Path], None]] = {
    "missing file": lambda lake: index_files(lake)[-1].unlink(),
    "index folder gone": lambda lake: [p.unlink() for p in index_files(lake)],
    "truncated file": lambda lake: index_files(lake)[-1].write_bytes(index_files(lake)[-1].read_bytes()[:40]),
    "not Parquet": lambda lake: index_files(lake)[-1].write_text("order_id,order_date\na,2026-03-01\n"),
    "wrong schema": lambda lake: _rewrite(lake, lambda t: t.drop_columns(["key"])),
    "fewer rows than the bookmark says": lambda lake: _rewrite(lake, lambda t: t.slice(1)),
    "not sorted by key": lambda lake: _unsorted(lake),
    "bookmark from before the index": _drop_the_listing,
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_index_is_rebuilt_from_silver_and_reported(
    damage: str, lake: Path, run_job: Callable[..., object]
) -> None:
    bronze_file(lake, "20260302_080000", "day1", DAY1)
    run_job(lake)
    DAMAGE[damage](lake)
    bronze_file(lake, "20260309_080000", "day2", DAY2)
    second = run_job(lake)
    assert second.order_index_rebuilt, "the run says it rebuilt the index"
    assert silver_pairs(lake) == AFTER_DAY2, "the moved orders left their old dates"
    assert index_pairs(lake) == AFTER_DAY2
    assert run_job(lake).order_index_rebuilt == "", "rebuilt once, sound afterwards"


def test_compaction_keeps_few_files_and_the_latest_entry(lake: Path, run_job: Callable[..., object]) -> None:
    bronze_file(
        lake, "20260301_080000", "base", [f"o{n:03d},2026-02-01,C1,US,P001,1,1.00" for n in range(40)]
    )
    run_job(lake)
    for day in range(2, 10):
        # each day a new order and a correction moving an order of the first day to the day
        lines = [f"n{day},2026-03-0{day},C1,US,P001,1,1.00", f"o{day:03d},2026-03-0{day},C1,US,P001,2,1.00"]
        bronze_file(lake, f"202603{day:02d}_080000", "day", lines)
        run_job(lake)
        assert index_pairs(lake) == silver_pairs(lake)
        files = index_files(lake)
        days = [
            f["day"]
            for f in json.loads((lake / "_state" / "silver" / "bookmark.json").read_text())["order_index"][
                "files"
            ]
        ]
        assert max(days.count(d) for d in days) <= 2, (
            f"{len(files)} index files after day {day}: not compacted"
        )
        assert sorted((lake / "_state" / "silver" / "order_index").iterdir()) == sorted(files)
    assert len(silver_pairs(lake)) == 48


def test_the_index_is_written_in_files_of_bounded_size(
    lake: Path, run_job: Callable[..., object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Memory follows MAX_FILE_ROWS, not the number of orders: a first run, a full refresh and a rebuild write
    files of about that many rows (whole silver files each), and compaction never merges past it; the index
    still agrees with silver after corrections move orders out of the capped files."""
    from glue_jobs import order_index

    monkeypatch.setattr(order_index, "MAX_FILE_ROWS", 4)
    # 3 orders on each of 5 dates: 5 silver files of 3 rows
    base = [f"o{d}{n},2026-02-0{d},C1,US,P001,1,1.00" for d in range(1, 6) for n in range(3)]
    folder = lake / "_state" / "silver" / "order_index"

    def check() -> list[int]:
        assert index_pairs(lake) == silver_pairs(lake)
        assert sorted(folder.iterdir()) == sorted(index_files(lake)), "a staged or unlisted file was left"
        return [pq.read_metadata(path).num_rows for path in index_files(lake)]

    bronze_file(lake, "20260301_080000", "base", base)
    run_job(lake)
    assert check() == [3, 3, 3, 3, 3], "a part per day, files of whole silver files"
    # each day moves an order of the base to a new date, and adds one
    for day in range(2, 6):
        lines = [f"o{day}0,2026-03-0{day},C1,US,P001,2,1.00", f"n{day},2026-03-0{day},C1,US,P001,1,1.00"]
        bronze_file(lake, f"202603{day:02d}_080000", "day", lines)
        run_job(lake)
        sizes = check()
        assert all(rows <= 4 for rows in sizes), sizes
    assert ("o20", "2026-03-02") in silver_pairs(lake) and ("o20", "2026-02-02") not in silver_pairs(lake)

    run_job(lake, full_refresh=True)
    assert sum(check()) == len(silver_pairs(lake)) == 15 + 4
    _drop_the_listing(lake)
    bronze_file(lake, "20260309_080000", "day", ["o30,2026-03-09,C1,US,P001,3,1.00"])
    assert run_job(lake).order_index_rebuilt, "rebuilt from silver"
    check()
