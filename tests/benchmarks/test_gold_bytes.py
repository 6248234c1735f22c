"""How bench/gold_bytes.py turns DuckDB query profiles into bytes read (the stand-in for Athena's scanned bytes)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from bench.gold_bytes import bytes_read


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bytes") / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema gold")
        con.execute(
            "create table gold.orders as select range as order_no, md5(cast(range as varchar)) as order_id, "
            "range % 7 as quantity from range(20000)"
        )
    return path


def scan(table: str, rows: int, projections: list[str], filters: list[str] | None = None) -> dict:
    extra = {"Table": table if "." in table else f"warehouse.gold.{table}", "Projections": projections}
    if filters:
        extra["Filters"] = filters
    return {
        "type": "TABLE_SCAN",
        "name": "SEQ_SCAN",
        "rows_scanned": rows,
        "extra_info": extra,
        "children": [],
    }


def profile(node: str, *scans: dict) -> dict:
    return {"dbt_node": node, "operator": [{"type": "PROJECTION", "children": list(scans)}]}


def test_a_table_scan_reads_its_columns_on_the_rows_it_scanned(warehouse: Path) -> None:
    whole = bytes_read([profile("test.p.a", scan("orders", 20000, ["order_id"]))], warehouse)["total_bytes"]
    half = bytes_read([profile("test.p.b", scan("orders", 10000, ["order_id"]))], warehouse)["total_bytes"]
    filtered = bytes_read(
        [profile("test.p.c", scan("orders", 10000, ["order_id"], ["(quantity > 3)"]))], warehouse
    )["total_bytes"]
    # 20,000 random 32-character ids
    assert whole > 100_000
    assert half == pytest.approx(whole / 2, rel=0.01)
    assert filtered > half, "a column read only for a filter is read too"


def test_bytes_are_split_by_dbt_node_and_kind_and_count_each_scan(warehouse: Path) -> None:
    parquet = {"type": "TABLE_SCAN", "bytes_scanned": 5000, "extra_info": {"Function": "READ_PARQUET"}}
    # the staging relation of a merge counts as the table it stages
    staged = scan('"temp".main.orders__dbt_tmp20261126141229393222', 20000, ["order_id"])
    read = bytes_read(
        [
            profile("model.p.orders", parquet, staged),
            profile(
                "test.p.unique_orders",
                scan("orders", 20000, ["order_id"]),
                scan("orders", 20000, ["order_id"]),
            ),
            profile("hooks", scan("missing_table", 10, ["x"])),
        ],
        warehouse,
    )
    one_scan = read["by_node"]["model.p.orders"] - 5000
    assert one_scan > 100_000
    assert read["by_node"]["test.p.unique_orders"] == pytest.approx(2 * one_scan, abs=1)
    assert read["by_kind"] == {
        "model": one_scan + 5000,
        "test": read["by_node"]["test.p.unique_orders"],
        "hooks": 0,
    }
    assert read["file_bytes"] == 5000 and read["total_bytes"] == sum(read["by_kind"].values())
    # per node and table: files apart, a staging relation as the table it stages
    assert read["by_node_table"]["model.p.orders"] == {"files": 5000, "orders": one_scan}
    assert read["by_node_table"]["test.p.unique_orders"] == {
        "orders": read["by_node"]["test.p.unique_orders"]
    }
