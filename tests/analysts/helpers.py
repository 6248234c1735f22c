"""Helpers of the analysts' tests: a small built lake with a quarantine, and headless Chromium."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from lakehouse.dbt import run_dbt
from tests.gold.silver_fixtures import base_orders, dbt_args, write_silver

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# reject_reason, ingest_date, source_file: what the silver job's quarantine holds
REJECTED = [
    ("bad_date", "2026-02-07", "orders_lambda_20260207_060000_a.csv"),
    ("bad_date", "2026-02-07", "orders_lambda_20260207_060000_b.csv"),
    ("unknown_country", "2026-02-07", "orders_lambda_20260207_060000_a.csv"),
    ("malformed_row", "2026-02-08", "orders_lambda_20260208_060000_a.csv"),
]


def write_rejected(lake: Path, rows: list[tuple[str, str, str]]) -> None:
    """silver_orders_rejected as the silver job writes it: raw strings + reason, Hive-partitioned by ingest_date."""
    with duckdb.connect() as con:
        con.execute("create table r (reject_reason varchar, ingest_date varchar, source_file varchar)")
        con.executemany("insert into r values (?, ?, ?)", rows)
        for (day,) in con.execute("select distinct ingest_date from r").fetchall():
            folder = lake / "silver" / "silver_orders_rejected" / f"ingest_date={day}"
            folder.mkdir(parents=True)
            con.execute(
                "copy (select cast(null as varchar) as order_id, cast('2026-13-01' as varchar) as order_date, "
                "cast('C1' as varchar) as customer_id, cast('DE' as varchar) as country, "
                "cast('P001' as varchar) as product, cast('1' as varchar) as quantity, "
                "cast('9.99' as varchar) as unit_price, cast(null as varchar) as raw_record, reject_reason, "
                "source_file, cast(ingest_date || ' 06:00:00' as timestamp) as ingested_at "
                f"from r where ingest_date = ?) to '{folder / 'part-0.parquet'}' (format parquet)",
                [day],
            )


def build_small_lake(lake: Path) -> Path:
    """Silver orders and a quarantine, then `dbt build`: what `make demo` leaves, in miniature."""
    write_silver(lake, base_orders())
    write_rejected(lake, REJECTED)
    run_dbt(["build", *dbt_args(lake.parent)], lake)
    return lake


def chromium_or_skip() -> str:
    """Debian's chromium, or skip the test saying how to install it."""
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("Debian's chromium is not installed: `apt-get install chromium` runs this browser check")
