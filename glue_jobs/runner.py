"""One silver run: new bronze files -> validated, deduplicated rows merged into silver, atomically.

:func:`run` holds the lake's lease, completes whatever a killed run left (both through
:class:`glue_jobs.table.SilverTable`, the table's commit protocol) and then takes these steps, each a function below:

1. **find the new files**: bronze files not in the bookmark, or changed since; each classified and its records
   counted from its bytes (:mod:`glue_jobs.inventory`);
2. **quarantine**: the one pass over the new rows' CSV stages them, parsed and validated, as Parquet and
   observes how many rows were read, per reject reason, and which dates they touch; the rejected ones are
   written to staging from that Parquet;
3. **count**: Spark's rows must equal the records counted from the files, or nothing is committed;
4. **moved orders**: a correction may move an order to another order_date, whose partition is rewritten too;
5. **merge**: new valid rows (from the staged Parquet) and the touched partitions' rows, the latest version of each order_id, to staging;
   and the quarantine partitions that hold rows of a file read again, rewritten without those rows;
6. **plan the swaps**: which staged partition replaces which live one (pure: :mod:`glue_jobs.swaps`);
7. **commit**: :meth:`glue_jobs.table.SilverTable.commit` checks the figures
   (:class:`glue_jobs.metrics.RunMetrics`), journals the swaps, the order index and the new bookmark, and
   applies them.

Until the journal is written, everything is under ``silver/_staging/<run_id>/`` and a failure deletes it.

What the steps share is split by whether it changes: :class:`Context` (the session, the arguments, the table, the
run's layout) is frozen; :class:`RunState` (the figures, what the bookmark will record of each file) is the one
mutable object, passed to the steps that fill it in."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import Column, DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

from glue_jobs import bronze, horizon, inventory, measure, order_index, repair, session, swaps, transform
from glue_jobs.bounds import DEFAULT, DateBounds
from glue_jobs.bronze import spark_path
from glue_jobs.metrics import FileNote, ReconciliationError, RunMetrics
from glue_jobs.storage import Storage, join, relative, storage_for
from glue_jobs.table import REJECTED_TABLE, SILVER_TABLE, Bookmark, Fence, Plan, RunIndex, SilverTable
from glue_jobs.transform import SILVER_SCHEMA

log = logging.getLogger("glue_jobs.silver")
# the new rows, parsed and validated once, under the run's staging folder
PARSED = "_parsed"
SORT = {"order_date": ["order_id"], "ingest_date": ["source_file", "order_id"]}


@dataclass(frozen=True)
class JobArgs:
    job_name: str
    bronze_path: str
    silver_path: str
    reference_path: str
    state_path: str
    runs_path: str
    full_refresh: bool = False
    # bronze ingest days to read again whatever the bookmark says (a bounded repair: glue_jobs.repair)
    repair: repair.Window | None = None
    bounds: DateBounds = DEFAULT
    # how far, in days, from an order's new order_date the run looks for the version it replaces (gold's
    # correction horizon: docs/decisions/0008-silver-reads.md)
    correction_horizon_days: int = horizon.DEFAULT_DAYS
    # the slower path: find and remove every order doubled across partitions (:func:`sweep`), read no bronze
    sweep: bool = False


@dataclass
class Seen:
    """What the bookmark records of each bronze file's content (relative path -> ``{"id", "mtime_ns"}``), as the
    run will leave it, and the duplicate uploads it bookmarks without reading them (path -> size)."""

    content: dict[str, dict[str, Any]] = field(default_factory=dict)
    duplicates: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Context:
    """What the steps of one run share and never change: the session, the arguments, the table, where the run
    stages its output, the storages it reads bronze and the reference data through (each counts what it reads)."""

    spark: SparkSession
    args: JobArgs
    table: SilverTable
    layout: swaps.Layout
    run_id: str
    bronze: Storage
    reference: Storage
    # Spark's input bytes when the run started (glue_jobs.measure)
    spark_input_at_start: int = 0

    @property
    def storage(self) -> Storage:
        return self.table.storage


@dataclass
class RunState:
    """What the steps of one run fill in: its figures, and what the bookmark will record of each file."""

    metrics: RunMetrics
    seen: Seen = field(default_factory=Seen)


@dataclass(frozen=True)
class Observed:
    """What the quarantine pass saw: the order_dates of the valid new rows, the ingest_dates of all of them, and
    the new rows as it staged them, parsed and validated once (None: no new rows)."""

    order_dates: list[str]
    ingest_dates: list[str]
    parsed: DataFrame | None = None


@dataclass(frozen=True)
class Live:
    """The partitions silver and its quarantine have before the run commits."""

    order_dates: set[str]
    ingest_dates: set[str]


def run(spark: SparkSession, args: JobArgs) -> RunMetrics:
    """One silver run, holding the lake's lease from before it reads any state until it has committed."""
    started = time.perf_counter()
    metrics = RunMetrics.begin(_new_run_id(dt.datetime.now(dt.UTC)), args.job_name, args.full_refresh)
    metrics.sweep = args.sweep
    metrics.repair_window = args.repair.describe() if args.repair else ""
    state = RunState(metrics)
    table = SilverTable.at(args.silver_path, args.state_path, args.runs_path)
    with table.lease(metrics.run_id, "silver") as held:
        ctx = start(spark, args, table, metrics, held.ensure_held)
        if args.sweep:
            sweep(ctx, state, held.ensure_held, started)
            log.info("silver sweep %s", metrics.summary())
            return metrics
        bookmark = {} if args.full_refresh else table.bookmarked_files()
        files = find_new_files(ctx, state, bookmark)
        try:
            if args.full_refresh:
                refuse_lossy_refresh(ctx)
            raw, validated = read_new_rows(ctx, state, files)
            observed = write_quarantine(ctx, state, validated)
            count_records(state.metrics, raw, files)
            live = live_partitions(ctx)
            touched, index = find_moved_orders(ctx, state, observed, live)
            merge(ctx, state, observed, touched, live)
            merged = merge_quarantine(ctx, files, observed, live)
            plan = swaps.plan_swaps(
                ctx.layout, staged_partitions(ctx, touched, live, merged), args.full_refresh
            )
            metrics.order_dates_touched = swaps.touched_order_dates(plan, ctx.layout)
            metrics.partitions_touched = len(metrics.order_dates_touched)
            metrics.duration_s = round(time.perf_counter() - started, 3)
            new_bookmark = {**updated_bookmark(args, bookmark, files), **state.seen.duplicates}
        except BaseException:
            # nothing was committed: drop the partial output
            table.discard(ctx.run_id)
            raise
        table.commit(
            Plan(ctx.run_id, plan, metrics, lambda figures: measure_io(ctx, figures)),
            Bookmark(new_bookmark, state.seen.content),
            index,
            fence=held.ensure_held,
        )
    log.info("silver run %s", metrics.summary())
    return metrics


def start(
    spark: SparkSession, args: JobArgs, table: SilverTable, metrics: RunMetrics, fence: Fence
) -> Context:
    """The run's context; the session's settings; whatever a killed run left, completed or discarded."""
    local = table.storage.local_path(args.silver_path) is not None
    session.configure(spark, local_files=local)
    metrics.recovered_runs = table.recover(discard_damaged=args.full_refresh, fence=fence)
    return Context(
        spark,
        args,
        table,
        table.layout(metrics.run_id),
        metrics.run_id,
        storage_for(args.bronze_path),
        storage_for(args.reference_path),
        measure.spark_input_bytes(spark),
    )


def measure_io(ctx: Context, metrics: RunMetrics) -> None:
    """What the run read and wrote through its storages and by Spark, into its figures."""
    areas = {
        **ctx.table.areas(ctx.run_id),
        ctx.args.bronze_path: "bronze",
        ctx.args.reference_path: "reference",
    }
    figures = measure.storage_figures([ctx.storage, ctx.bronze, ctx.reference], areas)
    metrics.storage = dataclasses.asdict(figures)
    metrics.spark_input_bytes = measure.spark_input_bytes(ctx.spark) - ctx.spark_input_at_start


# ------------------------------------------------------------------------------------------ 1. the new files
def find_new_files(ctx: Context, state: RunState, bookmark: dict[str, int]) -> list[inventory.BronzeFile]:
    """Bronze files not in the bookmark, or whose content changed since they were read (read again, whole): a
    new size, a new ETag on S3, or locally a new modification time and a new content hash (the hash is taken
    only then, on doubt). A new name whose content was read already is a duplicate upload: reported once,
    bookmarked, not read. Every other entry under bronze that the run does not read (symbolic links, named
    pipes and other non-regular files among them) is reported with the reason."""
    bronze_path, metrics = ctx.args.bronze_path, state.metrics
    bronze_storage = ctx.bronze
    known = {} if ctx.args.full_refresh else ctx.table.bookmarked_content()
    state.seen.content.update(known)
    todo, doubt = [], set()
    for info in bronze_storage.list_entries(bronze_path):
        rel = relative(bronze_path, info.path)
        if info.not_regular:
            metrics.files_not_read.append(FileNote(info.path, info.not_regular))
            log.warning("silver: not reading %s: %s", info.path, info.not_regular)
            continue
        if rel not in bookmark or _repaired(ctx, state, rel, bookmark):
            todo.append(info)
        elif bookmark[rel] != info.size:
            _changed(metrics, rel, f"{bookmark[rel]} bytes, now {info.size}")
            todo.append(info)
        elif rel in known and info.etag and known[rel].get("id") != f"etag:{info.etag}":
            _changed(metrics, rel, "the same size, a new ETag")
            todo.append(info)
        elif rel in known and not info.etag and known[rel].get("mtime_ns") != info.mtime_ns:
            todo.append(info)
            doubt.add(rel)
    stock = inventory.take_stock(bronze_storage, bronze_path, todo)
    for skipped in stock.not_read:
        log.warning("silver: not reading %s: %s", skipped.path, skipped.reason)
        metrics.files_not_read.append(FileNote(skipped.path, skipped.reason))
    mtimes = {relative(bronze_path, i.path): i.mtime_ns for i in todo}
    files = _new_content(ctx, state, stock.files, doubt, mtimes)
    metrics.files_read = len(files)
    metrics.records_counted = sum(bronze.rows_expected(f) for f in files)
    return files


def _changed(metrics: RunMetrics, rel: str, how: str) -> None:
    log.warning("silver: %s changed since it was read (%s): reading it again", rel, how)
    metrics.files_changed.append(rel)


def _new_content(
    ctx: Context,
    state: RunState,
    inspected: list[inventory.BronzeFile],
    doubt: set[str],
    mtimes: dict[str, int],
) -> list[inventory.BronzeFile]:
    """Of the files inspected, those to read: a file touched but with the content it had is not read again, a
    new name with content already read is a duplicate upload. Records each one's content for the bookmark."""
    bronze_path, seen, metrics = ctx.args.bronze_path, state.seen, state.metrics
    read_as = {v.get("id"): rel for rel, v in sorted(seen.content.items(), reverse=True)}
    files = []
    for f in sorted(inspected, key=lambda f: f.path):
        rel = relative(bronze_path, f.path)
        before = seen.content.get(rel, {}).get("id")
        seen.content[rel] = {"id": f.content_id, "mtime_ns": mtimes.get(rel, 0)}
        if rel in doubt and before == f.content_id:
            # touched, not changed: its new modification time is bookmarked
            continue
        if rel in doubt:
            _changed(metrics, rel, "the same size, a new content hash")
        first = read_as.setdefault(f.content_id, rel)
        if first != rel and rel not in seen.duplicates and before is None:
            reason = f"a duplicate upload: the same content as {first}, which is read already"
            log.warning("silver: not reading %s: %s", f.path, reason)
            metrics.files_duplicate.append(FileNote(f.path, reason))
            seen.duplicates[rel] = f.size
            continue
        files.append(f)
    return files


def _repaired(ctx: Context, state: RunState, rel: str, bookmark: dict[str, int]) -> bool:
    """A file of the repair window, read again although the bookmark has it."""
    window = ctx.args.repair
    if window is None or rel not in bookmark or not window.holds(repair.ingest_day(rel)):
        return False
    state.metrics.files_repaired += 1
    return True


def refuse_lossy_refresh(ctx: Context) -> None:
    """A full refresh rebuilds silver from bronze alone: refuse it, before anything is staged, if silver or its
    quarantine holds rows of bronze files that are gone (their partitions would be dropped or thinned)."""
    bronze_names = {
        info.path.rsplit("/", 1)[-1]
        for info in ctx.bronze.list_files(ctx.args.bronze_path, include_hidden=True)
    }
    losses = {
        name: repair.lost_partitions(_sources(ctx, table, key), bronze_names)
        for name, table, key in (
            (SILVER_TABLE, ctx.layout.silver_table, "order_date"),
            (REJECTED_TABLE, ctx.layout.rejected_table, "ingest_date"),
        )
    }
    refused = repair.refusal(losses)
    if refused is not None:
        raise refused


def _sources(ctx: Context, table: str, key: str) -> dict[str, set[str]]:
    """Each partition of ``table`` -> the source files of its rows (one column read, Parquet prunes the rest)."""
    values = _partition_values(ctx.storage, table, key)
    if not values:
        return {}
    pairs = _read_partitions(ctx, table, key, values).select(key, "source_file").distinct().collect()
    sources: dict[str, set[str]] = {}
    for row in pairs:
        sources.setdefault(str(row[key]), set()).add(row["source_file"])
    return sources


def updated_bookmark(
    args: JobArgs, bookmark: dict[str, int], files: list[inventory.BronzeFile]
) -> dict[str, int]:
    return {**bookmark, **{relative(args.bronze_path, f.path): f.size for f in files}}


def read_codes(storage: Storage, path: str, column: str) -> set[str]:
    raw = storage.read_bytes(path)
    if raw is None:
        raise FileNotFoundError(f"reference data not found: {path}")
    rows = csv.DictReader(io.StringIO(raw.decode("utf-8-sig")))
    return {row[column].strip().upper() for row in rows if row.get(column, "").strip()}


def read_new_rows(
    ctx: Context, state: RunState, files: list[inventory.BronzeFile]
) -> tuple[DataFrame | None, DataFrame | None]:
    """The new files' rows as Spark reads them, and the same validated against the reference data."""
    for f in files:
        note = _whole_file_reject(f)
        if note is not None:
            log.warning("silver: %s: all its rows are quarantined (%s)", f.path, note.reason)
            state.metrics.files_quarantined.append(note)
    raw = bronze.read_bronze(ctx.spark, bronze.group_files(files)) if files else None
    if raw is None:
        return None, None
    ref_path = ctx.args.reference_path
    ref = ctx.reference
    countries = read_codes(ref, join(ref_path, "countries.csv"), "country_code")
    products = read_codes(ref, join(ref_path, "products.csv"), "product_code")
    now = dt.datetime.fromisoformat(state.metrics.started_at).replace(tzinfo=None)
    return raw, transform.validate(raw, countries, products, ctx.args.bounds, now)


def _whole_file_reject(f: inventory.BronzeFile) -> FileNote | None:
    reason = bronze.whole_file_reason(f) if f.header else ""
    if reason == "missing_column":
        return FileNote(f.path, reason, bronze.missing_columns(f.header))
    return FileNote(f.path, reason) if reason else None


# ------------------------------------------------------------------------------------------ 2. quarantine
def write_quarantine(ctx: Context, state: RunState, validated: DataFrame | None) -> Observed:
    """The only pass over the CSV: it stages every new row, parsed and validated (:func:`stage_parsed`), and
    observes the run's figures on the way; the rejected rows are then written to staging from that Parquet, and
    the merge reads its candidates from it too, instead of parsing the CSV again."""
    if validated is None:
        return Observed([], [])
    read_obs, rejected_obs = Observation("read"), Observation("rejected")
    parsed = stage_parsed(ctx, validated.observe(read_obs, *_read_figures()))
    rejected = transform.rejected_rows(parsed).observe(rejected_obs, F.count(F.lit(1)).alias("n"))
    _write_partitioned(rejected, ctx.layout.staged_rejected, "ingest_date")
    read = _observed(read_obs)
    state.metrics.rows_read = _obs_int(read, "rows")
    state.metrics.rows_rejected = _obs_int(_observed(rejected_obs), "n")
    state.metrics.rejected_by_reason = {r: _obs_int(read, r) for r in transform.REASONS if read.get(r)}
    return Observed(_split(read.get("dates")), _split(read.get("ingest_dates")), parsed)


def _read_figures() -> list[Column]:
    """Observed on the parse (no extra pass, no cache): rows, rows per reason, and the dates the rows touch."""
    reason = F.col("reject_reason")
    return [
        F.count(F.lit(1)).alias("rows"),
        *[F.sum(F.when(reason == r, 1).otherwise(0)).alias(r) for r in transform.REASONS],
        # (strings: PySpark hands an observed array back as an unconverted Java object)
        F.array_join(F.collect_set(F.when(reason.isNull(), F.col("v_order_date").cast("string"))), ",").alias(
            "dates"
        ),
        F.array_join(F.collect_set(F.col("ingest_date").cast("string")), ",").alias("ingest_dates"),
    ]


def stage_parsed(ctx: Context, validated: DataFrame) -> DataFrame:
    """Write the validated rows once to ``<staging>/_parsed`` (no shuffle: the CSV is parsed in this one pass,
    and ``_line`` is fixed from here on) and read them back. Each row keeps only what its next step needs: a
    rejected row its raw values (the quarantine), a valid row its typed ones (the merge)."""
    path = join(ctx.layout.staging, PARSED)
    started = time.perf_counter()
    transform.for_staging(validated).write.mode("overwrite").parquet(path)
    log.info("silver: parsed and staged the new rows in %.1f s", time.perf_counter() - started)
    return ctx.spark.read.parquet(spark_path(path))


# ------------------------------------------------------------------------------------------ 3. counting
def count_records(metrics: RunMetrics, raw: DataFrame | None, files: list[inventory.BronzeFile]) -> None:
    """Spark must have read exactly the records counted from the files' bytes; if not, name the files."""
    if metrics.rows_read == metrics.records_counted:
        return
    expected: dict[str, int] = {}
    for f in files:
        name = f.path.rsplit("/", 1)[-1]
        expected[name] = expected.get(name, 0) + bronze.rows_expected(f)
    actual = (
        {}
        if raw is None
        else {r["source_file"]: r["count"] for r in raw.groupBy("source_file").count().collect()}
    )
    differ = [
        f"{name} holds {n} records but Spark read {actual.get(name, 0)} rows"
        for name, n in sorted(expected.items())
        if actual.get(name, 0) != n
    ]
    raise ReconciliationError(
        f"silver run {metrics.run_id} does not reconcile: the new bronze files hold {metrics.records_counted} "
        f"records but Spark read {metrics.rows_read} rows ({'; '.join(differ[:3])}); nothing was committed"
    )


# ------------------------------------------------------------------------------------------ 4. moved orders
def live_partitions(ctx: Context) -> Live:
    storage, layout = ctx.storage, ctx.layout
    return Live(
        set(_partition_values(storage, layout.silver_table, "order_date")),
        set(_partition_values(storage, layout.rejected_table, "ingest_date")),
    )


def find_moved_orders(
    ctx: Context, state: RunState, observed: Observed, live: Live
) -> tuple[list[str], RunIndex]:
    """The order_dates this run rewrites: those of its new valid rows, plus those where the order index says
    the orders the run writes lived before (a correction may move an order to another order_date). Only the
    run's own ids are looked up, whatever the history. A full refresh: all. Also the index it looked them up
    in (rebuilt from silver if damaged), which the commit extends: none on a full refresh or a first run."""
    touched = set(observed.order_dates)
    if ctx.args.full_refresh:
        return sorted(live.order_dates | touched), RunIndex()
    # silver is empty (a first run): no order can have moved, and the index is built whole from what the run
    # stages (the run's ids would cost memory for nothing)
    if not live.order_dates:
        return sorted(touched), RunIndex()
    pairs = pa.table({"v_order_id": pa.array([], pa.string()), "v_order_date": pa.array([], pa.date32())})
    if observed.parsed is not None and touched:
        # the staged rows' ids and their new dates: a valid row's v_order_id is set
        pairs = order_index.staged_pairs(
            ctx.storage, join(ctx.layout.staging, PARSED), ["v_order_id", "v_order_date"]
        )
    bound = order_index.Bound(pairs["v_order_id"], pairs["v_order_date"], ctx.args.correction_horizon_days)
    index, found = look_up(ctx, state, bound)
    before = {str(np.datetime64(int(d), "D")) for d in np.unique(found[1])}
    state.metrics.index_lookup = horizon.lookup_report(index, bound)
    ids = pc.unique(bound.ids)
    return sorted(touched | before), RunIndex(index, ids, frozenset(order_index.vacated_days(*found, bound)))


def look_up(
    ctx: Context, state: RunState, bound: order_index.Bound
) -> tuple[order_index.Index, tuple[np.ndarray, np.ndarray]]:
    """The order index (only the parts within the bound's horizon are read), and where it finds the bound's ids
    (:func:`glue_jobs.order_index.locate`); rebuilt from silver, and reported, when it is damaged, missing or
    in an older layout."""
    try:
        index = ctx.table.load_order_index(silver_has_rows=True, bound=bound)
        return index, order_index.locate(index, bound.ids, bound)
    except order_index.IndexDamaged as exc:
        log.warning("silver: the order index cannot be used (%s): rebuilding it from silver", exc)
        state.metrics.order_index_rebuilt = str(exc)
        index = ctx.table.rebuild_order_index(ctx.run_id)
        return index, order_index.locate(index, bound.ids, bound)


# ------------------------------------------------------------------------------------------ 5. merge
def merge(ctx: Context, state: RunState, observed: Observed, touched: list[str], live: Live) -> None:
    """Stage each touched order_date partition: its rows and the new ones (read from the parsed rows the
    quarantine pass staged), the latest version of each order_id (ties: later file name, then later line).
    Counts what was written, dropped and superseded."""
    if observed.parsed is None or not observed.order_dates:
        return
    candidates = transform.valid_rows(observed.parsed)
    merge_from = [] if ctx.args.full_refresh else [d for d in touched if d in live.order_dates]
    if merge_from:
        existing = _read_partitions(ctx, ctx.layout.silver_table, "order_date", merge_from, SILVER_SCHEMA)
        candidates = candidates.unionByName(transform.as_candidates(existing))
    write_latest(ctx, state, candidates)


def write_latest(ctx: Context, state: RunState, candidates: DataFrame) -> None:
    """Stage the latest version of each order_id of ``candidates`` in its order_date partition; counts what was
    written, dropped and superseded."""
    obs = Observation("dedupe")
    new, rank = F.col("_is_new"), F.col("_rank")
    ranked = transform.rank_latest(candidates).observe(
        obs,
        F.sum(F.when(new & (rank == 1), 1).otherwise(0)).alias("written"),
        F.sum(F.when(new & (rank > 1), 1).otherwise(0)).alias("dropped"),
        F.sum(F.when(~new & (rank > 1), 1).otherwise(0)).alias("superseded"),
    )
    _write_partitioned(transform.to_silver(ranked), ctx.layout.staged_silver, "order_date")
    values = _observed(obs)
    state.metrics.rows_written = _obs_int(values, "written")
    state.metrics.duplicates_dropped = _obs_int(values, "dropped")
    state.metrics.superseded = _obs_int(values, "superseded")


def merge_quarantine(
    ctx: Context, files: list[inventory.BronzeFile], observed: Observed, live: Live
) -> list[str]:
    """Rewrite the quarantine partitions that may hold rows of this run's files (read again: changed, or the
    bookmark was lost) as their other files' rows plus this run's. A file's rejected rows are replaced as a
    unit (key: ingest_date, source_file), so they are never doubled. Returns the ingest_dates merged."""
    dates = swaps.quarantine_merges(live.ingest_dates, observed.ingest_dates, ctx.args.full_refresh)
    if not dates:
        return []
    layout, names = ctx.layout, sorted({f.path.rsplit("/", 1)[-1] for f in files})
    rows = _read_partitions(ctx, layout.rejected_table, "ingest_date", dates).where(
        ~F.col("source_file").isin(names)
    )
    staged = set(_partition_values(ctx.storage, layout.staged_rejected, "ingest_date"))
    fresh = [d for d in dates if d in staged]
    if fresh:
        rows = rows.unionByName(_read_partitions(ctx, layout.staged_rejected, "ingest_date", fresh))
    _write_partitioned(rows.select(*transform.REJECTED_COLUMNS), layout.merged_rejected, "ingest_date")
    return dates


# ------------------------------------------------------------------------------------------ the sweep
def sweep(ctx: Context, state: RunState, fence: Fence, started: float) -> None:
    """The slower path behind the correction horizon: find every order_id in more than one silver partition
    (a correction that moved it further than the horizon left its old row), keep its latest version (the
    merge's own ranking), and commit the rewritten partitions, the index without the stale entries and the
    unchanged bookmark through the same journal as a run. Each removed copy is reported
    (``corrections_beyond_horizon``). Reads every order_id of silver, with Spark; no bronze."""
    metrics = state.metrics
    live = live_partitions(ctx)
    copies = doubled_orders(ctx) if live.order_dates else []
    touched = sorted({day for _, day, _, _ in copies})
    metrics.corrections_beyond_horizon = beyond_horizon(copies)
    try:
        if touched:
            existing = _read_partitions(ctx, ctx.layout.silver_table, "order_date", touched, SILVER_SCHEMA)
            write_latest(ctx, state, transform.as_candidates(existing))
        index = RunIndex()
        if live.order_dates:
            # every copy's day: the parts the stale entries are removed from, and the winners' entries added to
            ids = pa.array([c[0] for c in copies], pa.string())
            days = pa.array([dt.date.fromisoformat(c[1]) for c in copies], pa.date32())
            loaded, _ = look_up(ctx, state, order_index.Bound(ids, days, 0))
            old = frozenset(c["old_date"] for c in metrics.corrections_beyond_horizon)
            index = RunIndex(loaded, pc.unique(ids), old)
        plan = swaps.plan_swaps(ctx.layout, staged_partitions(ctx, touched, live, []), False)
        metrics.order_dates_touched = swaps.touched_order_dates(plan, ctx.layout)
        metrics.partitions_touched = len(metrics.order_dates_touched)
        metrics.duration_s = round(time.perf_counter() - started, 3)
        bookmark = Bookmark(ctx.table.bookmarked_files(), ctx.table.bookmarked_content())
    except BaseException:
        ctx.table.discard(ctx.run_id)
        raise
    ctx.table.commit(
        Plan(ctx.run_id, plan, metrics, lambda figures: measure_io(ctx, figures)),
        bookmark,
        index,
        fence=fence,
    )


def doubled_orders(ctx: Context) -> list[tuple[str, str, str, str]]:
    """Each copy of every order_id that silver holds in more than one order_date partition: (order_id,
    order_date, ingested_at, source_file), with Spark over all of silver's order_id and order_date."""
    table = ctx.layout.silver_table
    rows = ctx.spark.read.option("basePath", table).schema(SILVER_SCHEMA).parquet(spark_path(table))
    doubled = (
        rows.groupBy("order_id")
        .agg(F.countDistinct("order_date").alias("dates"))
        .where(F.col("dates") > 1)
        .select("order_id")
    )
    copies = rows.join(F.broadcast(doubled), "order_id").select(
        "order_id",
        F.col("order_date").cast("string").alias("order_date"),
        F.col("ingested_at").cast("string").alias("ingested_at"),
        "source_file",
    )
    return sorted(
        (r["order_id"], r["order_date"], r["ingested_at"], r["source_file"]) for r in copies.collect()
    )


def beyond_horizon(copies: list[tuple[str, str, str, str]]) -> list[dict[str, str]]:
    """For each doubled order, each stale copy: its old date and the date of the version that wins (the
    merge's ranking: latest ingested_at, then the greater source file name)."""
    by_order: dict[str, list[tuple[str, str, str, str]]] = {}
    for copy in copies:
        by_order.setdefault(copy[0], []).append(copy)
    report = []
    for order_id, versions in sorted(by_order.items()):
        winner = max(versions, key=lambda c: (c[2], c[3]))
        for copy in versions:
            if copy[1] != winner[1]:
                report.append({"order_id": order_id, "old_date": copy[1], "new_date": winner[1]})
    return report


# ------------------------------------------------------------------------------------------ 6. plan
def staged_partitions(ctx: Context, touched: list[str], live: Live, merged: list[str]) -> swaps.Partitions:
    """What the run staged, next to what is live: the input of the (pure) swap planning."""
    storage, layout = ctx.storage, ctx.layout
    storage.tidy_staged(layout.staging)
    return swaps.Partitions(
        touched=touched,
        existing=live.order_dates,
        staged=set(_partition_values(storage, layout.staged_silver, "order_date")),
        existing_ingest=live.ingest_dates,
        staged_ingest=set(_partition_values(storage, layout.staged_rejected, "ingest_date")),
        merged_ingest=merged,
        merged_staged=set(_partition_values(storage, layout.merged_rejected, "ingest_date")),
    )


# ------------------------------------------------------------------------------------------ helpers
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


def _split(joined: str | None) -> list[str]:
    return sorted(d for d in (joined or "").split(",") if d)


def _write_partitioned(df: DataFrame, path: str, partition: str) -> None:
    started = time.perf_counter()
    (
        df.repartition(partition)
        .sortWithinPartitions(partition, *SORT[partition])
        .write.mode("overwrite")
        .partitionBy(partition)
        .parquet(path)
    )
    log.info("silver: wrote %s in %.1f s", path, time.perf_counter() - started)


def _partition_values(storage: Storage, table: str, key: str) -> list[str]:
    prefix = f"{key}="
    return [d[len(prefix) :] for d in storage.list_dirs(table) if d.startswith(prefix)]


def _read_partitions(ctx: Context, table: str, key: str, values: list[str], schema: Any = None) -> DataFrame:
    reader = ctx.spark.read.option("basePath", table)
    if schema is not None:
        reader = reader.schema(schema)
    return reader.parquet(*[spark_path(join(table, f"{key}={v}")) for v in values])
