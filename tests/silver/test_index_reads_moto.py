"""What a run's index lookup reads on S3, measured on moto's server through real boto3 (HTTP, ranged GETs): the
footers once, then only the key and date column chunks of the row groups whose key range holds one of the run's
ids, never the whole objects."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pytest

from glue_jobs import order_index
from glue_jobs.storage import IoCounts, S3Storage, join

BUCKET = "index-reads"
ROOT = f"s3://{BUCKET}/lake/_state/silver/{order_index.INDEX_DIR}"
FILES = 3
# the run's own ids: a few corrections of known orders, and new ones
RUN_IDS = 6


@pytest.fixture(scope="module")
def moto_s3() -> Iterator[S3Storage]:
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    client = boto3.client(
        "s3",
        endpoint_url=f"http://{host}:{port}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket=BUCKET)
    try:
        yield S3Storage(client)
    finally:
        server.stop()


def _index(s3: S3Storage, prefix: str, parts: int, rows: int, first_day: int) -> dict:
    """An index of ``parts`` files of ``rows`` orders each (``<prefix>-<part>-<n>``), part n dated ``first_day`` + n,
    as the job writes them, and their bookmark."""
    files = []
    for n in range(parts):
        ids = pa.array([f"{prefix}-{n}-{i}" for i in range(rows)])
        days = pa.array(np.full(rows, first_day + n, dtype=np.int32)).cast(pa.date32())
        name = f"part-{prefix}-{n}.parquet"
        order_index.write_file(s3, order_index.entries(ids, days), join(ROOT, prefix, name))
        files.append(order_index.IndexFile(f"{prefix}/{name}", rows, str(np.datetime64(first_day + n, "D"))))
    return {"order_index": order_index.manifest(files)}


def _lookup_reads(s3: S3Storage, bookmark: dict, ids: pa.Array) -> tuple[set[str], IoCounts, int]:
    """The dates found, what load and lookup read, and the index's size in bytes."""
    s3.counts = IoCounts()
    index = order_index.load(s3, bookmark, ROOT, silver_has_rows=True)
    found = order_index.lookup(index, ids)
    size = sum(f.size for f in s3.list_files(ROOT) if any(f.path.endswith(e.name) for e in index.files))
    return found, s3.counts, size


def _run_ids(prefix: str) -> pa.Array:
    known = [f"{prefix}-{n % FILES}-{n * 7}" for n in range(RUN_IDS // 2)]
    return pa.array([*known, *[f"new-{n}" for n in range(RUN_IDS // 2)]])


def test_a_lookup_reads_the_same_bytes_from_a_ten_times_larger_index(moto_s3: S3Storage) -> None:
    small = _index(moto_s3, "small", FILES, 50_000, 20_500)
    large = _index(moto_s3, "large", FILES, 500_000, 20_500)

    small_dates, small_reads, small_size = _lookup_reads(moto_s3, small, _run_ids("small"))
    large_dates, large_reads, large_size = _lookup_reads(moto_s3, large, _run_ids("large"))

    # the lookups are right: each known id's date, nothing for the new ones
    expected = {str(np.datetime64(20_500 + n % FILES, "D")) for n in range(RUN_IDS // 2)}
    assert small_dates == expected and large_dates == expected
    assert large_size > 9 * small_size
    # each file is opened once to load its footer; the lookup's ranged reads reuse it
    assert small_reads.objects_read == large_reads.objects_read == FILES
    # the bytes depend on the run's keys and the number of files, not on how many orders the index holds
    assert large_reads.bytes_read <= 1.2 * small_reads.bytes_read
    assert large_reads.bytes_read < large_size / 5


def _bounded_reads(s3: S3Storage, bookmark: dict, prefix: str, days: int) -> tuple[set[str], IoCounts]:
    """A run of the last day: new orders, and corrections of orders of the last three days, horizon 7."""
    last = 20_000 + days - 1
    run = [(f"new-{n}", last) for n in range(RUN_IDS)] + [
        (f"{prefix}-{days - 1 - n}-{n}", last) for n in range(3)
    ]
    bound = order_index.Bound(
        pa.array([r[0] for r in run]), pa.array([r[1] for r in run], pa.int32()).cast(pa.date32()), 7
    )
    s3.counts = IoCounts()
    window = order_index.window_days(order_index.parse_manifest(bookmark) or [], bound)
    index = order_index.load(s3, bookmark, ROOT, silver_has_rows=True, days=window)
    return order_index.lookup(index, None, bound), s3.counts


def test_a_bounded_lookup_reads_the_same_from_ten_times_more_days(moto_s3: S3Storage) -> None:
    short = _index(moto_s3, "short", 10, 20_000, 20_000)
    long = _index(moto_s3, "long", 100, 20_000, 20_000)

    short_found, short_reads = _bounded_reads(moto_s3, short, "short", 10)
    long_found, long_reads = _bounded_reads(moto_s3, long, "long", 100)

    expected = {str(np.datetime64(20_000 + n, "D")) for n in (7, 8, 9)}
    assert short_found == expected
    assert long_found == {str(np.datetime64(20_000 + n, "D")) for n in (97, 98, 99)}
    # the parts within 7 days of the run's date: 8 of them, whatever the history
    assert short_reads.objects_read == long_reads.objects_read == 8
    assert long_reads.bytes_read <= 1.2 * short_reads.bytes_read
    # the same ids looked up in every part, as without the horizon: what the bound saves grows with the days
    moto_s3.counts = IoCounts()
    every = order_index.load(moto_s3, long, ROOT, silver_has_rows=True)
    order_index.lookup(every, pa.array([f"long-{99 - n}-{n}" for n in range(3)]))
    assert moto_s3.counts.objects_read == 100 and moto_s3.counts.bytes_read > 5 * long_reads.bytes_read
