"""How many bytes an incremental silver run's order-index lookup reads, on 30 and on 1,095 days of history at a
constant daily volume (docs/decisions/0008-silver-reads.md).

``python -m bench.index_growth --daily 27397 --horizon 7`` (the issue's volume; bench/README.md has the figures):
the index of each history as a full refresh writes it (a part per order date) under a temporary folder, then a
run of a new day: a day of new ids plus 2% corrections of the last days' orders, each looked up within the
horizon of its date, and the index after the run staged (its new part, compaction). Prints what ``Storage``
counted: the bytes and objects read by load + lookup, and by the commit's staging of the index."""

from __future__ import annotations

import argparse
import json
import os
import tempfile

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from glue_jobs import order_index
from glue_jobs.storage import IoCounts, LocalStorage

HISTORIES = (30, 1_095)
EPOCH_DAY = 19_000


def _silver(root: str, days: int, daily: int, first: int = 0) -> str:
    """``days`` order_date partitions of ``daily`` order ids each (only the column the index reads)."""
    table = os.path.join(root, "silver_orders")
    for day in range(first, first + days):
        folder = os.path.join(table, f"order_date={np.datetime64(EPOCH_DAY + day, 'D')}")
        os.makedirs(folder, exist_ok=True)
        ids = pa.array([f"o-{day:05d}-{i:07d}" for i in range(daily)])
        pq.write_table(pa.table({"order_id": ids}), os.path.join(folder, "part-0.parquet"))
    return table


def run_reads(root: str, days: int, daily: int, horizon: int) -> dict[str, int]:
    """What a run of day ``days`` reads of an index of ``days`` days of ``daily`` orders."""
    storage = LocalStorage()
    silver = _silver(root, days, daily)
    index_root = os.path.join(root, "order_index")
    built = order_index.of_full_refresh(storage, silver, index_root, "part-r0", index_root)
    bookmark = {"order_index": order_index.manifest(built.files)}
    # the new day: its new orders, and 2% corrections of orders of the last three days, on their own dates
    new_day = days
    staged = _silver(os.path.join(root, "staged"), 1, daily, first=new_day)
    corrections = [(f"o-{days - 1 - i % 3:05d}-{i:07d}", days - 1 - i % 3) for i in range(daily // 50)]
    ids = [f"o-{new_day:05d}-{i:07d}" for i in range(daily)] + [c[0] for c in corrections]
    dates = [new_day] * daily + [c[1] for c in corrections]
    bound = order_index.Bound(
        pa.array(ids), pa.array(np.array(dates, np.int32) + EPOCH_DAY).cast(pa.date32()), horizon
    )
    storage.counts = IoCounts()
    window = order_index.window_days(built.files, bound)
    index = order_index.load(storage, bookmark, index_root, silver_has_rows=True, days=window)
    order_index.lookup(index, None, bound)
    lookup = storage.counts
    storage.counts = IoCounts()
    after = order_index.after_run(index, staged, pa.array(ids[:daily]), "part-r1")
    order_index.stage(after, os.path.join(root, "staging"))
    size = sum(os.path.getsize(os.path.join(index_root, f.name)) for f in built.files)
    return {
        "index_bytes": size,
        "index_files": len(built.files),
        "lookup_bytes": lookup.bytes_read,
        "lookup_objects": lookup.objects_read,
        "commit_bytes": storage.counts.bytes_read,
        "bookmark_manifest_bytes": len(json.dumps(bookmark).encode()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--daily", type=int, default=2_000, help="orders a day")
    parser.add_argument("--horizon", type=int, default=7, help="correction horizon in days (prod's: 7)")
    args = parser.parse_args()
    for days in HISTORIES:
        with tempfile.TemporaryDirectory(prefix="index-growth-") as root:
            got = run_reads(root, days, args.daily, args.horizon)
        print(
            f"{days:>5} days of {args.daily} orders, horizon {args.horizon}: index {got['index_bytes']:,} B in "
            f"{got['index_files']} files; a run's load + lookup read {got['lookup_bytes']:,} B from "
            f"{got['lookup_objects']} objects, its commit read {got['commit_bytes']:,} B; the bookmark's index "
            f"listing {got['bookmark_manifest_bytes']:,} B"
        )


if __name__ == "__main__":
    main()
