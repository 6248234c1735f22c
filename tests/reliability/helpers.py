"""Helpers of the fault-injection suite: small lakes, a clean run to compare with, and a fingerprint of a lake.

A fault is judged by what the lake holds afterwards, never by an exit code alone: the fingerprint is the row
count and a checksum of every row of ``silver_orders`` and ``silver_orders_rejected`` (and the bookmark), and a
lake that went through a fault must end with the fingerprint of a lake that went through none."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from glue_jobs import commit
from glue_jobs.table import Swap

REPO = Path(__file__).resolve().parents[2]
TABLES = {
    "silver_orders": "silver/silver_orders/order_date=*/*.parquet",
    "silver_orders_rejected": "silver/silver_orders_rejected/ingest_date=*/*.parquet",
}
# Two landings of generated orders (defects included: re-sent rows, late corrections, bad values), as the
# ingestion writes them; both cover the same order dates, so the second run merges into existing partitions.
LANDINGS = (
    {"seed": 3, "start_date": dt.date(2026, 3, 1), "ingested_at": dt.datetime(2026, 3, 5, 2, tzinfo=dt.UTC)},
    {"seed": 4, "start_date": dt.date(2026, 3, 1), "ingested_at": dt.datetime(2026, 3, 6, 2, tzinfo=dt.UTC)},
)


@dataclass(frozen=True)
class Fingerprint:
    counts: dict[str, int]
    checksums: dict[str, str]
    # the files and sizes it records (its raw text when it is not valid)
    bookmark: dict[str, int] | str

    # what a failed comparison shows
    def __str__(self) -> str:
        return f"rows {self.counts}, checksums {self.checksums}, {len(self.bookmark)} bookmarked files"


def fingerprint(lake: Path, without: tuple[str, ...] = ()) -> Fingerprint:
    """Row count and checksum of each silver table (every column of every row, order-independent); ``without``:
    leave out the rows of these source files (to compare the rest of a lake with a clean run)."""
    counts, checksums = {}, {}
    with duckdb.connect() as con:
        for table, glob in TABLES.items():
            rows: list[tuple[Any, ...]] = []
            if list(lake.glob(glob)):
                rows = con.execute(
                    "select * from read_parquet(?, hive_partitioning = true)"
                    " where not list_contains(cast(? as varchar[]), source_file) order by all",
                    [str(lake / glob), list(without)],
                ).fetchall()
            counts[table] = len(rows)
            checksums[table] = hashlib.sha256(repr(rows).encode()).hexdigest()[:16]
    bookmark_file = lake / "_state" / "silver" / "bookmark.json"
    text = bookmark_file.read_text() if bookmark_file.exists() else "{}"
    try:
        bookmark = json.loads(text).get("files", text)
    except (ValueError, AttributeError):
        bookmark = text
    return Fingerprint(counts, checksums, bookmark)


def land(lake: Path, landing: dict[str, Any], rows: int = 1500) -> list[Path]:
    """One ingestion run into ``lake``'s bronze: two files of generated orders with 5% defects."""
    from ingestion.local import ingest_to_lake

    summary = ingest_to_lake(
        lake, rows=rows, days=4, defect_rate=0.05, rows_per_file=1000, progress=False, **landing
    )
    return summary.files


def copy_lake(source: Path, into: Path) -> Path:
    shutil.copytree(source, into)
    return into


def bronze_files(lake: Path) -> list[Path]:
    return sorted(lake.glob("bronze/orders/*/*.csv"))


class Killed(BaseException):
    """Not an Exception: nothing in the job may catch it, as nothing can catch SIGKILL."""


SwapPick = Callable[[int, Swap], bool]


def kill_at_swap(pick: SwapPick) -> Callable[[int, Swap], None]:
    """A ``commit.before_swap`` hook that kills the run before the first swap ``pick`` chooses."""

    def hook(n: int, swap: Swap) -> None:
        if pick(n, swap):
            raise Killed(f"killed before swap {n} ({swap.kind} {swap.target})")

    return hook


def die_during_commit(monkeypatch: pytest.MonkeyPatch, run: Callable[[], Any], pick: SwapPick) -> None:
    """Run ``run`` and let it die before the swap ``pick`` chooses: its journal stays, silver half-swapped."""
    monkeypatch.setattr(commit, "before_swap", kill_at_swap(pick))
    with pytest.raises(Killed):
        run()
    monkeypatch.setattr(commit, "before_swap", None)


def one_line(stderr: str) -> str:
    """The single line of a failure on stderr: fails the test if there is more (a traceback, a log dump)."""
    lines = stderr.strip("\n").splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, (
        f"expected one line on stderr, got:\n{stderr[-3000:]}"
    )
    return lines[0]


@contextmanager
def warehouse_held(warehouse: Path, *, read_only: bool) -> Iterator[int]:
    """Another process (its pid yielded) holds ``warehouse`` open while the block runs: a writer (dbt) or a reader
    (a notebook)."""
    code = "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == '1'); print('open', flush=True); time.sleep(300)"  # fmt: skip
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(warehouse), "1" if read_only else "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        yield holder.pid
    finally:
        holder.kill()
        holder.wait()


@dataclass(frozen=True)
class Lakes:
    # day 1 landed and through silver
    day1_processed: Path
    # the files day 2 lands (copy them into a lake with `add_day2`)
    day2_bronze: list[Path]
    # what silver holds after day 1 and day 2, each run once, nothing going wrong
    clean: Fingerprint

    def add_day2(self, lake: Path) -> None:
        for f in self.day2_bronze:
            target = lake / f.relative_to(f.parents[3])
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, target)
            shutil.copy2(f"{f}.manifest.json", f"{target}.manifest.json")

    def lake_with_day2(self, into: Path) -> Path:
        """A copy of the lake after day 1, with day 2 landed and not yet read by silver."""
        lake = copy_lake(self.day1_processed, into)
        self.add_day2(lake)
        return lake


class Clock:
    """A clock a test moves by hand (the S3 lease takes one), starting at ``start``."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now
