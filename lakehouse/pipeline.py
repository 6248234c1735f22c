"""The three stages on a local lake, each calling the code that runs in AWS, and a summary of what they built."""

from __future__ import annotations

import datetime as dt
import errno
import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from glue_jobs.metrics import RunMetrics
from lakehouse.config import IngestConfig, OrderDatesConfig, SparkConfig

log = logging.getLogger(__name__)
T = TypeVar("T")

BRONZE_GLOB = "bronze/orders/ingest_date=*/*.csv"
SILVER_GLOB = "silver/silver_orders/order_date=*/*.parquet"
REJECTED_GLOB = "silver/silver_orders_rejected/ingest_date=*/*.parquet"
GOLD_TABLES = ("gold_orders", "fct_orders", "dim_customers", "dim_products", "fct_country_monthly_kpis")


DISK_FULL = "No space left on device"


class StageError(RuntimeError):
    """A stage could not finish; the message says what failed and what to do."""


@contextmanager
def _stage(name: str) -> Iterator[None]:
    started = time.perf_counter()
    log.info("%s: starting", name)
    yield
    log.info("%s: done in %.1f s", name, time.perf_counter() - started)


def _java_causes(exc: BaseException) -> list[Any]:
    """The chain of Java exceptions behind a Py4J or PySpark error (outermost first); [] for a Python error."""
    java = getattr(exc, "java_exception", None) or getattr(exc, "_origin", None)
    chain = []
    while java is not None and len(chain) < 50:
        chain.append(java)
        java = java.getCause()
    return chain


def _first_line(text: str) -> str:
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    return lines[0] if lines else ""


def explain(name: str, exc: BaseException) -> str:
    """One line for a stage's failure: the root cause (not a stack trace) and what to do about it."""
    causes = [_first_line(str(java.toString())) for java in _java_causes(exc)]
    text = " | ".join([str(exc), *causes])
    if (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or DISK_FULL in text:
        where = getattr(exc, "filename", None) or ""
        return (
            f"{name} failed: the disk is full ({DISK_FULL}{': ' + str(where) if where else ''}); nothing was "
            f"committed: free some space, then run `lakehouse {name}` again"
        )
    if causes:
        return f"{name} failed in Spark: {causes[-1]} (Spark's log: <lake>/_runs/silver/spark.log)"
    return f"{name} failed: {_first_line(str(exc)) or type(exc).__name__}"


def _guard(name: str, fn: Callable[[], T], errors: tuple[type[BaseException], ...]) -> T:
    """Run a stage; its own expected failures become a one-line StageError, anything else is a bug and propagates."""
    with _stage(name):
        try:
            return fn()
        except errors as exc:
            raise StageError(explain(name, exc)) from exc


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


def _spark_errors() -> tuple[type[BaseException], ...]:
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException

    return (Py4JJavaError, PySparkException)


def silver(
    lake: Path,
    spark: SparkConfig,
    *,
    full_refresh: bool = False,
    release_jvm: bool = False,
    repair: tuple[dt.date | None, dt.date | None] | None = None,
    order_dates: OrderDatesConfig | None = None,
) -> RunMetrics:
    """The silver job on local Spark. With ``release_jvm`` (``lakehouse run``: gold comes next, in this process),
    a JVM this run started is ended once it is done, so gold's DuckDB does not run beside an idle Spark heap
    (their peaks would add up: 5.3 GiB at 10M orders instead of the larger of the two). A session that was already
    running (a test's) is left alone. ``repair``: the ingest days (first, last) to read again (glue_jobs.repair).
    ``order_dates``: the valid order dates, the same ones ``lakehouse ingest`` enforces (glue_jobs.bounds)."""
    from glue_jobs.bounds import DateBounds
    from glue_jobs.commit import StateError
    from glue_jobs.lease import LakeBusy, LeaseLost, LeaseUnsupported
    from glue_jobs.local import run_silver
    from glue_jobs.metrics import ReconciliationError
    from glue_jobs.repair import RefreshRefused
    from glue_jobs.session import running, stop_local_jvm

    ours = release_jvm and not running()
    metrics = _guard(
        "silver",
        lambda: run_silver(
            lake,
            full_refresh=full_refresh,
            repair=repair,
            bounds=None
            if order_dates is None
            else DateBounds(order_dates.earliest, order_dates.max_days_after_landing * 24),
            spark_master=spark.master,
            shuffle_partitions=spark.shuffle_partitions,
            driver_memory=spark.driver_memory,
            local_dir=Path(spark.local_dir) if spark.local_dir else None,
        ),
        (
            OSError,
            ValueError,
            ReconciliationError,
            StateError,
            LakeBusy,
            LeaseLost,
            LeaseUnsupported,
            RefreshRefused,
            *_spark_errors(),
        ),
    )
    if ours:
        stop_local_jvm()
    return metrics


def ingest_report(landed: Any) -> str:
    """One line: what an ingest wrote, or that its files had already landed."""
    if not landed.files and landed.already_landed:
        return f"ingest: {len(landed.already_landed)} file(s) of the same seed, dates and landing time already in bronze: nothing added"
    return f"ingest: {landed.rows:,} rows in {len(landed.files)} new bronze file(s), {sum(landed.defects.values()):,} with an injected defect"


def silver_report(metrics: RunMetrics) -> str:
    """A silver run's metrics as a few printable lines: where every bronze row went, and every file not read."""
    by_count = sorted(metrics.rejected_by_reason.items(), key=lambda kv: (-kv[1], kv[0]))
    lines = [
        f"silver run {metrics.run_id}: {metrics.files_read} new bronze files, "
        f"{metrics.partitions_touched} order_date partitions rewritten, {metrics.duration_s:.1f} s",
        f"  {metrics.rows_read:>12,} rows read",
        f"  {metrics.rows_written:>12,} written to silver_orders",
        f"  {metrics.rows_rejected:>12,} quarantined in silver_orders_rejected",
        *[f"  {n:>12,}   {reason}" for reason, n in by_count],
        f"  {metrics.duplicates_dropped:>12,} duplicates dropped (another row of the same order_id won)",
    ]
    if metrics.superseded:
        lines.append(f"  {metrics.superseded:>12,} silver rows replaced by a newer version")
    for f in metrics.files_quarantined:
        why = f"missing {', '.join(f.missing_columns)}" if f.missing_columns else f.reason
        lines.append(f"  file quarantined whole: {f.file} ({why})")
    lines += [f"  file changed since it was read, read again whole: {f}" for f in metrics.files_changed]
    lines += [f"  file not read: {f.file} ({f.reason})" for f in metrics.files_not_read]
    if metrics.repair_window:
        lines.append(
            f"  repair: read again the {metrics.files_repaired} bronze files of ingest days {metrics.repair_window}"
        )
    lines += [f"  file not read: {f.file} ({f.reason})" for f in metrics.files_duplicate]
    if metrics.order_index_rebuilt:
        lines.append(f"  order index rebuilt from silver: {metrics.order_index_rebuilt}")
    return "\n".join(lines)


def _lease(lake: Path, command: str) -> Any:
    """The lake's lease for a local command (the one the silver job takes): one writer at a time."""
    from glue_jobs.lease import Holder, hold
    from glue_jobs.local import lake_paths
    from glue_jobs.storage import LocalStorage

    run_id = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return hold(LocalStorage(), lake_paths(lake)["state_path"], Holder.me(run_id, command))


def finish_pending_silver(lake: Path) -> list[str]:
    """Complete a silver commit that a killed run left half-applied (call it holding the lake's lease), so that
    nothing reads silver half-swapped. No Spark needed: the journal lists the remaining file moves."""
    from glue_jobs import commit
    from glue_jobs.local import lake_paths
    from glue_jobs.storage import LocalStorage

    paths = lake_paths(lake)
    finished = commit.recover(
        LocalStorage(), commit.Paths(paths["silver_path"], paths["state_path"], paths["runs_path"])
    )
    for run_id in finished:
        log.warning("gold: first completed silver run %s, which was interrupted during its commit", run_id)
    return finished


def gold(lake: Path, *, full_refresh: bool = False, select: str | None = None) -> Any:
    from glue_jobs.commit import StateError
    from glue_jobs.lease import LakeBusy
    from lakehouse import gold_build
    from lakehouse.dbt import DbtError

    args = ["build"]
    if full_refresh:
        args.append("--full-refresh")
    if select:
        args += ["--select", select]

    def build() -> Any:
        with _lease(lake, "gold"):
            finish_pending_silver(lake)
            return gold_build.build(lake, args)

    return _guard("gold", build, (DbtError, LakeBusy, StateError, OSError))


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> int | None:
    try:
        return int(con.execute(sql, params).fetchone()[0])
    except duckdb.Error:
        return None


def _duckdb_glob(path: Path) -> str:
    """``path`` as a DuckDB glob pattern that matches it literally (``[`` opens a character class in a glob)."""
    return "".join(f"[{c}]" if c in "[]*?{}" else c for c in str(path))


def _last_run(lake: Path) -> RunMetrics | None:
    runs = sorted((lake / "_runs" / "silver").glob("*.json"), key=lambda p: p.stat().st_mtime)
    try:
        return RunMetrics.from_dict(json.loads(runs[-1].read_text())) if runs else None
    except (OSError, ValueError, TypeError, AttributeError):  # a damaged run file: no line about it
        return None


def _open_warehouse(warehouse: Path) -> duckdb.DuckDBPyConnection:
    from lakehouse.warehouse import WarehouseError, check_readable

    try:
        check_readable(warehouse, "run `lakehouse summary` again")
    except WarehouseError as exc:
        raise StageError(str(exc)) from None
    return duckdb.connect(str(warehouse), read_only=True)


def summary(lake: Path, top: int = 5) -> str:
    """Rows per layer, the top gold rows and where to look next, as printable text."""
    lake = lake.resolve()
    lines = [f"Lakehouse at {lake}", ""]
    manifests = sorted(lake.glob("bronze/orders/ingest_date=*/*.manifest.json"))
    bronze_files = sorted(lake.glob(BRONZE_GLOB))
    bronze_rows = sum(json.loads(m.read_text()).get("rows", 0) for m in manifests)
    lines.append(f"  bronze   {bronze_rows:>12,} rows in {len(bronze_files)} CSV files   {lake / 'bronze'}")

    con = duckdb.connect()
    query = "select count(*) from read_parquet(?, hive_partitioning=true)"
    silver_rows = _count(con, query, [_duckdb_glob(lake) + "/" + SILVER_GLOB])
    rejected_rows = _count(con, query, [_duckdb_glob(lake) + "/" + REJECTED_GLOB])
    lines.append(f"  silver   {silver_rows or 0:>12,} rows (silver_orders)       {lake / 'silver'}")
    lines.append(f"  rejected {rejected_rows or 0:>12,} rows (silver_orders_rejected, with a reason)")
    last = _last_run(lake)
    if last:
        lines.append(
            f"  last silver run: {last.files_read} files, {last.rows_read:,} rows read, "
            f"{last.duplicates_dropped:,} duplicates dropped, {last.superseded:,} silver rows replaced by a newer version"
        )

    warehouse = lake / "warehouse.duckdb"
    if warehouse.exists():
        con = _open_warehouse(warehouse)
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
        "  make report    the KPI report, lake/reports/kpi_report.html",
        "  make docs      the dbt docs and their lineage on http://localhost:8080",
        "  source .venv/bin/activate && dbt build -s gold_orders    rebuild one model after editing it",
        f"  full logs: {lake / '_runs' / 'silver'}/ (silver, spark.log), logs/dbt.log (gold)",
    ]
    return "\n".join(lines)
