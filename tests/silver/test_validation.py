"""Each validation rule, normalisation of recoverable noise, and the silver schema."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from tests.silver.helpers import bronze_file, rejected_rows, silver_rows

pytestmark = pytest.mark.spark

# order_id -> expected reject reason (None: lands in silver)
CASES = {
    "ok,2026-03-01,C1,US,P001,2,10.50": None,
    "noise, 2026-03-01 , C2 , gb ,p002 , 3 ,1.00 ": None,
    "lower,2026-03-01,C3,de,p003,1,5": None,
    "extra,2026-03-01,C1,US,P001,2,10.50,surplus": "malformed_row",
    "short,2026-03-01,C1,US,P001,2": "malformed_row",
    "empty,2026-03-01,,US,P001,2,10.50": "missing_required_field",
    "blank,2026-03-01,C1,  ,P001,2,10.50": "missing_required_field",
    "slash,01/03/2026,C1,US,P001,2,10.50": "bad_date",
    "feb30,2026-02-30,C1,US,P001,2,10.50": "bad_date",
    "month13,2026-13-01,C1,US,P001,2,10.50": "bad_date",
    "text,not a date,C1,US,P001,2,10.50": "bad_date",
    "qtyabc,2026-03-01,C1,US,P001,abc,10.50": "bad_quantity",
    "qtyfrac,2026-03-01,C1,US,P001,2.5,10.50": "bad_quantity",
    "qtyhuge,2026-03-01,C1,US,P001,99999999999,10.50": "bad_quantity",
    "qtyzero,2026-03-01,C1,US,P001,0,10.50": "non_positive_quantity",
    "qtyneg,2026-03-01,C1,US,P001,-2,10.50": "non_positive_quantity",
    "priceabc,2026-03-01,C1,US,P001,2,ten": "bad_price",
    "price3dp,2026-03-01,C1,US,P001,2,10.505": "bad_price",
    "pricezero,2026-03-01,C1,US,P001,2,0.00": "non_positive_price",
    "priceneg,2026-03-01,C1,US,P001,2,-10.50": "non_positive_price",
    "revenue,2026-03-01,C1,US,P001,2000000000,99999999.99": "revenue_overflow",
    "country,2026-03-01,C1,XX,P001,2,10.50": "unknown_country",
    "product,2026-03-01,C1,US,P999,2,10.50": "unknown_product",
    # every value is bounded before it is parsed (transform.MAX_LENGTH)
    f"{'i' * 65},2026-03-01,C1,US,P001,2,10.50": "value_too_long",
    f"longdate,2026-03-01{'0' * 23},C1,US,P001,2,10.50": "value_too_long",
    f"longcustomer,2026-03-01,{'C' * 65},US,P001,2,10.50": "value_too_long",
    f"longcountry,2026-03-01,C1,{'U' * 17},P001,2,10.50": "value_too_long",
    f"longproduct,2026-03-01,C1,US,{'P' * 33},2,10.50": "value_too_long",
    f"longqty,2026-03-01,C1,US,P001,{'1' * 21},10.50": "value_too_long",
    f"longprice,2026-03-01,C1,US,P001,2,{'1' * 41}": "value_too_long",
    # at the bound: parsed (leading zeros)
    f"maxprice,2026-03-01,C1,US,P001,2,{'0' * 37}1.5": None,
    # last: as RFC 4180 (Python's csv module) reads it, a quote never closed runs to the end of the file
    'quote,"2026-03-01,C1,US,P001,2,10.50': "malformed_row",
}


@pytest.fixture(scope="module")
def validated_lake(tmp_path_factory: pytest.TempPathFactory, spark: object) -> tuple[Path, dict]:
    from glue_jobs.local import run_silver

    lake = tmp_path_factory.mktemp("validation") / "lake"
    bronze_file(lake, "20260302_080000", "v1", list(CASES))
    return lake, run_silver(lake)


@pytest.mark.parametrize(
    ("line", "reason"), [(k, v) for k, v in CASES.items() if v is not None], ids=lambda x: str(x)[:12]
)
def test_each_rule_rejects_with_its_reason(validated_lake: tuple[Path, dict], line: str, reason: str) -> None:
    lake, _ = validated_lake
    order_id = line.split(",")[0]
    found = [r for r in rejected_rows(lake) if (r["order_id"] or "").strip() == order_id]
    assert [r["reject_reason"] for r in found] == [reason]
    assert order_id not in silver_rows(lake)


def test_rejected_rows_keep_raw_values_and_provenance(validated_lake: tuple[Path, dict]) -> None:
    lake, metrics = validated_lake
    rows = {r["order_id"]: r for r in rejected_rows(lake)}
    assert rows["qtyabc"]["quantity"] == "abc"
    assert rows["slash"]["order_date"] == "01/03/2026"
    assert rows["extra"]["raw_record"] == "extra,2026-03-01,C1,US,P001,2,10.50,surplus"
    assert all(r["source_file"] == "orders_lambda_20260302_080000_v1.csv" for r in rows.values())
    assert all(r["ingested_at"] == dt.datetime(2026, 3, 2, 8, 0) for r in rows.values())
    assert {r["ingest_date"] for r in rows.values()} == {dt.date(2026, 3, 2)}
    expected = {}
    for reason in CASES.values():
        if reason:
            expected[reason] = expected.get(reason, 0) + 1
    assert metrics.rejected_by_reason == expected


def test_noise_is_normalised_not_rejected(validated_lake: tuple[Path, dict]) -> None:
    lake, metrics = validated_lake
    rows = silver_rows(lake)
    assert set(rows) == {"ok", "noise", "lower", "maxprice"}
    assert rows["noise"]["customer_id"] == "C2"
    assert (rows["noise"]["country"], rows["noise"]["product"]) == ("GB", "P002")
    assert (rows["noise"]["quantity"], rows["noise"]["unit_price"]) == (3, Decimal("1.00"))
    assert rows["lower"]["revenue"] == Decimal("5.00")
    assert rows["ok"]["revenue"] == Decimal("21.00")
    assert metrics.rows_read == len(CASES)
    assert metrics.rows_written == 4


def test_silver_schema_matches_the_contract(validated_lake: tuple[Path, dict]) -> None:
    lake, _ = validated_lake
    glob = lake / "silver/silver_orders/order_date=*/*.parquet"
    with duckdb.connect() as con:
        described = con.execute(
            f"describe select * from read_parquet('{glob}', hive_partitioning=true)"
        ).fetchall()
        types = {r[0]: r[1] for r in described}
        meta = con.execute(
            f"select name, logical_type, type from parquet_schema('{glob}') where name = 'ingested_at'"
        ).fetchone()
    assert types == {
        "order_id": "VARCHAR",
        "customer_id": "VARCHAR",
        "country": "VARCHAR",
        "product": "VARCHAR",
        "quantity": "INTEGER",
        "unit_price": "DECIMAL(10,2)",
        "revenue": "DECIMAL(12,2)",
        "source_file": "VARCHAR",
        "ingested_at": "TIMESTAMP",
        "order_date": "DATE",
    }
    assert meta[2] == "INT64", "timestamps are INT64 micros, not INT96"


def test_partition_folders_hold_only_parquet(validated_lake: tuple[Path, dict]) -> None:
    lake, _ = validated_lake
    for table in ("silver_orders", "silver_orders_rejected"):
        for folder in (lake / "silver" / table).iterdir():
            files = list(folder.iterdir())
            assert len(files) == 1 and files[0].suffix == ".parquet", files
    assert not (lake / "silver" / "silver_orders" / "_SUCCESS").exists()
