"""A small staged commit without Spark, for the tests of what readers and a second applier see: a live table
whose partitions the journal replaces (two files by two) or deletes, and the bookmark it moves."""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq

from glue_jobs import commit
from glue_jobs.journal import Journal, Paths, Swap, write_journal
from glue_jobs.storage import Storage, join

RUN = "run1"
GONE = "order_date=2026-03-09"
BOOKMARK = {"ingest_date=2026-03-03/f.csv": 10}
Rows = Counter[tuple[str, int]]
Files = dict[str, dict[str, int]]


def old_files(day: str) -> Files:
    """order_id -> version, per file, before the commit."""
    return {"part-0-old.parquet": {f"{day}-a": 1, f"{day}-b": 1}, "part-1-old.parquet": {f"{day}-c": 1}}


def new_files(day: str) -> Files:
    """After: order a rewritten, d added, b and c kept and spread anew."""
    return {
        "part-0-new.parquet": {f"{day}-a": 2, f"{day}-b": 1},
        "part-1-new.parquet": {f"{day}-c": 1, f"{day}-d": 1},
    }


def rows(files: Files) -> Rows:
    return Counter((order, version) for versions in files.values() for order, version in versions.items())


def parquet(versions: dict[str, int]) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.table({"order_id": list(versions), "version": list(versions.values())}), buffer)
    return buffer.getvalue()


def read_partition(storage: Storage, folder: str) -> Rows:
    """What Athena does with a partition: list its prefix (``_`` and ``.`` files left out), read every file."""
    found: Rows = Counter()
    for info in storage.list_files(folder, ".parquet"):
        data = storage.read_bytes(info.path)
        assert data is not None, f"{info.path} was listed, then gone before it was read"
        table = pq.read_table(pa.BufferReader(data))
        found.update(zip(table["order_id"].to_pylist(), table["version"].to_pylist(), strict=True))
    return found


@dataclass(frozen=True)
class StagedCommit:
    paths: Paths
    journal: Journal
    table: str
    days: list[str]

    def partition(self, day: str) -> str:
        return join(self.table, day)


def staged_commit(storage: Storage, base: str, days: list[str]) -> StagedCommit:
    """Each of ``days`` replaced, GONE deleted, the bookmark moved: journalled, nothing applied yet."""
    paths = Paths(f"{base}/silver", f"{base}/_state/silver", f"{base}/_runs/silver")
    table, staged = f"{base}/silver/silver_orders", join(paths.staging(RUN), "silver_orders")
    folders = [(join(table, GONE), {"part-0-old.parquet": {"moved": 1}})]
    for day in days:
        folders += [(join(table, day), old_files(day)), (join(staged, day), new_files(day))]
    for folder, files in folders:
        for name, versions in files.items():
            storage.write_bytes(join(folder, name), parquet(versions))
    swaps = [Swap.replace(join(staged, d), join(table, d)) for d in days]
    journal = Journal(
        (*swaps, Swap.delete(join(table, GONE)), commit.bookmark_swap(storage, paths, RUN, BOOKMARK)),
        {"run_id": RUN},
    )
    write_journal(storage, paths, RUN, journal)
    return StagedCommit(paths, journal, table, days)
