"""The order index's parts by order_date and the correction horizon, without Spark: which parts a run reads, what
it finds there, how the orders it moves leave their old parts, and the horizon's setting."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import yaml

from glue_jobs import horizon, order_index
from glue_jobs.order_index import Bound, Index, IndexDamaged
from glue_jobs.storage import IoCounts, LocalStorage

REPO = Path(__file__).resolve().parents[2]
FIRST = dt.date(2026, 1, 1)
DAYS = 60
DAILY = 50


def _day(n: int) -> str:
    return (FIRST + dt.timedelta(days=n)).isoformat()


def _committed(storage: LocalStorage, root: Path, index: Index, run: str) -> dict:
    """Stage the index's new files, put them in place as the journal does, and return the bookmark."""
    puts, files = order_index.stage(index, str(root / "_staging" / run))
    for put in puts:
        storage.move_file(put.staged, put.target)
    return {"order_index": order_index.manifest(files)}


def _history(tmp_path: Path) -> tuple[LocalStorage, str, dict]:
    """An index of ``DAYS`` days of ``DAILY`` orders (``o<day>-<n>``), built as a full refresh builds it: from
    silver partitions, a part per day."""
    storage = LocalStorage()
    silver = tmp_path / "silver_orders"
    for n in range(DAYS):
        ids = pa.array([f"o{n}-{i}" for i in range(DAILY)])
        folder = silver / f"order_date={_day(n)}"
        folder.mkdir(parents=True)
        pq.write_table(pa.table({"order_id": ids}), folder / "part-0.parquet")
    root = tmp_path / "order_index"
    index = order_index.of_full_refresh(storage, str(silver), str(root), "part-r0", str(tmp_path / "stage"))
    return storage, str(root), _committed(storage, tmp_path, index, "r0")


def _bound(pairs: list[tuple[str, str]], days: int) -> Bound:
    ids = pa.array([p[0] for p in pairs], pa.string())
    dates = pa.array([dt.date.fromisoformat(p[1]) for p in pairs], pa.date32())
    return Bound(ids, dates, days)


def test_a_full_refresh_writes_one_part_per_day(tmp_path: Path) -> None:
    _, _, bookmark = _history(tmp_path)
    files = order_index.parse_manifest(bookmark) or []
    assert [f.day for f in files] == [_day(n) for n in range(DAYS)]
    assert {f.rows for f in files} == {DAILY}


def test_the_horizon_bounds_the_parts_a_lookup_reads(tmp_path: Path) -> None:
    storage, root, bookmark = _history(tmp_path)
    # new orders of the last day; a correction moving o55-1 (within 7 days); one moving o20-1 (35 days away);
    # a correction of o3-1 that keeps its date, however old
    run = [(f"new-{i}", _day(DAYS - 1)) for i in range(5)]
    run += [("o55-1", _day(DAYS - 1)), ("o20-1", _day(DAYS - 5)), ("o3-1", _day(3))]
    bound = _bound(run, 7)
    window = order_index.window_days(order_index.parse_manifest(bookmark) or [], bound)
    assert window == {_day(n) for n in range(DAYS - 12, DAYS)} | {_day(n) for n in range(0, 11)}

    storage.counts = IoCounts()
    index = order_index.load(storage, bookmark, root, silver_has_rows=True, days=window)
    found = order_index.lookup(index, bound.ids, bound)
    assert found == {_day(55), _day(3)}, "o20-1 moved 35 days: beyond the horizon, not found"
    read = {Path(p).name for p in storage.counts.read_by_path}
    assert read == {f.name for f in index.files if f.day in window}, "only the parts within the horizon"
    assert index.files_read <= read
    # without the horizon, every part would be read and the far move found
    assert order_index.lookup(index, bound.ids) == {_day(55), _day(3), _day(20)}


def test_each_id_is_looked_up_only_near_its_own_date(tmp_path: Path) -> None:
    _, root, bookmark = _history(tmp_path)
    storage = LocalStorage()
    index = order_index.load(storage, bookmark, root, silver_has_rows=True)
    # o10-1's new date is 9 days from its part: not found with a horizon of 8, found with 9; o50-2 is found
    # only near its own date, not because another id's window reaches its part
    assert order_index.lookup(index, None, _bound([("o10-1", _day(19)), ("o50-2", _day(2))], 8)) == set()
    assert order_index.lookup(index, None, _bound([("o10-1", _day(19))], 9)) == {_day(10)}
    keys, days = order_index.locate(index, None, _bound([("o10-1", _day(19)), ("o12-1", _day(12))], 9))
    assert sorted(days.tolist()) == sorted(order_index._day_number(_day(n)) for n in (10, 12))
    assert order_index.vacated_days(keys, days, _bound([("o10-1", _day(19)), ("o12-1", _day(12))], 9)) == {
        _day(10)
    }, "o12-1 stays on its day: only o10-1's old day is left"


def test_a_moved_order_leaves_its_old_part_and_a_same_day_one_stays(tmp_path: Path) -> None:
    storage, root, bookmark = _history(tmp_path)
    # the run's staged partitions: o55-1 moved from day 55 to day 59, o51-1 corrected on its own day, n1 new
    staged = tmp_path / "staged"
    for day, ids in ((_day(59), ["o55-1", "n1"]), (_day(51), ["o51-1"])):
        (staged / f"order_date={day}").mkdir(parents=True)
        pq.write_table(pa.table({"order_id": ids}), staged / f"order_date={day}" / "part-0.parquet")
    bound = _bound([("o55-1", _day(59)), ("n1", _day(59)), ("o51-1", _day(51))], 7)
    index = order_index.load(storage, bookmark, root, silver_has_rows=True)
    found = order_index.locate(index, None, bound)
    vacated = frozenset(order_index.vacated_days(*found, bound))
    assert vacated == {_day(55)}
    after = order_index.after_run(index, str(staged), pc.unique(bound.ids), "part-r1", vacated)
    bookmark = _committed(storage, tmp_path, after, "r1")
    pairs = _pairs(order_index.load(storage, bookmark, root, silver_has_rows=True))
    assert ("o55-1", _day(55)) not in pairs and ("o55-1", _day(59)) in pairs and ("n1", _day(59)) in pairs
    assert ("o51-1", _day(51)) in pairs and len(pairs) == DAYS * DAILY + 1
    days = [f.day for f in order_index.parse_manifest(bookmark) or []]
    assert days.count(_day(55)) == 1, "the part the order left is rewritten, not added to"
    assert days.count(_day(59)) == days.count(_day(51)) == 2, (
        "a small new file is not merged into a large one"
    )


def _pairs(index: Index) -> set[tuple[str, str]]:
    pairs = set()
    for entry in index.files:
        table = index.read(entry, ["order_id", "order_date"])
        assert entry.day and {str(d) for d in table["order_date"].to_pylist()} <= {entry.day}
        pairs |= {(i, str(d)) for i, d in zip(*table.to_pydict().values(), strict=True)}
    return pairs


def test_an_index_in_the_layout_before_the_day_parts_is_rebuilt(tmp_path: Path) -> None:
    old = {"order_index": {"version": 1, "files": [{"name": "part-a.parquet", "rows": 3}]}}
    with pytest.raises(IndexDamaged, match="layout of version 1, one key range for every date"):
        order_index.load(LocalStorage(), old, str(tmp_path), silver_has_rows=True)
    no_day = {"order_index": {"version": 2, "files": [{"name": "part-a.parquet", "rows": 3}]}}
    with pytest.raises(IndexDamaged, match="without its day"):
        order_index.load(LocalStorage(), no_day, str(tmp_path), silver_has_rows=True)


def test_the_horizon_defaults_to_golds_and_is_validated() -> None:
    project = yaml.safe_load((REPO / "dbt_project.yml").read_text())
    assert project["vars"]["correction_horizon_days"] == horizon.DEFAULT_DAYS
    assert horizon.parse("") == horizon.DEFAULT_DAYS and horizon.parse(" 7 ") == 7
    for bad in ("7d", "-1", "3651", "1.5"):
        with pytest.raises(ValueError, match="not a whole number of days from 0 to 3650"):
            horizon.parse(bad)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--correction_horizon_days", "a week"],
            "--correction_horizon_days is 'a week', not a whole number",
        ),
        (["--sweep", "true", "--full_refresh", "true"], "--sweep reads no bronze"),
        (["--sweep", "maybe"], "--sweep must be true or false"),
    ],
)
def test_a_bad_horizon_or_sweep_argument_stops_the_job_in_one_line(
    tmp_path: Path, extra: list[str], message: str
) -> None:
    from glue_jobs.local import glue_argv

    argv = [*glue_argv(tmp_path / "lake"), *extra]
    code = "import sys; from glue_jobs.bronze_to_silver_orders import job_args; job_args(sys.argv[1:])"
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, cwd=REPO)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and message in lines[0], done.stderr


def test_the_glue_job_takes_the_stack_horizon_and_the_sweep() -> None:
    from glue_jobs.bronze_to_silver_orders import job_args
    from glue_jobs.local import glue_argv

    args = job_args([*glue_argv(Path("lake")), "--correction_horizon_days", "7", "--sweep", "true"])
    assert args.correction_horizon_days == 7 and args.sweep
    assert job_args(glue_argv(Path("lake"))).correction_horizon_days == horizon.DEFAULT_DAYS


def test_a_run_with_no_ids_reads_no_part(tmp_path: Path) -> None:
    storage, root, bookmark = _history(tmp_path)
    storage.counts = IoCounts()
    bound = _bound([], 7)
    days = order_index.window_days(order_index.parse_manifest(bookmark) or [], bound)
    index = order_index.load(storage, bookmark, root, silver_has_rows=True, days=days)
    keys, found = order_index.locate(index, None, bound)
    assert days == set() and index.footers == {} and len(keys) == len(found) == 0
    assert storage.counts.bytes_read == 0


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        (["silver", "--sweep", "--full-refresh"], "", "--full-refresh: not allowed with argument --sweep"),
        (["silver", "--sweep", "--to-date", "2026-03-01"], "", "--sweep reads no bronze"),
        (["silver"], "7d", "DBT_CORRECTION_HORIZON_DAYS is '7d', not a whole number of days"),
    ],
)
def test_the_cli_refuses_a_bad_sweep_or_horizon_in_one_line(
    argv: list[str],
    env: str,
    expected: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from lakehouse.cli import main

    monkeypatch.setenv(horizon.ENV, env)
    with pytest.raises(SystemExit) as info:
        raise SystemExit(main(argv))
    err = capsys.readouterr().err
    assert info.value.code == 2 and expected in err and err.count("\n") == 1, err
