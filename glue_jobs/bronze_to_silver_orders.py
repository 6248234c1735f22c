"""AWS Glue entry script: bronze order CSVs -> silver Parquet (``silver_orders`` + ``silver_orders_rejected``).

A thin shell: it parses the Glue-style arguments (``getResolvedOptions`` in Glue, the same ``--name value``
arguments through argparse elsewhere) and calls :func:`glue_jobs.runner.run`. Plain SparkSession, no DynamicFrame.

    --JOB_NAME        job name (Glue passes it; any string locally)
    --bronze_path     .../bronze/orders/
    --silver_path     .../silver/  (tables silver_orders/ and silver_orders_rejected/ below it)
    --reference_path  folder with countries.csv and products.csv
    --state_path      bookmark folder, e.g. <lake>/_state/silver/
    --runs_path       run metrics folder, e.g. <lake>/_runs/silver/
    --full_refresh    true/false (default false): rebuild silver from all of bronze
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

REQUIRED_ARGS = ("JOB_NAME", "bronze_path", "silver_path", "reference_path", "state_path", "runs_path")
OPTIONAL_ARGS = ("full_refresh",)
DEFAULTS = {"full_refresh": "false"}


def _bool(value: str) -> bool:
    lowered = str(value).strip().lower()
    if lowered in {"true", "1", "yes"}:
        return True
    if lowered in {"false", "0", "no", ""}:
        return False
    raise ValueError(f"--full_refresh must be true or false, not {value!r}")


def parse_args(argv: list[str]) -> dict[str, str]:
    """The job arguments as a dict, through Glue's ``getResolvedOptions`` when it is available."""
    try:
        from awsglue.utils import getResolvedOptions
    except ImportError:
        getResolvedOptions = None
    if getResolvedOptions is not None:
        present = [name for name in OPTIONAL_ARGS if f"--{name}" in argv]
        resolved = getResolvedOptions(argv, [*REQUIRED_ARGS, *present])
        return {**DEFAULTS, **resolved}
    parser = argparse.ArgumentParser(prog="bronze_to_silver_orders", allow_abbrev=False)
    for name in REQUIRED_ARGS:
        parser.add_argument(f"--{name}", required=True)
    for name in OPTIONAL_ARGS:
        parser.add_argument(f"--{name}", default=DEFAULTS[name])
    known, _ = parser.parse_known_args(argv)  # Glue adds its own arguments (--TempDir, ...): ignore them
    return vars(known)


def main(argv: list[str] | None = None) -> Any:
    """Run the job and return its run metrics (a ``glue_jobs.metrics.RunMetrics``)."""
    from pyspark.sql import SparkSession

    from glue_jobs.runner import JobArgs, run

    argv = list(sys.argv[1:] if argv is None else argv)
    options = parse_args(argv)
    args = JobArgs(
        job_name=options["JOB_NAME"],
        bronze_path=options["bronze_path"],
        silver_path=options["silver_path"],
        reference_path=options["reference_path"],
        state_path=options["state_path"],
        runs_path=options["runs_path"],
        full_refresh=_bool(options.get("full_refresh", "false")),
    )
    spark = SparkSession.builder.getOrCreate()
    job = None
    try:
        from awsglue.context import GlueContext
        from awsglue.job import Job
    except ImportError:
        pass
    else:
        job = Job(GlueContext(spark.sparkContext))
        job.init(args.job_name, options)
    metrics = run(spark, args)
    if job is not None:
        job.commit()
    return metrics


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    main()
