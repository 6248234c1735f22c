"""The three stages on a local lake, each calling the code that runs in AWS, each failure as one line.

What a failure says is :mod:`lakehouse.explain`; what a stage built, as text, is :mod:`lakehouse.summaries`."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from glue_jobs.metrics import RunMetrics
from lakehouse.config import IngestConfig, OrderDatesConfig, SparkConfig
from lakehouse.explain import StageError, explain

__all__ = ["StageError", "finish_pending_silver", "gold", "ingest", "silver"]

log = logging.getLogger(__name__)
T = TypeVar("T")


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
    sweep: bool = False,
) -> RunMetrics:
    """The silver job on local Spark. With ``release_jvm`` (``lakehouse run``: gold comes next, in this process),
    a JVM this run started is ended once it is done, so gold's DuckDB does not run beside an idle Spark heap
    (their peaks would add up instead of the larger of the two: bench/README.md, "Latest figures"). A session that was already
    running (a test's) is left alone. ``repair``: the ingest days (first, last) to read again (glue_jobs.repair).
    ``order_dates``: the valid order dates, the same ones ``lakehouse ingest`` enforces (glue_jobs.bounds).
    ``sweep``: the slower path behind the correction horizon instead of a run (docs/decisions/0008-silver-reads.md)."""
    from glue_jobs.bounds import DateBounds
    from glue_jobs.local import run_silver
    from glue_jobs.metrics import ReconciliationError
    from glue_jobs.repair import RefreshRefused
    from glue_jobs.session import running, stop_local_jvm
    from glue_jobs.table import LakeBusy, LeaseLost, LeaseUnsupported, StateError

    ours = release_jvm and not running()
    metrics = _guard(
        "silver",
        lambda: run_silver(
            lake,
            full_refresh=full_refresh,
            repair=repair,
            sweep=sweep,
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


def _lease(lake: Path, command: str) -> Any:
    """The lake's lease for a local command (the one the silver job takes): one writer at a time."""
    from glue_jobs.local import silver_table

    run_id = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return silver_table(lake).lease(run_id, command)


def finish_pending_silver(lake: Path) -> list[str]:
    """Complete a silver commit that a killed run left half-applied (call it holding the lake's lease), so that
    nothing reads silver half-swapped. No Spark needed: the journal lists the remaining file moves."""
    from glue_jobs.local import silver_table

    finished = silver_table(lake).recover()
    for run_id in finished:
        log.warning("gold: first completed silver run %s, which was interrupted during its commit", run_id)
    return finished


def gold(lake: Path, *, full_refresh: bool = False, select: str | None = None) -> Any:
    from glue_jobs.table import LakeBusy, StateError
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
