"""The order index on S3 (moto): every read and write goes through the job's boto3 Storage, as in AWS Glue, and
never through pyarrow's own S3 client (which moto does not intercept, and whose credentials and region discovery
are not the job's)."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from glue_jobs import order_index
from glue_jobs.order_index import Index, IndexDamaged
from glue_jobs.storage import S3Storage, join

BUCKET = "lake-bucket"
LAKE = f"s3://{BUCKET}/lake"
SILVER = f"{LAKE}/silver/silver_orders"
ROOT = f"{LAKE}/_state/silver/{order_index.INDEX_DIR}"


def _put_partition(s3: S3Storage, table: str, day: str, ids: list[str], name: str = "part-0.parquet") -> None:
    """A silver data file as Spark writes it: the partition column only in the folder name."""
    buffer = io.BytesIO()
    pq.write_table(pa.table({"order_id": ids, "amount": [1.5] * len(ids)}), buffer)
    s3.write_bytes(join(table, f"order_date={day}", name), buffer.getvalue())


def _pairs(table: pa.Table) -> set[tuple[str, str]]:
    return {
        (i, str(d))
        for i, d in zip(table["order_id"].to_pylist(), table["order_date"].to_pylist(), strict=True)
    }


def _commit(s3: S3Storage, index: Index, run: str) -> dict:
    """Stage the index's new files, put them in place (what the journal's put_file swaps do) and return the
    bookmark that lists them."""
    puts, files = order_index.stage(index, f"{LAKE}/silver/_staging/{run}/_state/{order_index.INDEX_DIR}")
    for put in puts:
        s3.move_file(put.staged, put.target)
    return {"order_index": order_index.manifest(files)}


def test_read_pairs_reads_silver_partitions_on_s3(s3: S3Storage) -> None:
    _put_partition(s3, SILVER, "2026-03-01", ["o1", "o2"])
    _put_partition(s3, SILVER, "2026-03-01", ["o3"], "part-1.parquet")
    _put_partition(s3, SILVER, "2026-03-02", ["o4"])
    _put_partition(s3, SILVER, "2026-03-09", ["hidden"], "_temporary/part-0.parquet")
    expected = {("o1", "2026-03-01"), ("o2", "2026-03-01"), ("o3", "2026-03-01"), ("o4", "2026-03-02")}
    pairs = order_index.read_pairs(s3, SILVER)
    assert _pairs(pairs) == expected and pairs.schema.equals(order_index.SCHEMA)
    assert list(pairs["key"].to_numpy()) == sorted(order_index.keys(pairs["order_id"]))
    assert _pairs(order_index.read_pairs(s3, SILVER, pa.array(["o2", "o4", "zz"]))) == {
        ("o2", "2026-03-01"),
        ("o4", "2026-03-02"),
    }
    assert order_index.read_pairs(s3, f"{LAKE}/silver/nothing").num_rows == 0


def test_the_index_on_s3_is_committed_loaded_looked_up_and_its_damage_found(s3: S3Storage) -> None:
    _put_partition(s3, SILVER, "2026-03-01", ["o1", "o2", "o3"])
    # (written to the run's staging as it is built, as the job does)
    staging = f"{LAKE}/silver/_staging/r1/_state/{order_index.INDEX_DIR}"
    bookmark = _commit(s3, order_index.of_full_refresh(s3, SILVER, ROOT, "part-r1", staging), "r1")
    # a second run moves o1 to 2026-03-05: its index file holds the new date, the older file still the old one
    staged = f"{LAKE}/silver/_staging/r2/silver_orders"
    _put_partition(s3, staged, "2026-03-05", ["o1", "o9"])
    loaded = order_index.load(s3, bookmark, ROOT, silver_has_rows=True)
    assert order_index.lookup(loaded, pa.array(["o1"])) == {"2026-03-01"}
    bookmark = _commit(s3, order_index.after_run(loaded, staged, pa.array(["o1"]), "part-r2"), "r2")
    assert [f["rows"] for f in bookmark["order_index"]["files"]] == [3, 1]
    index = order_index.load(s3, bookmark, ROOT, silver_has_rows=True)
    assert order_index.lookup(index, pa.array(["o1"])) == {"2026-03-01", "2026-03-05"}
    assert order_index.lookup(index, pa.array(["o3", "o9", "nope"])) == {"2026-03-01"}

    first = join(ROOT, "part-r1-2026-03-01-0.parquet")
    whole = s3.read_bytes(first)
    assert whole is not None
    s3.write_bytes(first, whole[: len(whole) // 2])
    with pytest.raises(IndexDamaged, match=r"part-r1-2026-03-01-0\.parquet cannot be read"):
        order_index.load(s3, bookmark, ROOT, silver_has_rows=True)
    s3.delete_tree(first)
    with pytest.raises(IndexDamaged, match=r"part-r1-2026-03-01-0\.parquet is missing"):
        order_index.load(s3, bookmark, ROOT, silver_has_rows=True)
    rebuilt = order_index.rebuild(
        s3, SILVER, ROOT, "part-r3", f"{LAKE}/silver/_staging/r3/_state/order_index"
    )
    bookmark = _commit(s3, rebuilt, "r3")
    index = order_index.load(s3, bookmark, ROOT, silver_has_rows=True)
    assert order_index.lookup(index, pa.array(["o1", "o2"])) == {"2026-03-01"}
    assert _pairs(index.read(index.files[0])) == {(f"o{n}", "2026-03-01") for n in (1, 2, 3)}
