"""The history bench (bench/history_growth.py) seeds its histories (bench/history_seed.py) instead of running the
silver job over years of bronze. A seeded lake must be indistinguishable for the pipeline from one built by real
runs: the same silver (rows and files' layout), the same bookmark, the same order index once the job has rebuilt
it, the same gold, and the same silver and gold after the next day with its corrections."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from bench.history_growth import NEW_DAY, write_corrections
from bench.history_seed import history_days, landed, seed, write_bronze
from tests.gold.helpers import build

pytestmark = [pytest.mark.spark, pytest.mark.dbt]

DAYS, DAILY = 8, 300
SILVER = (
    "select * from read_parquet('{}/silver/silver_orders/*/*.parquet', hive_partitioning = true) order by all"
)


def silver_rows(lake: Path) -> list[tuple]:
    with duckdb.connect() as con:
        return con.execute(SILVER.format(lake)).fetchall()


def silver_layout(lake: Path) -> dict[str, tuple]:
    """Each partition's files: their count, row groups, schema, and every column's encodings, codec and size."""
    layout = {}
    for partition in sorted((lake / "silver" / "silver_orders").iterdir()):
        files = sorted(partition.glob("*.parquet"))
        meta = [pq.ParquetFile(f).metadata for f in files]
        columns = tuple(
            (c.path_in_schema, c.compression, c.encodings, c.total_compressed_size)
            for m in meta
            for g in range(m.num_row_groups)
            for c in (m.row_group(g).column(i) for i in range(m.num_columns))
        )
        layout[partition.name] = (
            len(files),
            tuple(m.num_row_groups for m in meta),
            str(meta[0].schema.to_arrow_schema()),
            columns,
        )
    return layout


def index_pairs(lake: Path) -> list[tuple]:
    root = lake / "_state" / "silver" / "order_index"
    with duckdb.connect() as con:
        return con.execute(
            f"select order_id, order_date from read_parquet('{root}/*.parquet') order by all"
        ).fetchall()


def bookmark(lake: Path) -> tuple[dict, dict]:
    data = json.loads((lake / "_state" / "silver" / "bookmark.json").read_text())
    return data["files"], {path: entry["id"] for path, entry in data["content"].items()}


def gold_tables(lake: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(lake / "warehouse.duckdb"), read_only=True) as con:
        names = [
            n
            for (n,) in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'gold'"
            ).fetchall()
        ]
        return {n: sorted(con.execute(f'select * from gold."{n}"').fetchall()) for n in names}


def add_day(lake: Path) -> None:
    from ingestion.local import ingest_to_lake

    ingest_to_lake(
        lake, rows=DAILY, days=1, start_date=NEW_DAY, seed=2, progress=False, ingested_at=landed(NEW_DAY)
    )
    write_corrections(lake, NEW_DAY)


def test_a_seeded_history_is_what_real_runs_leave(spark: object, tmp_path: Path) -> None:
    from glue_jobs.local import run_silver

    days = history_days(NEW_DAY, DAYS)
    real, seeded = tmp_path / "real" / "lake", tmp_path / "seeded" / "lake"
    write_bronze(real, days, DAILY)
    assert run_silver(real).rows_written == DAYS * DAILY
    seed(spark, seeded, days, DAILY)
    rebuilt = run_silver(seeded)
    assert rebuilt.order_index_rebuilt and rebuilt.rows_read == 0

    assert silver_rows(seeded) == silver_rows(real)
    assert silver_layout(seeded) == silver_layout(real)
    assert bookmark(seeded) == bookmark(real)
    pairs = index_pairs(real)
    assert len(pairs) == DAYS * DAILY and index_pairs(seeded) == pairs
    build(real)
    build(seeded)
    assert gold_tables(seeded) == gold_tables(real)

    for lake in (real, seeded):
        add_day(lake)
    day_real, day_seeded = run_silver(real), run_silver(seeded)
    assert day_real.superseded > 0, "the corrections replace orders of the history"
    for figure in ("rows_read", "rows_written", "superseded", "duplicates_dropped", "order_dates_touched"):
        assert getattr(day_seeded, figure) == getattr(day_real, figure), figure
    assert silver_rows(seeded) == silver_rows(real)
    assert index_pairs(seeded) == index_pairs(real)
    build(real)
    build(seeded)
    assert gold_tables(seeded) == gold_tables(real)
