"""Run the Glue job's ``main()`` on a local lake folder, with local Spark."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from glue_jobs import horizon
from glue_jobs.bounds import DateBounds
from glue_jobs.metrics import RunMetrics
from glue_jobs.session import local_session
from glue_jobs.table import SilverTable

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"


def lake_paths(lake: Path) -> dict[str, str]:
    """Where the job keeps each part of a local lake (the same layout as the S3 bucket)."""
    lake = Path(lake).resolve()
    return {
        "bronze_path": str(lake / "bronze" / "orders"),
        "silver_path": str(lake / "silver"),
        "state_path": str(lake / "_state" / "silver"),
        "runs_path": str(lake / "_runs" / "silver"),
    }


def silver_table(lake: Path) -> SilverTable:
    """The silver table of a local lake: its lease, its recovery and its commits."""
    paths = lake_paths(lake)
    return SilverTable.at(paths["silver_path"], paths["state_path"], paths["runs_path"])


def glue_argv(
    lake: Path,
    *,
    full_refresh: bool = False,
    reference_path: Path = SEEDS,
    repair: tuple[dt.date | None, dt.date | None] | None = None,
    bounds: DateBounds | None = None,
    sweep: bool = False,
) -> list[str]:
    """The Glue-style arguments for a local lake: the same names the CloudFormation job passes (and, for a
    repair, the ingest days a run is given with ``start-job-run --arguments``). The correction horizon is
    gold's: ``$DBT_CORRECTION_HORIZON_DAYS`` when set (glue_jobs.horizon)."""
    paths = lake_paths(lake)
    days = os.environ.get(horizon.ENV, "").strip()
    dates = (
        [
            "--earliest_order_date",
            bounds.earliest_order_date.isoformat(),
            "--max_skew_hours",
            str(bounds.max_skew_hours),
        ]
        if bounds
        else []
    )
    first, last = repair or (None, None)
    window = [
        *(["--from_date", first.isoformat()] if first else []),
        *(["--to_date", last.isoformat()] if last else []),
    ]
    return [
        "--JOB_NAME", "bronze_to_silver_orders_local",
        "--bronze_path", paths["bronze_path"],
        "--silver_path", paths["silver_path"],
        "--reference_path", str(Path(reference_path).resolve()),
        "--state_path", paths["state_path"],
        "--runs_path", paths["runs_path"],
        "--full_refresh", "true" if full_refresh else "false",
        *window,
        *dates,
        *(["--correction_horizon_days", days] if days else []),
        *(["--sweep", "true"] if sweep else []),
    ]  # fmt: skip


def run_silver(
    lake: Path,
    *,
    full_refresh: bool = False,
    repair: tuple[dt.date | None, dt.date | None] | None = None,
    bounds: DateBounds | None = None,
    sweep: bool = False,
    spark_master: str = "local[2]",
    shuffle_partitions: int = 16,
    driver_memory: str = "2g",
    local_dir: Path | None = None,
) -> RunMetrics:
    """Run the silver job on ``lake`` (reference data: the repository's seeds/) and return its run metrics.
    Spark's own log goes to ``<lake>/_runs/silver/spark.log``; it spills to ``local_dir`` (default
    ``<lake>/_tmp/spark``)."""
    from glue_jobs.bronze_to_silver_orders import main

    log_file = Path(lake_paths(lake)["runs_path"]) / "spark.log"
    spill = Path(local_dir) if local_dir is not None else Path(lake) / "_tmp" / "spark"
    local_session(spark_master, shuffle_partitions, driver_memory, log_file=log_file, local_dir=spill)
    return main(glue_argv(lake, full_refresh=full_refresh, repair=repair, bounds=bounds, sweep=sweep))
