"""A lake holding days of history as the pipeline's real runs would leave it, built in minutes instead of hours.

Running the silver job over three years of bronze (30M orders) takes longer than the measurement it prepares, so
the history is seeded:

1. **bronze**: each day's orders in its own file, stamped as landed the next night (``lakehouse ingest``'s code);
2. **silver rows**: the job's rules applied by the DuckDB baseline (bench/baselines/silver_duckdb.py, which
   tests/benchmarks/test_silver_floor.py holds to the job's output row for row);
3. **silver files**: those rows written by the job's own writer (``glue_jobs.runner._write_partitioned`` on local
   Spark, the job's session settings): the same partitions, sort order, encodings and compression as a run's;
4. **the bookmark**: every bronze file with its size and content id, in the job's own format, listing no order
   index;
5. **the order index**: left to the job. The first ``lakehouse silver`` run finds no index while silver holds
   orders, rebuilds it from silver through its own code (``SilverTable.rebuild_order_index``) and commits it.

tests/benchmarks/test_history_seed.py checks on a small history that a seeded lake and one built by real runs
hold the same silver, bookmark and index, build the same gold, and give the same result for the next day.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

from glue_jobs.journal import BOOKMARK, dumps

log = logging.getLogger("bench.history_seed")
REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
BRONZE = Path("bronze") / "orders"
SILVER_ORDERS = Path("silver") / "silver_orders"
STATE = Path("_state") / "silver"


class SeedError(RuntimeError):
    """The history cannot be seeded faithfully: one line that says why."""


def landed(day: dt.date) -> dt.datetime:
    """When the Lambda lands a day's orders: 02:00 UTC the next day (as bench/run.py)."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(2), tzinfo=dt.UTC)


def history_days(new_day: dt.date, days: int) -> list[dt.date]:
    """The ``days`` days before ``new_day``, oldest first: every history ends the day before the new day, so
    the last days of a short and a long history are the same orders."""
    return [new_day - dt.timedelta(days=days - i) for i in range(days)]


def write_bronze(lake: Path, days: list[dt.date], daily: int) -> None:
    """Each day's ``daily`` orders in one file, landed the next night (the same file for the same day)."""
    from ingestion.local import ingest_to_lake

    for day in days:
        ingest_to_lake(
            lake, rows=daily, days=1, start_date=day, seed=1, progress=False, ingested_at=landed(day)
        )


def bronze_files(lake: Path) -> list[Path]:
    """The bronze CSV files a silver run reads (not the answer keys beside them, not hidden files)."""
    root = lake / BRONZE
    return sorted(p for p in root.rglob("*.csv") if not p.name.startswith((".", "_")))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"


def write_bookmark(lake: Path) -> None:
    """The job's bookmark of every bronze file (size, content id, modification time), listing no order index:
    the next run rebuilds the index from silver."""
    root = lake / BRONZE
    files: dict[str, int] = {}
    content: dict[str, dict[str, Any]] = {}
    for path in bronze_files(lake):
        rel = path.relative_to(root).as_posix()
        stat = path.stat()
        files[rel] = stat.st_size
        content[rel] = {"id": _sha256(path), "mtime_ns": stat.st_mtime_ns}
    state = lake / STATE
    state.mkdir(parents=True, exist_ok=True)
    (state / BOOKMARK).write_text(dumps({"version": 1, "files": files, "content": content}))


def silver_rows(lake: Path, out: Path) -> Path:
    """The job's rules over all of bronze, by the DuckDB baseline: ``out/silver_orders``. Bronze with defects
    would need its quarantine seeded too: refused."""
    from bench.baselines.silver_duckdb import run_silver_duckdb

    metrics = run_silver_duckdb(lake / BRONZE, out, SEEDS, count=False)
    if metrics["rows_rejected"]:
        raise SeedError(
            f"history seed: {metrics['rows_rejected']} bronze rows are rejected; seed only defect-free bronze"
        )
    return out / "silver_orders"


def write_silver(spark: Any, rows: Path, lake: Path) -> None:
    """Silver's files as the job writes them: its schema, its writer, its partitioning and sort order."""
    from glue_jobs import runner, session
    from glue_jobs.bronze import spark_path
    from glue_jobs.transform import SILVER_COLUMNS, SILVER_SCHEMA

    session.configure(spark, local_files=True)
    frame = spark.read.schema(SILVER_SCHEMA).option("basePath", str(rows)).parquet(spark_path(str(rows)))
    target = lake / SILVER_ORDERS
    shutil.rmtree(target, ignore_errors=True)
    runner._write_partitioned(frame.select(*SILVER_COLUMNS), str(target), "order_date")


def seed(spark: Any, lake: Path, days: list[dt.date], daily: int) -> None:
    """Bronze, silver and the bookmark of ``days`` of ``daily`` orders, as real runs leave them (the order
    index is rebuilt by the next silver run). ``lake`` must not hold silver yet."""
    if (lake / "silver").exists() or (lake / STATE).exists():
        raise SeedError(f"history seed: {lake} already holds silver or its state; seed an empty lake")
    log.info("seed: bronze, %d days of %s orders", len(days), f"{daily:,}")
    write_bronze(lake, days, daily)
    with tempfile.TemporaryDirectory(prefix="seed-", dir=lake) as scratch:
        log.info("seed: silver's rows (DuckDB, the job's rules)")
        rows = silver_rows(lake, Path(scratch) / "rows")
        log.info("seed: silver's files (Spark, the job's writer)")
        write_silver(spark, rows, lake)
    write_bookmark(lake)


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.history_seed --lake LAKE --days N --daily N --new-day YYYY-MM-DD``: seed the ``days``
    days before the new day (its own process: the Spark JVM it starts ends with it)."""
    import argparse

    from glue_jobs.session import local_session

    parser = argparse.ArgumentParser(prog="bench.history_seed", description=__doc__.splitlines()[0])
    parser.add_argument("--lake", type=Path, required=True)
    parser.add_argument("--days", type=int, required=True)
    parser.add_argument("--daily", type=int, required=True)
    parser.add_argument("--new-day", type=dt.date.fromisoformat, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    lake = args.lake.resolve()
    spark = local_session(log_file=lake / "_runs" / "seed-spark.log", local_dir=lake / "_tmp" / "spark")
    try:
        seed(spark, lake, history_days(args.new_day, args.days), args.daily)
    except SeedError as exc:
        parser.exit(1, f"{exc}\n")
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
