"""How many bytes an incremental silver run's order-index lookup reads, on 30 and on 1,095 days of history at a
constant daily volume (docs/decisions/0008-silver-reads.md).

``python -m bench.index_growth --daily 2000``: one index file of each history under a temporary folder, then a
lookup of a day of new ids plus 2% corrections of the last days' orders; prints what ``Storage`` counted."""

from __future__ import annotations

import argparse
import os
import tempfile

import numpy as np
import pyarrow as pa

from glue_jobs import order_index
from glue_jobs.storage import IoCounts, LocalStorage

HISTORIES = (30, 1_095)
EPOCH_DAY = 19_000


def lookup_bytes(root: str, days: int, daily: int) -> tuple[int, int]:
    """(the index file's size, the bytes load + lookup read) for ``days`` days of ``daily`` orders."""
    storage = LocalStorage()
    rows = days * daily
    ids = pa.array([f"o-{i:012d}" for i in range(rows)])
    dates = pa.array((np.arange(rows) // daily).astype(np.int32) + EPOCH_DAY).cast(pa.date32())
    name = f"d{days}.parquet"
    order_index.write_file(storage, order_index.entries(ids, dates), os.path.join(root, name))
    bookmark = {"order_index": order_index.manifest([order_index.IndexFile(name, rows)])}
    corrections = [f"o-{rows - 1 - i * 3:012d}" for i in range(daily // 50)]
    run = pa.array([f"new-{i}" for i in range(daily)] + corrections)
    storage.counts = IoCounts()
    index = order_index.load(storage, bookmark, root, silver_has_rows=True)
    order_index.lookup(index, run)
    return os.path.getsize(os.path.join(root, name)), storage.counts.bytes_read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--daily", type=int, default=2_000, help="orders a day")
    daily = parser.parse_args().daily
    with tempfile.TemporaryDirectory(prefix="index-growth-") as root:
        for days in HISTORIES:
            size, read = lookup_bytes(root, days, daily)
            print(f"{days:>5} days of {daily} orders: index {size:,} B, a run's lookup read {read:,} B")


if __name__ == "__main__":
    main()
