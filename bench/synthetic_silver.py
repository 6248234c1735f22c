"""Synthetic silver lakes written with DuckDB in the silver contract's exact Parquet types, as the silver job leaves
them: the gold tests' small lakes and the gold benches' histories (bench/far_move_bytes.py,
tests/gold/test_correction_horizon.py). Here, not under tests/, so a bench runs without the tests on the path."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

import duckdb

# order_id, order_date, customer_id, country, product, quantity, unit_price, ingested_at
Order = tuple[str, str, str, str, int, str, str, str]

SILVER_SQL = """
select
    cast(order_id as varchar) as order_id,
    cast(customer_id as varchar) as customer_id,
    cast(country as varchar) as country,
    cast(product as varchar) as product,
    cast(quantity as integer) as quantity,
    cast(unit_price as decimal(10, 2)) as unit_price,
    cast(cast(quantity as integer) * cast(unit_price as decimal(10, 2)) as decimal(12, 2)) as revenue,
    cast(source_file as varchar) as source_file,
    cast(ingested_at as timestamp) as ingested_at,
    cast(order_date as date) as order_date
from orders
"""


def add_silver_file(lake: Path, orders: Iterable[Order], name: str) -> None:
    """Add a part file `name` to the order_date partitions of `orders`, beside what is there: how a defect the
    silver job never writes (a second row for an order_id, a null) is planted."""
    write_parts(lake, [(*o, name) for o in orders], name)


def write_parts(lake: Path, rows: list[tuple], name: str = "part-0.parquet") -> None:
    """Orders (each with its source_file) as part file `name` in their order_date partitions."""
    with duckdb.connect() as con:
        con.execute(
            "create table orders (order_id varchar, order_date varchar, customer_id varchar, country varchar, "
            "product varchar, quantity integer, unit_price varchar, ingested_at varchar, source_file varchar)"
        )
        con.executemany("insert into orders values (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        for (day,) in con.execute("select distinct order_date from orders").fetchall():
            folder = lake / "silver" / "silver_orders" / f"order_date={day}"
            folder.mkdir(parents=True, exist_ok=True)
            con.execute(
                f"copy ({SILVER_SQL} where order_date = ?) to '{folder / name}' (format parquet)", [day]
            )


PER_DAY = 5000
FIRST_DAY = dt.date(2025, 1, 1)


def write_history(lake: Path, days: int) -> None:
    """`days` days of PER_DAY orders each (ids random-looking, as in production), as the silver job writes them."""
    silver = lake / "silver" / "silver_orders"
    silver.mkdir(parents=True)
    orders = f"""
        select
            md5(cast(i as varchar)) as order_id,
            cast(date '{FIRST_DAY}' + cast(i // {PER_DAY} as integer) as varchar) as order_date,
            'C' || lpad(cast(i % 997 as varchar), 3, '0') as customer_id,
            ['US', 'GB', 'DE', 'FR', 'JP'][1 + i % 5] as country,
            ['P001', 'P003', 'P006', 'P010', 'P013', 'P017'][1 + i % 6] as product,
            1 + i % 4 as quantity,
            '19.99' as unit_price,
            cast(date '{FIRST_DAY}' + cast(i // {PER_DAY} as integer) + 1 as varchar) || ' 06:00:00' as ingested_at,
            'orders_lambda_' || cast(i // {PER_DAY} as varchar) || '.csv' as source_file
        from range({days * PER_DAY}) as t(i)
    """
    with duckdb.connect() as con:
        con.execute(f"create view orders as {orders}")
        con.execute(
            f"copy ({SILVER_SQL}) to '{silver}' (format parquet, partition_by (order_date), "
            "filename_pattern 'history_{i}')"
        )


def add_day(lake: Path, days: int, prefix: str = "N", name: str = "day.parquet") -> None:
    """Day number ``days``'s PER_DAY orders (ids ``<prefix><n>``), in a file ``name`` of their own."""
    day = FIRST_DAY + dt.timedelta(days=days)
    landed = f"{day + dt.timedelta(days=1)} 06:00:00"
    rows = [
        (f"{prefix}{n:06d}", day.isoformat(), f"C{n % 997:03d}", "GB", "P003", 2, "24.99", landed)
        for n in range(PER_DAY)
    ]
    add_silver_file(lake, rows, name)


# the models whose reads the correction horizon bounds: the order-version log, the merges of the order-dated marts, the key tests
def sweep(lake: Path) -> None:
    """Silver's sweep: every order in more than one partition keeps its latest version; the old row goes."""
    root = lake / "silver" / "silver_orders"
    with duckdb.connect() as con:
        for part in sorted(root.glob("order_date=*/*.parquet")):
            stale = con.execute(
                f"select count(*) from read_parquet('{part}') as here where exists (select 1 from "
                f"read_parquet('{root}/order_date=*/*.parquet') as other where other.order_id = here.order_id "
                "and other.ingested_at > here.ingested_at)"
            ).fetchone()[0]
            if stale:
                kept = part.with_suffix(".kept")
                con.execute(
                    f"copy (select * from read_parquet('{part}') as here where not exists (select 1 from "
                    f"read_parquet('{root}/order_date=*/*.parquet') as other where other.order_id = here.order_id "
                    f"and other.ingested_at > here.ingested_at)) to '{kept}' (format parquet)"
                )
                kept.replace(part)
