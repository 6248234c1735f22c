"""One silver run: new bronze files -> validated, deduplicated rows merged into silver, atomically.

Metrics (``_runs/silver/<run_id>.json``), all about *this run's new bronze rows* except ``superseded``:

- ``rows_read``: data lines read from the bronze files processed by this run (header excluded, malformed
  lines included, one record per physical line);
- ``rows_rejected``: of those, rows written to ``silver_orders_rejected`` (``rejected_by_reason`` splits them);
- ``rows_written``: valid rows that are now the silver row of their order_id (each inserts or replaces one row);
- ``duplicates_dropped``: valid rows that lost to another version of the same order_id (a later ingest in this
  batch, or a row already in silver from a later ingest);
- ``superseded``: rows that *were* in silver and were replaced by a newer version read in this run (not part of
  the identity, since they were counted when they were read).

The identity ``rows_read == rows_written + rows_rejected + duplicates_dropped`` is checked on figures observed at
different points of two separate passes over the CSV (before the reject filter, after it, and after the
latest-wins ranking of the merge); when it fails the run raises :class:`ReconciliationError` before anything is
committed."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from pyspark.sql import DataFrame, Observation, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from glue_jobs import bronze, commit, inventory, lease, transform
from glue_jobs.bronze import spark_path
from glue_jobs.storage import LocalStorage, Storage, join, relative, storage_for

log = logging.getLogger("glue_jobs.silver")
SILVER_TABLE = "silver_orders"
REJECTED_TABLE = "silver_orders_rejected"
SILVER_SCHEMA = T.StructType(
    [
        T.StructField("order_id", T.StringType()),
        T.StructField("customer_id", T.StringType()),
        T.StructField("country", T.StringType()),
        T.StructField("product", T.StringType()),
        T.StructField("quantity", T.IntegerType()),
        T.StructField("unit_price", T.DecimalType(10, 2)),
        T.StructField("revenue", T.DecimalType(12, 2)),
        T.StructField("source_file", T.StringType()),
        T.StructField("ingested_at", T.TimestampNTZType()),
        T.StructField("order_date", T.DateType()),
    ]
)


class ReconciliationError(RuntimeError):
    """The run's row counts do not add up: rows were lost or invented. Nothing was committed."""


@dataclass(frozen=True)
class JobArgs:
    job_name: str
    bronze_path: str
    silver_path: str
    reference_path: str
    state_path: str
    runs_path: str
    full_refresh: bool = False


def configure(spark: SparkSession, *, local_files: bool = False) -> None:
    """Session settings the job relies on (all runtime-settable, so a shared session can be reused)."""
    conf = spark.conf
    if local_files:
        # Reading hundreds of order_date partitions, Spark would start a listing job on the executors (worth it
        # on S3); on a local disk listing them on the driver is seconds faster (incremental day: 5.1 s -> 3.1 s
        # for the moved-order check on 365 partitions).
        conf.set("spark.sql.sources.parallelPartitionDiscovery.threshold", "100000")
    conf.set("spark.sql.session.timeZone", "UTC")
    conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    conf.set("spark.sql.parquet.compression.codec", "snappy")
    # Without this, Spark parses only the selected CSV columns and never fills the corrupt-record column.
    conf.set("spark.sql.csv.parser.columnPruning.enabled", "false")
    conf.set("spark.sql.adaptive.enabled", "true")
    conf.set("spark.sql.adaptive.coalescePartitions.enabled", "true")
    # Observed metrics (our row counts) are read from the executed plan; when a stage turns out empty (a run
    # with no rejected rows), this AQE rule would prune the node that holds them and Observation.get would
    # never return.
    conf.set(
        "spark.sql.adaptive.optimizer.excludedRules",
        "org.apache.spark.sql.execution.adaptive.AQEPropagateEmptyRelation",
    )
    hadoop = spark.sparkContext._jsc.hadoopConfiguration()
    hadoop.set("mapreduce.fileoutputcommitter.marksuccessfuljobs", "false")
    hadoop.set("parquet.enable.summary-metadata", "false")


def read_codes(storage: Storage, path: str, column: str) -> set[str]:
    raw = storage.read_bytes(path)
    if raw is None:
        raise FileNotFoundError(f"reference data not found: {path}")
    rows = csv.DictReader(io.StringIO(raw.decode("utf-8-sig")))
    return {row[column].strip().upper() for row in rows if row.get(column, "").strip()}


def _new_run_id(now: dt.datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%S%fZ") + "-" + uuid.uuid4().hex[:8]


def _observed(observation: Observation, timeout_s: float = 300.0) -> dict[str, Any]:
    """An observation's metrics. ``Observation.get`` blocks until they arrive; never wait forever."""
    result: dict[str, Any] = {}
    waiter = threading.Thread(target=lambda: result.update(observation.get), daemon=True)
    waiter.start()
    waiter.join(timeout_s)
    if waiter.is_alive():
        raise ReconciliationError(f"Spark never reported the observed metrics {observation._name!r}")
    return result


def _obs_int(values: dict[str, Any], key: str) -> int:
    return int(values.get(key) or 0)


def _write_partitioned(df: DataFrame, path: str, partition: str, sort: list[str]) -> None:
    started = time.perf_counter()
    (
        df.repartition(partition)
        .sortWithinPartitions(partition, *sort)
        .write.mode("overwrite")
        .partitionBy(partition)
        .parquet(path)
    )
    log.info("silver: wrote %s in %.1f s", path, time.perf_counter() - started)


def _partition_values(storage: Storage, table: str, key: str) -> list[str]:
    prefix = f"{key}="
    return [d[len(prefix) :] for d in storage.list_dirs(table) if d.startswith(prefix)]


def _stock(args: JobArgs, bookmark: dict[str, int]) -> tuple[inventory.Inventory, list[str]]:
    """The bronze files this run must look at (new, or changed since they were read) and which of those changed."""
    bronze_storage = storage_for(args.bronze_path)
    listed = bronze_storage.list_files(args.bronze_path, include_hidden=True)
    todo, changed = [], []
    for info in listed:
        rel = relative(args.bronze_path, info.path)
        if rel not in bookmark:
            todo.append(info)
        elif bookmark[rel] != info.size:
            log.warning(
                "silver: %s changed since it was read (%d -> %d bytes): reading it again, whole", rel,
                bookmark[rel], info.size,
            )  # fmt: skip
            todo.append(info)
            changed.append(rel)
    stock = inventory.take_stock(bronze_storage, args.bronze_path, todo)
    for skipped in stock.not_read:
        log.warning("silver: not reading %s: %s", skipped.path, skipped.reason)
    return stock, changed


def _file_counts(raw: DataFrame, files: list[inventory.BronzeFile]) -> list[str]:
    """Files whose rows in Spark differ from their records counted in Python (only run when the totals differ)."""
    expected: dict[str, int] = {}
    for f in files:
        name = f.path.rsplit("/", 1)[-1]
        expected[name] = expected.get(name, 0) + f.records
    actual = {r["source_file"]: r["count"] for r in raw.groupBy("source_file").count().collect()}
    return [
        f"{name} holds {n} records but Spark read {actual.get(name, 0)} rows"
        for name, n in sorted(expected.items())
        if actual.get(name, 0) != n
    ]


def _merge_rejected(
    spark: SparkSession,
    storage: Storage,
    staging: str,
    rejected_table: str,
    dates: list[str],
    names: list[str],
) -> str:
    """Rewrite the quarantine partitions ``dates`` as their rows from other files plus this run's new rows.

    A file's rejected rows are replaced as a unit (key: ingest_date, source_file), so a file read again (it
    changed, or the bookmark was lost) never duplicates its quarantine rows. Returns the merged staging folder."""
    merged = join(staging, "_rejected_merged")
    existing = (
        spark.read.option("basePath", rejected_table)
        .parquet(*[spark_path(join(rejected_table, f"ingest_date={d}")) for d in dates])
        .where(~F.col("source_file").isin(names))
    )
    staged = join(staging, REJECTED_TABLE)
    new_parts = [
        join(staged, f"ingest_date={d}") for d in dates if storage.exists(join(staged, f"ingest_date={d}"))
    ]
    if new_parts:
        fresh = spark.read.option("basePath", staged).parquet(*[spark_path(p) for p in new_parts])
        existing = existing.unionByName(fresh)
    _write_partitioned(
        existing.select(*transform.REJECTED_COLUMNS), merged, "ingest_date", ["source_file", "order_id"]
    )
    storage.tidy_staged(merged)
    return merged


def run(spark: SparkSession, args: JobArgs) -> dict[str, Any]:
    started = dt.datetime.now(dt.UTC)
    run_id = _new_run_id(started)
    holder = lease.Holder.me(run_id, "silver", started)
    with lease.hold(storage_for(args.state_path), args.state_path, holder) as held:
        return _run(spark, args, run_id, started, held)


def _run(
    spark: SparkSession, args: JobArgs, run_id: str, started: dt.datetime, held: lease.Lease
) -> dict[str, Any]:
    clock = time.perf_counter()
    storage = storage_for(args.silver_path)
    paths = commit.Paths(args.silver_path, args.state_path, args.runs_path)
    silver_table, rejected_table = (
        join(args.silver_path, SILVER_TABLE),
        join(args.silver_path, REJECTED_TABLE),
    )
    configure(spark, local_files=isinstance(storage, LocalStorage))
    recovered = commit.recover(storage, paths, discard_damaged=args.full_refresh)

    bookmark = {} if args.full_refresh else commit.load_bookmark(storage, paths)
    stock, changed = _stock(args, bookmark)
    new = stock.files
    new_bookmark = {**bookmark, **{relative(args.bronze_path, f.path): f.size for f in new}}
    metrics: dict[str, Any] = {
        "run_id": run_id,
        "job_name": args.job_name,
        "started_at": started.isoformat(timespec="seconds"),
        "full_refresh": args.full_refresh,
        "files_read": len(new),
        "files_changed": changed,
        "files_not_read": [{"file": f.path, "reason": f.reason} for f in stock.not_read],
        "files_quarantined": [],
        "records_counted": sum(f.records for f in new),
        "rows_read": 0,
        "rows_written": 0,
        "rows_rejected": 0,
        "rejected_by_reason": {},
        "duplicates_dropped": 0,
        "superseded": 0,
        "partitions_touched": 0,
        "order_dates_touched": [],
        "recovered_runs": recovered,
    }
    staging = paths.staging(run_id)
    validated = raw = None
    if new:
        for f in new:
            missing = bronze.missing_columns(f.header) if f.header else ()
            if not f.utf8:
                log.warning("silver: %s is not UTF-8: all its rows are quarantined", f.path)
                metrics["files_quarantined"].append({"file": f.path, "reason": "not_utf8"})
            elif missing:
                log.warning(
                    "silver: %s lacks column(s) %s: all its rows are quarantined", f.path, ", ".join(missing)
                )
                metrics["files_quarantined"].append(
                    {"file": f.path, "reason": "missing_column", "missing_columns": list(missing)}
                )
        raw = bronze.read_bronze(spark, bronze.group_files(new))
        if raw is not None:
            ref = storage_for(args.reference_path)
            countries = read_codes(ref, join(args.reference_path, "countries.csv"), "country_code")
            products = read_codes(ref, join(args.reference_path, "products.csv"), "product_code")
            validated = transform.validate(raw, countries, products)

    try:
        swaps: list[dict[str, str]] = []
        new_dates: list[str] = []
        ingest_dates: list[str] = []
        if validated is not None:
            # Action 1 reads every new row once: it writes the rejected rows and, through observed metrics
            # (no extra pass, no cache), counts rows per reason and collects the order_dates of the valid rows.
            # Action 2 (the merge) reads the CSV again: cheaper than caching the parsed rows (measured).
            read_obs, rejected_obs = Observation("read"), Observation("rejected")
            reason = F.col("reject_reason")
            counted = validated.observe(
                read_obs,
                F.count(F.lit(1)).alias("rows"),
                *[F.sum(F.when(reason == r, 1).otherwise(0)).alias(r) for r in transform.REASONS],
                # (a string: PySpark hands an observed array back as an unconverted Java object)
                F.array_join(
                    F.collect_set(F.when(reason.isNull(), F.col("v_order_date").cast("string"))), ","
                ).alias("dates"),
                F.array_join(F.collect_set(F.col("ingest_date").cast("string")), ",").alias("ingest_dates"),
            )
            rejected = transform.rejected_rows(counted).observe(rejected_obs, F.count(F.lit(1)).alias("n"))
            _write_partitioned(
                rejected, join(staging, REJECTED_TABLE), "ingest_date", ["source_file", "order_id"]
            )
            read = _observed(read_obs)
            metrics["rows_read"] = _obs_int(read, "rows")
            metrics["rows_rejected"] = _obs_int(_observed(rejected_obs), "n")
            metrics["rejected_by_reason"] = {r: _obs_int(read, r) for r in transform.REASONS if read.get(r)}
            new_dates = sorted(d for d in (read.get("dates") or "").split(",") if d)
            ingest_dates = sorted(d for d in (read.get("ingest_dates") or "").split(",") if d)
            if metrics["rows_read"] != metrics["records_counted"]:
                raise ReconciliationError(
                    f"silver run {run_id} does not reconcile: the new bronze files hold "
                    f"{metrics['records_counted']} records but Spark read {metrics['rows_read']} rows ("
                    + "; ".join(_file_counts(raw, new)[:3])
                    + "); nothing was committed"
                )

        existing_dates = set(_partition_values(storage, silver_table, "order_date"))
        if args.full_refresh:
            touched = sorted(existing_dates | set(new_dates))
        else:
            touched = set(new_dates)
            others = sorted(existing_dates - touched)
            if validated is not None and new_dates and others:
                # A correction may move an order to another order_date: its old version must go too.
                ids = transform.valid_rows(validated).select("order_id")
                moved = (
                    spark.read.schema(SILVER_SCHEMA)
                    .option("basePath", silver_table)
                    .parquet(*[spark_path(join(silver_table, f"order_date={d}")) for d in others])
                    .select("order_id", "order_date")
                    .join(ids, "order_id", "left_semi")
                    .select("order_date")
                    .distinct()
                    .collect()
                )
                touched |= {r["order_date"].isoformat() for r in moved}
            touched = sorted(touched)

        if new_dates:
            candidates = transform.valid_rows(validated)
            merge_from = [d for d in touched if d in existing_dates] if not args.full_refresh else []
            if merge_from:
                existing = (
                    spark.read.schema(SILVER_SCHEMA)
                    .option("basePath", silver_table)
                    .parquet(*[spark_path(join(silver_table, f"order_date={d}")) for d in merge_from])
                )
                candidates = candidates.unionByName(transform.as_candidates(existing))
            obs = Observation("dedupe")
            ranked = transform.rank_latest(candidates).observe(
                obs,
                F.sum(F.when(F.col("_is_new") & (F.col("_rank") == 1), 1).otherwise(0)).alias("written"),
                F.sum(F.when(F.col("_is_new") & (F.col("_rank") > 1), 1).otherwise(0)).alias("dropped"),
                F.sum(F.when(~F.col("_is_new") & (F.col("_rank") > 1), 1).otherwise(0)).alias("superseded"),
            )
            _write_partitioned(
                transform.to_silver(ranked), join(staging, SILVER_TABLE), "order_date", ["order_id"]
            )
            values = _observed(obs)
            metrics["rows_written"] = _obs_int(values, "written")
            metrics["duplicates_dropped"] = _obs_int(values, "dropped")
            metrics["superseded"] = _obs_int(values, "superseded")

        storage.tidy_staged(staging)
        staged_dates = set(_partition_values(storage, join(staging, SILVER_TABLE), "order_date"))
        for d in touched:
            part = f"order_date={d}"
            if d in staged_dates:
                swaps.append(
                    {
                        "kind": "replace",
                        "staged": join(staging, SILVER_TABLE, part),
                        "target": join(silver_table, part),
                    }
                )
            elif d in existing_dates:
                swaps.append({"kind": "delete", "target": join(silver_table, part)})
        existing_ingest = set(_partition_values(storage, rejected_table, "ingest_date"))
        staged_rejected = join(staging, REJECTED_TABLE)
        staged_ingest = set(_partition_values(storage, staged_rejected, "ingest_date"))
        to_merge = [] if args.full_refresh else sorted(existing_ingest & set(ingest_dates))
        if to_merge:
            names = sorted({f.path.rsplit("/", 1)[-1] for f in new})
            merged = _merge_rejected(spark, storage, staging, rejected_table, to_merge, names)
            merged_dates = set(_partition_values(storage, merged, "ingest_date"))
            for d in to_merge:
                part = f"ingest_date={d}"
                if d in merged_dates:
                    swaps.append(
                        {
                            "kind": "replace",
                            "staged": join(merged, part),
                            "target": join(rejected_table, part),
                        }
                    )
                else:
                    swaps.append({"kind": "delete", "target": join(rejected_table, part)})
        for d in sorted(staged_ingest - set(to_merge)):
            part = f"ingest_date={d}"
            swaps.append(
                {
                    "kind": "replace",
                    "staged": join(staged_rejected, part),
                    "target": join(rejected_table, part),
                }
            )
        if args.full_refresh:
            for d in sorted(existing_ingest - staged_ingest):
                swaps.append({"kind": "delete", "target": join(rejected_table, f"ingest_date={d}")})

        touched_silver = [s["target"].rsplit("=", 1)[1] for s in swaps if f"/{SILVER_TABLE}/" in s["target"]]
        metrics["partitions_touched"] = len(touched_silver)
        metrics["order_dates_touched"] = touched_silver
        metrics["duration_s"] = round(time.perf_counter() - clock, 3)
        check(metrics)
        swaps.append(commit.bookmark_swap(storage, paths, run_id, new_bookmark))
        held.ensure_held()
        commit.write_journal(storage, paths, run_id, {"swaps": swaps, "metrics": metrics})
    except BaseException:
        storage.delete_tree(staging)  # nothing was committed: drop the partial output
        raise
    commit.apply(storage, paths, run_id, {"swaps": swaps, "metrics": metrics})
    log.info(
        "silver run %s: %d files, %d rows read, %d written, %d rejected %s, %d duplicates dropped, "
        "%d superseded, %d partitions touched, %.1f s",
        run_id,
        metrics["files_read"],
        metrics["rows_read"],
        metrics["rows_written"],
        metrics["rows_rejected"],
        metrics["rejected_by_reason"],
        metrics["duplicates_dropped"],
        metrics["superseded"],
        metrics["partitions_touched"],
        metrics["duration_s"],
    )
    return metrics


def check(metrics: dict[str, Any]) -> None:
    """Raise :class:`ReconciliationError` unless every record of the new files was read by Spark, and every row
    read is written, rejected or a dropped duplicate."""
    read = metrics["rows_read"]
    accounted = metrics["rows_written"] + metrics["rows_rejected"] + metrics["duplicates_dropped"]
    counted = metrics.get("records_counted", read)
    if (
        read != accounted
        or counted != read
        or sum(metrics["rejected_by_reason"].values()) != metrics["rows_rejected"]
    ):
        raise ReconciliationError(
            f"silver run {metrics['run_id']} does not reconcile: records_counted={counted}, rows_read={read} but rows_written="
            f"{metrics['rows_written']} + rows_rejected={metrics['rows_rejected']} + duplicates_dropped="
            f"{metrics['duplicates_dropped']} = {accounted} (rejected_by_reason={metrics['rejected_by_reason']})"
        )
