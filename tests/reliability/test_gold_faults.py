"""Gold says what happened: silver orders that landed before gold's lookback window, and a damaged
warehouse. Each case ends with the gold marts a clean build of the same silver makes, and silver untouched."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from ingestion.local import ingest_to_lake
from lakehouse import gold_build
from lakehouse.cli import main
from lakehouse.dbt import DbtError
from lakehouse.summaries import GOLD_TABLES
from tests.gold.helpers import build
from tests.reliability.helpers import Lakes, copy_lake, fingerprint, one_line, warehouse_held

pytestmark = pytest.mark.dbt

# After day 1 (landed 2026-03-05 and 03-06) gold holds orders up to 2026-03-06 02:00, so its next build reads what
# landed after 03-03 02:00 (lookback_days: 3). Then a new day lands on 03-12, and a producer's file stamped
# 2026-03-02: older than that window.
NEW_DAY = {
    "seed": 21,
    "start_date": dt.date(2026, 3, 11),
    "ingested_at": dt.datetime(2026, 3, 12, 2, tzinfo=dt.UTC),
}
LATE = {
    "seed": 22,
    "start_date": dt.date(2026, 3, 1),
    "ingested_at": dt.datetime(2026, 3, 2, 2, tzinfo=dt.UTC),
}


def gold_fingerprint(lake: Path) -> dict[str, tuple[int, str]]:
    """Rows and a checksum of every row of each gold mart."""
    with duckdb.connect(str(lake / "warehouse.duckdb"), read_only=True) as con:
        marts = {
            table: con.execute(f"select * from gold.{table} order by all").fetchall() for table in GOLD_TABLES
        }
    return {
        table: (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest()[:16])
        for table, rows in marts.items()
    }


@dataclass(frozen=True)
class GoldLakes:
    # day 1 through silver and gold
    built: Path
    # then the new day and the late file through silver; gold not run yet
    late_landed: Path
    # that lake, its gold built with --full-refresh: what every way through must end with
    late_clean: Path
    late_file: str


@pytest.fixture(scope="module")
def gold_lakes(lakes: Lakes, tmp_path_factory: pytest.TempPathFactory) -> GoldLakes:
    from glue_jobs.local import run_silver

    root = tmp_path_factory.mktemp("gold-faults")
    built = copy_lake(lakes.day1_processed, root / "built")
    assert main(["-q", "gold", "--lake", str(built)]) == 0
    late_landed = copy_lake(built, root / "late-landed")
    for landing in (NEW_DAY, LATE):
        files = ingest_to_lake(late_landed, rows=400, days=1, progress=False, **landing).files
    run_silver(late_landed)
    late_clean = copy_lake(late_landed, root / "late-clean")
    assert main(["-q", "gold", "--lake", str(late_clean), "--full-refresh"]) == 0
    return GoldLakes(built, late_landed, late_clean, files[0].name)


def test_orders_that_land_before_the_lookback_window_are_absorbed(
    gold_lakes: GoldLakes, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The reconciliation failed, naming neither the late file nor `--full-refresh`; now the build follows silver:
    it runs again with a lookback reaching the late file, and ends with the marts of a full refresh."""
    lake = copy_lake(gold_lakes.late_landed, tmp_path / "lake")
    silver = fingerprint(lake)

    assert main(["-q", "gold", "--lake", str(lake)]) == 0
    warnings = [r.getMessage() for r in caplog.records if r.name == "lakehouse.gold_build"]
    assert len(warnings) == 1 and "1 silver file(s) landed before the lookback window" in warnings[0]
    assert "oldest 2026-03-02 02:00:00: building again with a lookback of" in warnings[0]
    assert gold_fingerprint(lake) == gold_fingerprint(gold_lakes.late_clean)
    assert fingerprint(lake) == silver


def test_late_orders_gold_cannot_absorb_are_named_with_the_fix(
    gold_lakes: GoldLakes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """When the wider build does not take them either (here: it is kept at the project's lookback), one line names
    the late file and `lakehouse gold --full-refresh`, and following it gives the clean marts."""
    lake = copy_lake(gold_lakes.late_landed, tmp_path / "lake")
    monkeypatch.setattr(gold_build, "lookback_covering", lambda start, lookback, files: lookback)
    assert main(["-q", "gold", "--lake", str(lake)]) == 1
    line = one_line(capsys.readouterr().err)
    assert line.startswith(
        "lakehouse gold: error: gold failed: gold does not reconcile with silver: 1 file(s) landed before gold's "
        "lookback window (ingested at or before 2026-03-09 02:00:00: the newest landing in gold minus "
        f"lookback_days, 3), which an incremental build does not read: {gold_lakes.late_file} ("
    )
    assert line.endswith(
        "orders, landed 2026-03-02 02:00:00); rebuild gold with `lakehouse gold --full-refresh`"
    )

    monkeypatch.undo()
    assert main(["-q", "gold", "--lake", str(lake), "--full-refresh"]) == 0
    assert gold_fingerprint(lake) == gold_fingerprint(gold_lakes.late_clean)


def test_plain_dbt_names_the_late_files_and_the_fix(gold_lakes: GoldLakes, tmp_path: Path) -> None:
    """`dbt build` itself (no `lakehouse gold` to widen the lookback) failed the reconciliation with dbt's bare
    "Got 3 results, configured to fail if != 0"; now the test stops with one line naming the late file and the
    fix, and following the fix gives the clean marts."""
    lake = copy_lake(gold_lakes.late_landed, tmp_path / "lake")
    with pytest.raises(DbtError) as failed:
        build(lake)
    assert (
        "assert_gold_reconciles_with_silver (error: gold does not reconcile with silver: 1 file(s) landed before "
        "gold's lookback window (ingested at or before 2026-03-09 02:00:00: the newest landing in gold minus "
        f"lookback_days, 3), which an incremental build does not read: {gold_lakes.late_file} ("
    ) in str(failed.value)
    assert (
        "orders, landed 2026-03-02 02:00:00); rebuild gold with `lakehouse gold --full-refresh` (plain dbt: "
        "`dbt build --full-refresh`))"
    ) in str(failed.value)

    build(lake, "--full-refresh")
    assert gold_fingerprint(lake) == gold_fingerprint(gold_lakes.late_clean)


def _truncate(warehouse: Path) -> None:
    with warehouse.open("r+b") as handle:
        handle.truncate(100_000)


def _scribble(warehouse: Path) -> None:
    """Overwrite a block after the header: its checksum no longer matches."""
    with warehouse.open("r+b") as handle:
        handle.seek(12_288)
        handle.write(b"\xa5" * 512)


def _empty(warehouse: Path) -> None:
    warehouse.write_bytes(b"")


@pytest.mark.parametrize(
    ("damage", "what"),
    [
        (_truncate, "(IO Error: Could not read enough bytes from file: attempted to read"),
        (_scribble, "(Corrupt database file: computed checksum"),
        (_empty, "(IO Error: The file exists, but it is not a valid DuckDB database file!)"),
    ],
    ids=["truncated", "a-block-overwritten", "empty"],
)
@pytest.mark.parametrize("command", ["gold", "summary"])
def test_a_damaged_warehouse_is_one_line_saying_so_and_how_to_rebuild(
    gold_lakes: GoldLakes,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    damage: object,
    what: str,
    command: str,
) -> None:
    """A truncated warehouse gave a traceback from `gold`, then `summary` said it was in use by another process."""
    lake = copy_lake(gold_lakes.built, tmp_path / "lake")
    warehouse = lake / "warehouse.duckdb"
    damage(warehouse)  # type: ignore[operator]
    assert main(["-q", command, "--lake", str(lake)]) == 1
    captured = capsys.readouterr()
    line = one_line(captured.err)
    assert "Traceback" not in captured.out
    assert line.startswith(f"lakehouse {command}: error: ")
    assert f"the warehouse {warehouse} is damaged {what}" in line
    assert line.endswith(
        "delete it (and warehouse.duckdb.wal if there is one), then run `lakehouse gold`, which rebuilds it from silver"
    )
    assert "in use" not in line


def test_deleting_a_damaged_warehouse_and_running_gold_rebuilds_it(
    gold_lakes: GoldLakes, tmp_path: Path
) -> None:
    lake = copy_lake(gold_lakes.built, tmp_path / "lake")
    silver = fingerprint(lake)
    _truncate(lake / "warehouse.duckdb")
    assert main(["-q", "gold", "--lake", str(lake)]) == 1
    (lake / "warehouse.duckdb").unlink()
    assert main(["-q", "gold", "--lake", str(lake)]) == 0
    assert gold_fingerprint(lake) == gold_fingerprint(gold_lakes.built)
    assert fingerprint(lake) == silver
    shutil.rmtree(lake)


def test_gold_while_another_process_reads_the_warehouse_says_it_is_in_use(
    gold_lakes: GoldLakes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A reader (a notebook) holds the file: read-only opens still work, dbt's read-write open does not. The line
    says the warehouse is in use, by whom, and what to do (it was dbt's bare IO error)."""
    lake = copy_lake(gold_lakes.built, tmp_path / "lake")
    warehouse = lake / "warehouse.duckdb"
    with warehouse_held(warehouse, read_only=True):
        assert main(["-q", "gold", "--lake", str(lake)]) == 1
    line = one_line(capsys.readouterr().err)
    assert line.startswith(
        f"lakehouse gold: error: gold failed: the warehouse {warehouse} is in use by another process ("
    )
    assert line.endswith(
        "(`lakehouse gold` or dbt running?): wait for it to finish, then run `lakehouse gold` again"
    )
    assert gold_fingerprint(lake) == gold_fingerprint(gold_lakes.built)
