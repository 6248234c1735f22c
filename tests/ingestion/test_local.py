from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from ingestion.defects import DEFECT_KINDS
from ingestion.local import IngestSummary, ingest_to_lake
from tests.ingestion.helpers import HEADER, read_rows

START = dt.date(2026, 2, 1)


def run(lake: Path, **changes: object) -> IngestSummary:
    args: dict[str, object] = {
        "rows": 25_000,
        "days": 20,
        "start_date": START,
        "seed": 5,
        "rows_per_file": 10_000,
        "progress": False,
    }
    args.update(changes)
    return ingest_to_lake(lake, **args)


def test_splits_into_bounded_files_that_add_up(tmp_path: Path) -> None:
    summary = run(tmp_path, defect_rate=0.02)
    assert summary.rows == 25_000
    assert len(summary.files) == 3
    sizes = [len(read_rows(p)[1]) for p in summary.files]
    assert sizes == [10_000, 10_000, 5_000]
    manifests = [json.loads(Path(f"{p}.manifest.json").read_text()) for p in summary.files]
    assert [m["rows"] for m in manifests] == sizes
    assert [m["chunk"]["index"] for m in manifests] == [0, 1, 2]
    assert set(summary.defects) == set(DEFECT_KINDS)
    for kind in DEFECT_KINDS:
        assert summary.defects[kind] == sum(len(m["defects"][kind]) for m in manifests)
    assert sum(summary.defects.values()) == 500
    for path in summary.files:
        assert path.parent.parent == tmp_path / "bronze" / "orders"
        assert path.parent.name == f"ingest_date={dt.datetime.now(dt.UTC):%Y-%m-%d}"
        assert path.name.startswith("orders_lambda_")
        assert read_rows(path)[0] == HEADER
    assert sorted(summary.files) == summary.files, "sorting by name keeps the files in run order"
    assert not list(tmp_path.rglob("*.tmp"))


def test_files_cover_the_date_range_with_unique_ids(tmp_path: Path) -> None:
    summary = run(tmp_path)
    rows = [r for p in summary.files for r in read_rows(p)[1]]
    assert {r[1] for r in rows} == {(START + dt.timedelta(days=d)).isoformat() for d in range(20)}
    assert len({r[0] for r in rows}) == len(rows) == 25_000


def test_same_seed_same_bytes_different_seed_different_bytes(tmp_path: Path) -> None:
    first = [p.read_bytes() for p in run(tmp_path / "a", defect_rate=0.05).files]
    again = [p.read_bytes() for p in run(tmp_path / "b", defect_rate=0.05).files]
    other = [p.read_bytes() for p in run(tmp_path / "c", defect_rate=0.05, seed=6).files]
    assert first == again
    assert all(a != b for a, b in zip(first, other, strict=True))


def test_progress_bar_goes_to_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(tmp_path, rows=2_000, rows_per_file=1_000, progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "2.00k/2.00k" in captured.err


@pytest.mark.parametrize(
    ("field", "value"), [("rows", 0), ("days", 0), ("seed", -3), ("defect_rate", 2.0), ("rows_per_file", 0)]
)
def test_bad_arguments_write_nothing(tmp_path: Path, field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        run(tmp_path, **{field: value})
    assert not tmp_path.joinpath("bronze").exists()


def test_a_backfill_lands_where_and_when_it_says(tmp_path: Path) -> None:
    # --ingested-at: landed at 01:15:07 on 2 March in UTC+2 is 23:15:07 UTC on 1 March: that day's folder and time
    landed = dt.datetime(2025, 3, 2, 1, 15, 7, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    summary = run(tmp_path, ingested_at=landed)
    for path in summary.files:
        assert path.parent.name == "ingest_date=2025-03-01"
        assert path.name.startswith("orders_lambda_20250301_231507_")
        assert (
            json.loads(Path(f"{path}.manifest.json").read_text())["written_at"] == "2025-03-01T23:15:07+00:00"
        )
    # the stamp changes where the rows land, not what they are
    again = run(tmp_path / "now")
    assert [read_rows(p) for p in summary.files] == [read_rows(p) for p in again.files]


def test_the_same_plan_and_landing_time_twice_adds_nothing(tmp_path: Path) -> None:
    """`make demo` twice on one lake: the second ingest finds its files already landed and writes none."""
    landed = dt.datetime(2026, 4, 1, 2, 0, tzinfo=dt.UTC)
    first = run(tmp_path, rows_per_file=400, ingested_at=landed)
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "bronze").rglob("*") if p.is_file()}

    second = run(tmp_path, rows_per_file=400, ingested_at=landed)

    after = {p: p.stat().st_mtime_ns for p in (tmp_path / "bronze").rglob("*") if p.is_file()}
    assert after == before
    assert second.files == [] and second.rows == 0
    assert sorted(second.already_landed) == sorted(first.manifests)


def test_another_landing_time_lands_new_files(tmp_path: Path) -> None:
    run(tmp_path, ingested_at=dt.datetime(2026, 4, 1, 2, 0, tzinfo=dt.UTC))
    later = run(tmp_path, ingested_at=dt.datetime(2026, 4, 2, 2, 0, tzinfo=dt.UTC))
    assert later.files and not later.already_landed
