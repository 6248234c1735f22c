"""The three stages on a local lake, each calling the code that runs in AWS, and a summary of what they built."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from lakehouse.config import IngestConfig, SparkConfig

log = logging.getLogger(__name__)
T = TypeVar("T")

BRONZE_GLOB = "bronze/orders/ingest_date=*/*.csv"
SILVER_GLOB = "silver/silver_orders/order_date=*/*.parquet"
REJECTED_GLOB = "silver/silver_orders_rejected/ingest_date=*/*.parquet"
GOLD_TABLES = ("gold_orders", "fct_orders", "dim_customers", "dim_products", "fct_country_monthly_kpis")


class StageError(RuntimeError):
    """A stage could not finish; the message says what failed and what to do."""


@contextmanager
def _stage(name: str) -> Iterator[None]:
    started = time.perf_counter()
    log.info("%s: starting", name)
    yield
    log.info("%s: done in %.1f s", name, time.perf_counter() - started)


def _guard(name: str, fn: Callable[[], T], errors: tuple[type[BaseException], ...]) -> T:
    """Run a stage; its own expected failures become a one-line StageError, anything else is a bug and propagates."""
    with _stage(name):
        try:
            return fn()
        except errors as exc:
            raise StageError(f"{name} failed: {exc}") from exc


def ingest(
    lake: Path, config: IngestConfig, *, progress: bool = True, ingested_at: dt.datetime | None = None
) -> Any:
    from ingestion.local import ingest_to_lake

    return _guard(
        "ingest",
        lambda: ingest_to_lake(
            lake,
            rows=config.rows,
            days=config.days,
            start_date=config.start_date,
            seed=config.seed,
            defect_rate=config.defect_rate,
            rows_per_file=config.rows_per_file,
            progress=progress,
            ingested_at=ingested_at,
        ),
        (OSError, ValueError),
    )


def silver(lake: Path, spark: SparkConfig, *, full_refresh: bool = False) -> dict[str, Any]:
    from glue_jobs.local import run_silver
    from glue_jobs.runner import ReconciliationError

    return _guard(
        "silver",
        lambda: run_silver(
            lake,
            full_refresh=full_refresh,
            spark_master=spark.master,
            shuffle_partitions=spark.shuffle_partitions,
            driver_memory=spark.driver_memory,
        ),
        (OSError, ValueError, ReconciliationError),
    )


def silver_report(metrics: dict[str, Any]) -> str:
    """A silver run's metrics as a few printable lines: where every bronze row went."""
    reasons = metrics.get("rejected_by_reason") or {}
    lines = [
        f"silver run {metrics.get('run_id', '?')}: {metrics.get('files_read', 0)} new bronze files, "
        f"{metrics.get('partitions_touched', 0)} order_date partitions rewritten, {metrics.get('duration_s', 0):.1f} s",
        f"  {metrics.get('rows_read', 0):>12,} rows read",
        f"  {metrics.get('rows_written', 0):>12,} written to silver_orders",
        f"  {metrics.get('rows_rejected', 0):>12,} quarantined in silver_orders_rejected",
        *[f"  {n:>12,}   {reason}" for reason, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))],
        f"  {metrics.get('duplicates_dropped', 0):>12,} duplicates dropped (another row of the same order_id won)",
    ]
    if metrics.get("superseded"):
        lines.append(f"  {metrics['superseded']:>12,} silver rows replaced by a newer version")
    for f in metrics.get("files_quarantined") or []:
        lines.append(f"  file quarantined whole: {f['file']} (missing {', '.join(f['missing_columns'])})")
    return "\n".join(lines)


def gold(lake: Path, *, full_refresh: bool = False, select: str | None = None) -> Any:
    from lakehouse.dbt import DbtError, run_dbt

    args = ["build"]
    if full_refresh:
        args.append("--full-refresh")
    if select:
        args += ["--select", select]
    return _guard("gold", lambda: run_dbt(args, lake), (DbtError,))


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int | None:
    try:
        return int(con.execute(sql).fetchone()[0])
    except duckdb.Error:
        return None


def summary(lake: Path, top: int = 5) -> str:
    """Rows per layer, the top gold rows and where to look next, as printable text."""
    lake = lake.resolve()
    lines = [f"Lakehouse at {lake}", ""]
    manifests = sorted(lake.glob("bronze/orders/ingest_date=*/*.manifest.json"))
    bronze_files = sorted(lake.glob(BRONZE_GLOB))
    bronze_rows = sum(json.loads(m.read_text()).get("rows", 0) for m in manifests)
    lines.append(f"  bronze   {bronze_rows:>12,} rows in {len(bronze_files)} CSV files   {lake / 'bronze'}")

    con = duckdb.connect()
    silver_rows = _count(
        con, f"select count(*) from read_parquet('{lake / SILVER_GLOB}', hive_partitioning=true)"
    )
    rejected_rows = _count(
        con, f"select count(*) from read_parquet('{lake / REJECTED_GLOB}', hive_partitioning=true)"
    )
    lines.append(f"  silver   {silver_rows or 0:>12,} rows (silver_orders)       {lake / 'silver'}")
    lines.append(f"  rejected {rejected_rows or 0:>12,} rows (silver_orders_rejected, with a reason)")
    runs = sorted((lake / "_runs" / "silver").glob("*.json"), key=lambda p: p.stat().st_mtime)
    if runs:
        last = json.loads(runs[-1].read_text())
        lines.append(
            f"  last silver run: {last.get('files_read', 0)} files, {last.get('rows_read', 0):,} rows read, "
            f"{last.get('duplicates_dropped', 0):,} duplicates dropped"
        )

    warehouse = lake / "warehouse.duckdb"
    if warehouse.exists():
        con = duckdb.connect(str(warehouse), read_only=True)
        lines.append("  gold     (DuckDB " + str(warehouse) + ")")
        for table in GOLD_TABLES:
            rows = _count(con, f"select count(*) from gold.{table}")
            if rows is not None:
                lines.append(f"           {rows:>12,} rows  gold.{table}")
        try:
            best = con.execute(
                "select order_date, country, product, total_quantity, total_revenue, order_count "
                f"from gold.gold_orders order by total_revenue desc, order_date, country, product limit {int(top)}"
            ).fetchall()
        except duckdb.Error:
            best = []
        if best:
            lines += [
                "",
                f"Top {len(best)} gold_orders rows by revenue:",
                f"  {'order_date':<10}  {'country':<7}  {'product':<7}  {'quantity':>8}  {'revenue':>12}  {'orders':>6}",
            ]
            lines += [
                f"  {d!s:<10}  {c:<7}  {p:<7}  {q:>8,}  {r:>12,.2f}  {n:>6,}" for d, c, p, q, r, n in best
            ]
    lines += [
        "",
        "Where to look next:",
        "  make docs                               dbt docs generate + serve (lineage, column docs)",
        f"  .venv/bin/python -c \"import duckdb; duckdb.connect('{warehouse}', read_only=True)"
        f".sql('from gold.gold_orders limit 5').show()\"",
        "  dbt build -s gold_orders --profiles-dir profiles   rebuild one model after editing it",
    ]
    return "\n".join(lines)
