"""Run the Glue job's ``main()`` on a local lake folder, with local Spark."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
LOG4J = Path(__file__).resolve().parent / "log4j2.properties"


def lake_paths(lake: Path) -> dict[str, str]:
    """Where the job keeps each part of a local lake (the same layout as the S3 bucket)."""
    lake = Path(lake).resolve()
    return {
        "bronze_path": str(lake / "bronze" / "orders"),
        "silver_path": str(lake / "silver"),
        "state_path": str(lake / "_state" / "silver"),
        "runs_path": str(lake / "_runs" / "silver"),
    }


def glue_argv(lake: Path, *, full_refresh: bool = False, reference_path: Path = SEEDS) -> list[str]:
    """The Glue-style arguments for a local lake: the same names the CloudFormation job passes."""
    paths = lake_paths(lake)
    return [
        "--JOB_NAME", "bronze_to_silver_orders_local",
        "--bronze_path", paths["bronze_path"],
        "--silver_path", paths["silver_path"],
        "--reference_path", str(Path(reference_path).resolve()),
        "--state_path", paths["state_path"],
        "--runs_path", paths["runs_path"],
        "--full_refresh", "true" if full_refresh else "false",
    ]  # fmt: skip


def spark_session(
    spark_master: str = "local[2]",
    shuffle_partitions: int = 4,
    driver_memory: str = "4g",
    log_file: Path | None = None,
) -> Any:
    """A local session (or the running one: ``getOrCreate`` reuses e.g. the test session). With ``log_file``,
    Spark's own log goes there instead of the terminal."""
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
    return (
        builder.master(spark_master)
        .appName("bronze_to_silver_orders")
        .config("spark.driver.memory", driver_memory)
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.default.parallelism", str(shuffle_partitions))
        .config("spark.sql.adaptive.enabled", "true")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )


def run_silver(
    lake: Path,
    *,
    full_refresh: bool = False,
    spark_master: str = "local[2]",
    shuffle_partitions: int = 4,
    driver_memory: str = "4g",
) -> dict:
    """Run the silver job on ``lake`` (reference data: the repository's seeds/) and return its run metrics."""
    from glue_jobs.bronze_to_silver_orders import main

    log_file = Path(lake_paths(lake)["runs_path"]) / "spark.log"
    spark_session(spark_master, shuffle_partitions, driver_memory, log_file)
    return main(glue_argv(lake, full_refresh=full_refresh))
