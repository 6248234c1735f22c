"""End to end on a laptop: ingest -> silver (real Spark) -> dbt build (real DuckDB) -> gold.

The expected gold totals are computed here from the bronze CSV files with nothing but the standard library:
none of the pipeline's code is used to produce the oracle."""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from pathlib import Path

import duckdb
import pytest

from lakehouse.cli import main

pytestmark = [pytest.mark.e2e, pytest.mark.spark, pytest.mark.dbt]

REPO = Path(__file__).resolve().parents[2]
COLUMNS = ["order_id", "order_date", "customer_id", "country", "product", "quantity", "unit_price"]
RUN_ARGS = [
    "--rows",
    "30000",
    "--days",
    "20",
    "--start-date",
    "2026-03-01",
    "--seed",
    "7",
    "--defect-rate",
    "0.03",
]
FILE_TIME = re.compile(r"orders_lambda_(\d{8}_\d{6})_")


def _codes(seed_file: str, column: str) -> set[str]:
    with (REPO / "seeds" / seed_file).open(newline="") as handle:
        return {row[column] for row in csv.DictReader(handle)}


def expected_gold(lake: Path) -> dict[tuple[str, str, str], tuple[int, Decimal, int]]:
    """Validate, normalise and deduplicate (latest ingest wins) every bronze row, then aggregate."""
    countries, products = _codes("countries.csv", "country_code"), _codes("products.csv", "product_code")
    files = sorted(
        lake.glob("bronze/orders/ingest_date=*/*.csv"),
        key=lambda p: (FILE_TIME.search(p.name).group(1), p.name),
    )
    latest: dict[str, tuple[str, str, str, int, Decimal]] = {}
    for path in files:
        with path.open(newline="") as handle:
            reader = csv.reader(handle)
            header = [h.strip() for h in next(reader)]
            for fields in reader:
                if len(fields) != len(header):
                    continue
                row = {name: value.strip() for name, value in zip(header, fields, strict=True)}
                if any(not row.get(c) for c in COLUMNS):
                    continue
                try:
                    order_date = dt.date.fromisoformat(row["order_date"])
                    quantity = int(row["quantity"])
                    price = Decimal(row["unit_price"])
                except (ValueError, InvalidOperation):
                    continue
                country, product = row["country"].upper(), row["product"].upper()
                if quantity <= 0 or price <= 0 or country not in countries or product not in products:
                    continue
                latest[row["order_id"]] = (order_date.isoformat(), country, product, quantity, price)
    totals: dict[tuple[str, str, str], list] = defaultdict(lambda: [0, Decimal(0), 0])
    for order_date, country, product, quantity, price in latest.values():
        total = totals[(order_date, country, product)]
        total[0] += quantity
        total[1] += quantity * price
        total[2] += 1
    return {key: (q, r, n) for key, (q, r, n) in totals.items()}


def actual_gold(lake: Path) -> dict[tuple[str, str, str], tuple[int, Decimal, int]]:
    with duckdb.connect(str(lake / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute(
            "select cast(order_date as varchar), country, product, total_quantity, "
            "cast(total_revenue as decimal(18, 2)), order_count from gold.gold_orders"
        ).fetchall()
    return {(d, c, p): (int(q), Decimal(r), int(n)) for d, c, p, q, r, n in rows}


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory, spark: object) -> Path:
    lake = tmp_path_factory.mktemp("e2e") / "lake"
    assert main(["-q", "run", "--lake", str(lake), *RUN_ARGS]) == 0
    return lake


def test_gold_equals_totals_computed_independently_from_bronze(lake: Path) -> None:
    expected = expected_gold(lake)
    assert expected, "the oracle found no valid rows: the test would prove nothing"
    assert actual_gold(lake) == expected


def test_bad_rows_are_quarantined_not_lost(lake: Path) -> None:
    with duckdb.connect() as con:
        rejected = con.execute(
            "select reject_reason, count(*) from read_parquet(?, hive_partitioning=true) group by all",
            [str(lake / "silver/silver_orders_rejected/*/*.parquet")],
        ).fetchall()
    reasons = dict(rejected)
    assert sum(reasons.values()) > 0
    assert all(reason for reason in reasons)


def test_rerunning_every_stage_changes_nothing(lake: Path) -> None:
    before = actual_gold(lake)
    assert main(["-q", "silver", "--lake", str(lake)]) == 0
    assert main(["-q", "gold", "--lake", str(lake)]) == 0
    assert actual_gold(lake) == before


def test_resending_the_same_orders_adds_no_duplicates(lake: Path) -> None:
    before = actual_gold(lake)
    # The same seed and parameters re-send byte-identical orders in new files, as a retried Lambda would.
    assert main(["-q", "run", "--lake", str(lake), *RUN_ARGS]) == 0
    assert actual_gold(lake) == before == expected_gold(lake)
