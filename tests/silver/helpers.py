"""Helpers for the silver job's tests: write bronze files by hand, read silver back with DuckDB.

Imported by package path (tests.silver.helpers), as every folder's helpers.py is; the fixtures stay in conftest.py."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import duckdb

HEADER = "order_id,order_date,customer_id,country,product,quantity,unit_price"


def bronze_file(lake: Path, stamp: str, unique: str, lines: list[str], header: str = HEADER) -> Path:
    """Write ``orders_lambda_<stamp>_<unique>.csv`` (stamp ``YYYYMMDD_HHMMSS``) into its ingest_date folder."""
    day = f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}"
    folder = lake / "bronze" / "orders" / f"ingest_date={day}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"orders_lambda_{stamp}_{unique}.csv"
    path.write_text("\n".join([header, *lines]) + "\n")
    return path


def silver_rows(lake: Path) -> dict[str, dict[str, Any]]:
    """silver_orders as {order_id: row}; asserts one row per order_id."""
    glob = lake / "silver" / "silver_orders" / "order_date=*" / "*.parquet"
    if not list(lake.glob("silver/silver_orders/order_date=*/*.parquet")):
        return {}
    with duckdb.connect() as con:
        rel = con.execute(f"select * from read_parquet('{glob}', hive_partitioning=true) order by order_id")
        names = [d[0] for d in rel.description]
        rows = [dict(zip(names, r, strict=True)) for r in rel.fetchall()]
    by_id = {r["order_id"]: r for r in rows}
    assert len(by_id) == len(rows), "silver must hold one row per order_id"
    return by_id


def rejected_rows(lake: Path) -> list[dict[str, Any]]:
    if not list(lake.glob("silver/silver_orders_rejected/ingest_date=*/*.parquet")):
        return []
    glob = lake / "silver" / "silver_orders_rejected" / "ingest_date=*" / "*.parquet"
    with duckdb.connect() as con:
        rel = con.execute(f"select * from read_parquet('{glob}', hive_partitioning=true)")
        names = [d[0] for d in rel.description]
        return [dict(zip(names, r, strict=True)) for r in rel.fetchall()]


def tree_digest(root: Path) -> dict[str, str]:
    """Every file below ``root`` (path relative to it) and the hash of its bytes."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
