"""Spark's session settings, in one place: the local session (laptop runs, tests) and the settings the job sets
on any session it is given (Glue's included).

``local_session`` makes a local session: master, memory, parallelism, where Spark spills, no UI and, for a
command-line run, Spark's own log in a file rather than on the terminal. The memory it may take is bounded by
configuration, not by the size of the data (docs/operations.md, "Bounded memory"): the driver's heap
(``driver_memory``, the JVM's ``-Xmx``), shuffle partitions small enough that a sort or window spills to ``local_dir`` instead of asking for
more heap, and that spill folder on the lake's disk rather than ``/tmp``. ``configure`` sets what the job relies on at runtime (all settable on
a running session, so a shared test session or Glue's session works the same)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

LOG4J = Path(__file__).resolve().parent / "log4j2.properties"


def local_session(
    master: str = "local[2]",
    shuffle_partitions: int = 16,
    driver_memory: str = "2g",
    *,
    app_name: str = "bronze_to_silver_orders",
    log_file: Path | None = None,
    local_dir: Path | None = None,
) -> Any:
    """A local SparkSession (or the running one: ``getOrCreate`` reuses e.g. the test session). With
    ``log_file``, Spark's own log goes there instead of the terminal; with ``local_dir``, Spark spills and keeps
    its shuffle files there (created when missing) instead of ``/tmp``."""
    from lakehouse.java import ensure_java

    ensure_java()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    builder = SparkSession.builder
    if log_file is not None:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        builder = builder.config(
            "spark.driver.extraJavaOptions",
            # (quoted: Spark splits these options like a shell would, and the lake's path may hold spaces)
            f"-Dlog4j2.configurationFile={LOG4J.as_uri()} '-Dlakehouse.spark.log={Path(log_file).resolve()}'",
        ).config("spark.ui.showConsoleProgress", "false")
    if local_dir is not None:
        Path(local_dir).mkdir(parents=True, exist_ok=True)
        builder = builder.config("spark.local.dir", str(Path(local_dir).resolve()))
    return (
        builder.master(master)
        .appName(app_name)
        .config("spark.driver.memory", driver_memory)
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.default.parallelism", str(shuffle_partitions))
        .config("spark.sql.adaptive.enabled", "true")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )


def running() -> bool:
    """Whether this process already has a SparkContext (a test's shared session, or an earlier stage's)."""
    from pyspark import SparkContext

    return SparkContext._active_spark_context is not None


def stop_local_jvm(timeout_s: float = 60) -> None:
    """Stop the local session and end the JVM it ran in, giving back its memory (``SparkSession.stop`` alone
    leaves the JVM running, holding its heap, until Python exits). A later ``local_session`` starts a new JVM.

    PySpark's gateway JVM exits when its stdin closes; that is how it is ended here."""
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is not None:
        session.stop()
    gateway = SparkContext._gateway
    if gateway is None:
        return
    proc = getattr(gateway, "proc", None)
    gateway.shutdown()
    SparkContext._gateway = None
    SparkContext._jvm = None
    # a gateway PySpark did not launch (PYSPARK_GATEWAY_PORT): not ours to end
    if proc is None:
        return
    if proc.stdin is not None:
        proc.stdin.close()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def configure(spark: Any, *, local_files: bool = False) -> None:
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
    # A quarantined row keeps whatever landing time its file's name gave (year 1025 too): written as is, in the
    # proleptic calendar every reader of the lake uses, rather than failing the run (WRITE_ANCIENT_DATETIME).
    conf.set("spark.sql.parquet.datetimeRebaseModeInWrite", "CORRECTED")
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
