"""Run the Glue job's ``main()`` on a local lake folder, with local Spark."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"


def glue_argv(lake: Path, *, full_refresh: bool = False, reference_path: Path = SEEDS) -> list[str]:
    """The Glue-style arguments for a local lake: the same names the CloudFormation job passes."""
    lake = Path(lake).resolve()
    return [
        "--JOB_NAME", "bronze_to_silver_orders_local",
        "--bronze_path", str(lake / "bronze" / "orders"),
        "--silver_path", str(lake / "silver"),
        "--reference_path", str(Path(reference_path).resolve()),
        "--state_path", str(lake / "_state" / "silver"),
        "--runs_path", str(lake / "_runs" / "silver"),
        "--full_refresh", "true" if full_refresh else "false",
    ]  # fmt: skip


def spark_session(
    spark_master: str = "local[2]", shuffle_partitions: int = 4, driver_memory: str = "4g"
) -> Any:
    """A local session (or the running one: ``getOrCreate`` reuses e.g. the test session)."""
    from lakehouse.java import ensure_java

    ensure_java()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master(spark_master)
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

    spark_session(spark_master, shuffle_partitions, driver_memory)
    return main(glue_argv(lake, full_refresh=full_refresh))
