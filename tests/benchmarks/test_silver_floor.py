"""The silver baseline (bench/baselines/silver_duckdb.py) applies the silver job's rules: on the same bronze it writes
the same silver and the same quarantine, row for row, and the same figures. Otherwise the bench's ratio would
compare Spark with a different job."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from bench.baselines.silver_duckdb import run_silver_duckdb
from bench.run import REPO

pytestmark = pytest.mark.spark

HEADER = "order_id,order_date,customer_id,country,product,quantity,unit_price"
READ = "select * from read_parquet('{}/*/*.parquet', hive_partitioning = true)"


def _bronze(lake: Path) -> None:
    """Generated days with every defect kind, then hand-written files: a later and an earlier re-send of a generated
    order, a reordered header with an extra column (short, long, unsplittable lines, a quoted comma, a bad price,
    values over the job's length bounds), a header that lacks required columns, a file that is not UTF-8, a row of
    25,001 fields (also in a file landed in the future), a headerless file and a UTF-16 one (no header either)."""
    from ingestion.local import ingest_to_lake

    for start, days, seed, landed in ((1, 2, 5, None), (4, 1, 6, dt.datetime(2026, 3, 5, 2, tzinfo=dt.UTC))):
        ingest_to_lake(
            lake, rows=1500 * days, days=days, start_date=dt.date(2026, 3, start), seed=seed, defect_rate=0.06,
            rows_per_file=1500, progress=False, ingested_at=landed,
        )  # fmt: skip
    first = sorted(lake.glob("bronze/orders/*/*.csv"))[0].read_text().splitlines()[1].split(",")
    folder = lake / "bronze" / "orders" / "ingest_date=2026-03-06"
    folder.mkdir(parents=True)
    resent = ",".join([first[0], "2026-03-02", *first[2:5], "9", first[6]])
    (folder / "orders_lambda_20260306_020000_resend.csv").write_text(f"{HEADER}\n" + resent + "\n")
    (folder / "orders_lambda_20200101_000000_stale.csv").write_text(
        f"{HEADER}\n" + resent.replace(",9,", ",8,") + "\n"
    )
    (folder / "orders_lambda_20260306_030000_hand.csv").write_text(
        "product,order_id,unit_price,quantity,customer_id,country,order_date,note\n"
        "p001,H1,10.00,2,C1,us,2026-03-01,x\n"
        "P001,H2,10.00,2,C1,US,2026-03-01\n"
        "P001,H3,10.00,2,C1,US,2026-03-01,a,b,c\n"
        'P001,H4,10.00,2,"C1,2",US,2026-03-01,\n'
        "P001,H5,1.234,2,C1,US,2026-03-01,\n"
        "P001,H6,,2,C1,US,2026-03-01,\n"
        f"P001,{'H' * 65},10.00,2,C1,US,2026-03-01,\n"
        f"P001,H7,10.00,{'0' * 20}2,C1,US,2026-03-01,\n"
        f"P001,H8,10.00,2,C1, {'U' * 17} ,2026-03-01,\n"
    )
    (folder / "orders_lambda_20260306_050000_latin1.csv").write_bytes(
        f"{HEADER}\nL1,2026-03-01,Café,US,P001,1,5.00\nL2,2026-03-01,C2,US,P001,1,5.00,extra\n".encode(
            "latin-1"
        )
    )
    (folder / "orders_lambda_20260306_040000_nocol.csv").write_text(
        "order_id,order_date,customer_id\nN1,2026-03-01,C1\n"
    )
    wide = ",".join(["W1", "2026-03-01", *(["x"] * 24_999)])
    for stamp, first_id in (("20260306_060000", "W0"), ("20990101_000000", "W9")):
        (folder / f"orders_lambda_{stamp}_wide.csv").write_text(
            f"{HEADER}\n{first_id},2026-03-01,C1,US,P001,1,5.00\n{wide}\n"
        )
    (folder / "orders_lambda_20260306_070000_headerless.csv").write_text(
        "M1,2026-03-01,C1,US,P001,1,5.00\n\nM2,2026-03-01,C1,US,P001,1,5.00\n"
    )
    (folder / "orders_lambda_20260306_080000_utf16.csv").write_bytes(
        f"{HEADER}\nU1,2026-03-01,Zoë,US,P001,1,5.00\n".encode("utf-16")
    )


def test_the_duckdb_floor_writes_what_the_silver_job_writes(spark: object, tmp_path: Path) -> None:
    from glue_jobs.local import run_silver

    lake = tmp_path / "lake"
    _bronze(lake)
    job = run_silver(lake)
    floor = run_silver_duckdb(lake / "bronze" / "orders", tmp_path / "floor", REPO / "seeds")

    for key in ("rows_read", "rows_written", "rows_rejected", "rejected_by_reason", "duplicates_dropped"):
        assert floor[key] == getattr(job, key), key
    assert job.duplicates_dropped > 2 and len(job.rejected_by_reason) >= 9, (
        "the bronze must exercise the rules"
    )
    whole_file_and_bounds = {
        "not_utf8": 4,
        "missing_column": 1,
        "missing_header": 2,
        "value_too_long": 3,
        "too_many_fields": 1,
    }
    assert {r: job.rejected_by_reason.get(r) for r in whole_file_and_bounds} == whole_file_and_bounds
    with duckdb.connect() as con:
        for table in ("silver_orders", "silver_orders_rejected"):
            ours, theirs = READ.format(tmp_path / "floor" / table), READ.format(lake / "silver" / table)
            assert con.execute(f"describe {ours}").fetchall() == con.execute(f"describe {theirs}").fetchall()
            differ = con.execute(f"select count(*) from (({ours}) except all ({theirs}))").fetchone()[0]
            missing = con.execute(f"select count(*) from (({theirs}) except all ({ours}))").fetchone()[0]
            assert differ == missing == 0, table
