"""Tiny silver lakes for the gold tests, written with DuckDB in the silver contract's exact Parquet types.

Imported by package path (tests.gold.helpers), as every folder's helpers.py is."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

import duckdb

from bench.synthetic_silver import Order, write_parts
from lakehouse.dbt import run_dbt

# reject_reason, ingest_date, source_file: what the silver job's quarantine holds
Rejected = tuple[str, str, str]
REJECTED: list[Rejected] = [
    ("bad_date", "2026-02-07", "orders_lambda_20260207_060000_a.csv"),
    ("bad_date", "2026-02-07", "orders_lambda_20260207_060000_b.csv"),
    ("unknown_country", "2026-02-07", "orders_lambda_20260207_060000_a.csv"),
    ("malformed_row", "2026-02-08", "orders_lambda_20260208_060000_a.csv"),
]


def write_rejected(lake: Path, rows: list[Rejected]) -> None:
    """(Re)write silver_orders_rejected as the silver job leaves it: raw strings + reason, Hive-partitioned by
    ingest_date."""
    shutil.rmtree(lake / "silver" / "silver_orders_rejected", ignore_errors=True)
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


def write_silver(lake: Path, orders: Iterable[Order]) -> int:
    """(Re)write silver_orders as the silver job leaves it: one row per order_id (the latest ingested wins),
    Hive-partitioned by order_date, one part file per partition. Returns the number of rows written."""
    latest: dict[str, Order] = {}
    for order in sorted(orders, key=lambda o: o[7]):
        latest[order[0]] = order
    shutil.rmtree(lake / "silver" / "silver_orders", ignore_errors=True)
    write_parts(lake, [(*o, f"orders_lambda_{o[7][:10].replace('-', '')}.csv") for o in latest.values()])
    return len(latest)


def base_orders() -> list[Order]:
    """Three weeks of orders over two months: several customers, countries and products, repeat customers,
    ties for the home country, one order per grain and several per grain."""
    orders: list[Order] = []
    countries = ["US", "GB", "DE", "FR", "JP"]
    products = ["P001", "P003", "P006", "P010", "P013", "P017"]
    start = dt.date(2026, 1, 25)
    n = 0
    for day in range(14):
        date = start + dt.timedelta(days=day)
        ingested = dt.datetime.combine(date + dt.timedelta(days=1), dt.time(6, 0))
        for k in range(6):
            n += 1
            customer = f"C{(n * 7) % 11:03d}"
            orders.append(
                (
                    f"O{n:05d}",
                    date.isoformat(),
                    customer,
                    countries[(n + k) % len(countries)],
                    products[(n * 3 + day) % len(products)],
                    1 + (n % 4),
                    str(Decimal("9.99") + Decimal(n % 7) * Decimal("5.25")),
                    ingested.isoformat(sep=" "),
                )
            )
    # a customer whose only order is in February: a late January order will make them new in January instead
    orders.append(("O00500", "2026-02-05", "C500", "GB", "P003", 2, "24.99", "2026-02-06 06:00:00"))
    # alone in its order date, month x country, customer and product sales: a correction will move it away from all
    orders.append(("O00501", "2025-12-20", "C501", "ES", "P020", 1, "12.50", "2025-12-21 06:00:00"))
    return orders


def late_and_corrected_orders(base: list[Order]) -> list[Order]:
    """A second silver batch, ingested after the first build:
    - new orders for the next days,
    - late orders for a date built long ago (outside any order_date window) and for a brand new customer
      whose first order is earlier than every other,
    - a correction of an existing order (quantity changed, later ingested_at) in an already-built partition,
    - an order that makes an existing customer 'new' in an earlier month,
    - corrections that move an order to another key, so the marts must also recompute the key it left: to another
      order date and month (the customer's first order: their 'new customer' month moves too), another country,
      another product, another customer; and one that moves the only order of its order date, month x country,
      customer and product sales to other keys of each (grains that must disappear, a product left unsold)."""
    ingested = "2026-02-20 08:00:00"
    first = base[0]
    corrected = base[10]
    by_id = {order[0]: order for order in base}

    def moved(order_id: str, **keys: str) -> Order:
        order_id, order_date, customer, country, product, quantity, price, _ = by_id[order_id]
        changed = {
            "order_date": order_date,
            "customer": customer,
            "country": country,
            "product": product,
            **keys,
        }
        return (
            order_id,
            changed["order_date"],
            changed["customer"],
            changed["country"],
            changed["product"],
            quantity,
            price,
            ingested,
        )

    return [
        ("O90001", "2026-02-08", "C001", "US", "P001", 2, "79.99", ingested),
        ("O90002", "2026-02-08", "C100", "GB", "P006", 1, "89.95", ingested),
        ("O90003", "2026-01-26", "C002", "DE", "P010", 3, "34.00", ingested),
        ("O90004", "2026-01-02", "C200", "FR", "P017", 5, "14.99", ingested),
        ("O90005", "2026-01-10", first[2], "JP", "P013", 1, "329.00", ingested),
        ("O90006", "2026-01-28", "C500", "FR", "P010", 1, "34.00", ingested),
        (
            corrected[0],
            corrected[1],
            corrected[2],
            corrected[3],
            corrected[4],
            corrected[5] + 7,
            corrected[6],
            ingested,
        ),
        # C010's first order, January -> February
        moved("O00003", order_date="2026-02-04"),
        moved("O00021", country="JP"),
        moved("O00031", product="P002"),
        moved("O00041", customer="C007"),
        moved("O00501", order_date="2026-01-30", customer="C600", country="IT", product="P019"),
    ]


SNAPSHOT = "after-incremental"


def keep_snapshot(lake: Path) -> Path:
    """Keep a copy of `lake` beside it, for `from_snapshot`; returns the lake."""
    shutil.copytree(lake, lake.parent / SNAPSHOT)
    return lake


def from_snapshot(lake: Path) -> Path:
    """`lake` as `keep_snapshot` left it, at the same path (so dbt's partial parsing, keyed on it, serves every run)."""
    shutil.rmtree(lake)
    shutil.copytree(lake.parent / SNAPSHOT, lake)
    return lake


def dbt_args(work: Path) -> list[str]:
    """Per-test build output, so tests never share (or clobber) the repository's target/ and logs/."""
    return ["--target-path", str(work / "target"), "--log-path", str(work / "logs")]


def build(lake: Path, *extra: str) -> None:
    run_dbt(["build", *extra, *dbt_args(lake.parent)], lake)


def read_tables(lake: Path, tables: Iterable[str]) -> dict[str, list[tuple]]:
    with duckdb.connect(str(lake / "warehouse.duckdb"), read_only=True) as con:
        return {table: sorted(con.execute(f"select * from gold.{table}").fetchall()) for table in tables}
