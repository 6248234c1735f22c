"""Helpers for the silver job's tests: write bronze files by hand, read silver back with DuckDB.

Imported by package path (tests.silver.helpers), as every folder's helpers.py is; the fixtures stay in conftest.py."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

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


def silver_pairs(lake: Path) -> set[tuple[str, str]]:
    """silver_orders' (order_id, order_date) pairs."""
    return {(k, str(v["order_date"])) for k, v in silver_rows(lake).items()}


def index_files(lake: Path) -> list[Path]:
    """The order index's files as the bookmark lists them, oldest first."""
    state = lake / "_state" / "silver"
    listed = json.loads((state / "bookmark.json").read_text())["order_index"]["files"]
    return [state / "order_index" / f["name"] for f in listed]


def index_pairs(lake: Path) -> set[tuple[str, str]]:
    """The order index's (order_id, order_date) pairs, the newest file's entry of each order winning; asserts
    that each file is sorted by its key and that each key is its order_id's."""
    from glue_jobs import order_index

    latest: dict[str, str] = {}
    for path in index_files(lake):
        table = pq.read_table(path)
        keys = table["key"].to_numpy()
        assert list(keys) == sorted(keys), f"{path.name} is not sorted by key"
        assert list(keys) == list(order_index.keys(table["order_id"])), f"{path.name}: a key is not its id's"
        latest.update(
            zip(table["order_id"].to_pylist(), map(str, table["order_date"].to_pylist()), strict=True)
        )
    return set(latest.items())
