"""Damaged state: the run stops with one line that names the file and the repair, never reads everything again
silently; the repair (`--full-refresh`) gives exactly the lake of a clean run; a lost bookmark doubles nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lakehouse.cli import main
from tests.reliability.helpers import Lakes, die_during_commit, fingerprint, one_line

pytestmark = pytest.mark.spark

DAMAGE = {
    "truncated to 0 bytes": ("", "0 bytes, no content"),
    "not JSON": ('{"version": 1, "files": {"ingest_date=', "not JSON"),
    "a key missing": ('{"version": 1}', "'files' must map each bronze file"),
    "a size that is not a number": ('{"version": 1, "files": {"a.csv": "12"}}', "'files' must map"),
    "an unknown version": ('{"version": 7, "files": {}}', "version 1"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_bookmark_stops_the_run_with_the_file_and_the_repair(
    damage: str, lakes: Lakes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = lakes.lake_with_day2(tmp_path / "lake")
    bookmark = lake / "_state" / "silver" / "bookmark.json"
    content, problem = DAMAGE[damage]
    bookmark.write_text(content)
    before = fingerprint(lake)

    assert main(["-q", "silver", "--lake", str(lake)]) == 1
    line = one_line(capsys.readouterr().err)
    assert f"silver state file {bookmark} is damaged" in line and problem in line
    assert "lakehouse silver --full-refresh" in line
    assert fingerprint(lake) == before, "nothing was read, nothing was written"


def test_the_repair_of_a_damaged_bookmark_gives_the_clean_lake(lakes: Lakes, tmp_path: Path) -> None:
    lake = lakes.lake_with_day2(tmp_path / "lake")
    (lake / "_state" / "silver" / "bookmark.json").write_text("")
    assert main(["-q", "silver", "--lake", str(lake), "--full-refresh"]) == 0
    assert fingerprint(lake) == lakes.clean


def test_a_lost_bookmark_rereads_bronze_without_doubling_the_quarantine(lakes: Lakes, tmp_path: Path) -> None:
    from glue_jobs.local import run_silver

    lake = lakes.lake_with_day2(tmp_path / "lake")
    run_silver(lake)
    assert fingerprint(lake) == lakes.clean
    (lake / "_state" / "silver" / "bookmark.json").unlink()

    # every bronze file looks new: all of them are read again
    again = run_silver(lake)
    assert again.files_read == 4 and again.rows_rejected > 0
    assert fingerprint(lake) == lakes.clean, (
        "re-read files replace their own quarantine rows, never add to them"
    )


def test_a_damaged_journal_stops_the_run_and_the_full_refresh_repairs_it(
    lakes: Lakes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = lakes.lake_with_day2(tmp_path / "lake")
    die_during_commit(monkeypatch, lambda: main(["-q", "silver", "--lake", str(lake)]), lambda n, s: n == 1)
    (journal,) = (lake / "silver" / "_staging").glob("*/_journal.json")
    journal.write_text(json.dumps({"swaps": "?"}))

    assert main(["-q", "silver", "--lake", str(lake)]) == 1
    line = one_line(capsys.readouterr().err)
    assert f"silver state file {journal} is damaged" in line and "--full-refresh" in line
    assert main(["-q", "gold", "--lake", str(lake)]) == 1, "gold cannot complete a damaged commit either"
    assert f"{journal} is damaged" in one_line(capsys.readouterr().err)

    assert main(["-q", "silver", "--lake", str(lake), "--full-refresh"]) == 0
    assert fingerprint(lake) == lakes.clean
