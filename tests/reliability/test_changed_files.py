"""A bronze file that changes after silver read it is read again, whole, and reported; a file that changes while
a run reads it (or yields fewer rows than it holds, for any reason) stops the run before it commits anything."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from glue_jobs import bronze
from glue_jobs.inventory import NotRead, inspect
from glue_jobs.storage import FileInfo, LocalStorage
from lakehouse.cli import main
from tests.reliability.helpers import Lakes, bronze_files, copy_lake, fingerprint, one_line

pytestmark = pytest.mark.spark
EXTRA = "zz-appended-1,2026-03-02,C1,US,P001,2,3.50\nzz-appended-2,2026-03-02,C1,US,P001,0,3.50\n"


def _append(path: Path, text: str = EXTRA) -> None:
    with path.open("a") as handle:
        handle.write(text)


@pytest.fixture(scope="module")
def appended_clean(lakes: Lakes, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The clean lake for bronze in which the first day-1 file held the appended rows from the start."""
    from glue_jobs.local import run_silver

    lake = lakes.lake_with_day2(tmp_path_factory.mktemp("appended") / "lake")
    _append(bronze_files(lake)[0])
    run_silver(lake, full_refresh=True)
    return fingerprint(lake)


def test_rows_appended_after_the_read_are_read_on_the_next_run(
    lakes: Lakes, appended_clean: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = lakes.lake_with_day2(tmp_path / "lake")
    changed = bronze_files(lake)[0]
    _append(changed)

    assert main(["silver", "--lake", str(lake)]) == 0
    report = capsys.readouterr().out
    rel = changed.relative_to(lake / "bronze" / "orders")
    assert f"file changed since it was read, read again whole: {rel}" in report
    assert fingerprint(lake) == appended_clean, "the new rows are in; the file's earlier rows are not doubled"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: _append(p), "holds 500 records but Spark read 502 rows"),
        (
            lambda p: p.write_text("\n".join(p.read_text().splitlines()[:-5]) + "\n"),
            "holds 500 records but Spark read 495 rows",
        ),
    ],
    ids=["grows", "shrinks"],
)
def test_a_file_that_changes_while_the_run_reads_it_stops_the_run(
    change: Callable[[Path], None],
    message: str,
    lakes: Lakes,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Between the run's own count of a file's records and Spark's read of it, a writer changes the file."""
    lake = copy_lake(lakes.day1_processed, tmp_path / "lake")
    lakes.add_day2(lake)
    before = fingerprint(lake)
    victim = bronze_files(lake)[-1]
    read_bronze = bronze.read_bronze

    def changed_meanwhile(*args: Any, **kwargs: Any) -> Any:
        change(victim)
        return read_bronze(*args, **kwargs)

    monkeypatch.setattr(bronze, "read_bronze", changed_meanwhile)
    assert main(["-q", "silver", "--lake", str(lake)]) == 1
    line = one_line(capsys.readouterr().err)
    assert "does not reconcile: the new bronze files hold 1500 records but Spark read" in line
    assert f"{victim.name} {message}" in line and "nothing was committed" in line
    assert fingerprint(lake) == before
    assert not any((lake / "silver" / "_staging").iterdir())
    monkeypatch.undo()
    assert main(["-q", "silver", "--lake", str(lake)]) == 0, "a rerun reads the file as it is now"


def test_a_copy_in_progress_is_left_for_the_next_run(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("order_id,order_date\n1,2026-03-01\n")
    listed = FileInfo(str(path), path.stat().st_size)
    # the copy goes on after the listing
    _append(path, "2,2026-03-0")
    outcome = inspect(LocalStorage(), listed)
    assert isinstance(outcome, NotRead) and "changed while it was read" in outcome.reason
    assert "The next run reads it" in outcome.reason
