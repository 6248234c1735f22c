"""What the stages built, as printable text: one line per ingest, a silver run's figures, and the lake's summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb

from glue_jobs.metrics import RunMetrics
from lakehouse.explain import StageError

BRONZE_GLOB = "bronze/orders/ingest_date=*/*.csv"
SILVER_GLOB = "silver/silver_orders/order_date=*/*.parquet"
REJECTED_GLOB = "silver/silver_orders_rejected/ingest_date=*/*.parquet"
GOLD_TABLES = ("gold_orders", "fct_orders", "dim_customers", "dim_products", "fct_country_monthly_kpis")


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
    lookup = metrics.index_lookup
    if lookup.get("days_read"):
        lines.append(
            f"  order index: looked up within {lookup['horizon_days']} days of each order's date: "
            f"{lookup['days_read']} of {lookup['days_in_index']} days read"
        )
    if metrics.sweep:
        lines.append(
            f"  sweep: {len(metrics.corrections_beyond_horizon)} stale copies of orders moved further than the "
            "correction horizon removed"
        )
    lines += [
        f"  removed: {c['order_id']} on {c['old_date']} (its latest version is on {c['new_date']})"
        for c in metrics.corrections_beyond_horizon
    ]
    return "\n".join(lines)


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
    except (OSError, ValueError, TypeError, AttributeError):
        # a damaged run file: no line about it
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
