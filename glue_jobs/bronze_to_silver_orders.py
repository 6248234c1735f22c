"""AWS Glue entry script: bronze order CSVs -> silver Parquet (``silver_orders`` + ``silver_orders_rejected``).

A thin shell: it parses the Glue-style arguments and calls :func:`glue_jobs.runner.run` on a plain SparkSession
(no GlueContext, no DynamicFrame, no Glue job bookmark: the job keeps its own bookmark under ``--state_path``, so
the same code runs in Glue and on a laptop).

    --JOB_NAME        job name (Glue passes it; any string locally)
    --bronze_path     .../bronze/orders/
    --silver_path     .../silver/  (tables silver_orders/ and silver_orders_rejected/ below it)
    --reference_path  folder with countries.csv and products.csv
    --state_path      bookmark folder, e.g. <lake>/_state/silver/
    --runs_path       run metrics folder, e.g. <lake>/_runs/silver/
    --full_refresh    true/false (default false): rebuild silver from all of bronze (refused, silver untouched, if
                      silver holds rows of bronze files that are gone: glue_jobs.repair)
    --from_date       YYYY-MM-DD: a bounded repair: read again the bronze files of the ingest days from this one...
    --to_date         YYYY-MM-DD: ...to this one (both included; either alone leaves that side open)
    --earliest_order_date  YYYY-MM-DD (default 2020-01-01): an older order_date is quarantined (glue_jobs.bounds)
    --max_skew_hours  hours (default 24) an order_date may pass its file's landing time, and a landing time the
                      run's clock, before the row is quarantined as out of range
    --correction_horizon_days  days (default 90, gold's default; the stack passes CorrectionHorizonDays): a run
                      looks each order up in the order index only this far from its new order_date
                      (glue_jobs.horizon)
    --sweep           true/false (default false): read no bronze; find every order in more than one silver
                      partition (moved further than the horizon), keep its latest version, report each

Glue adds arguments of its own (``--JOB_ID``, ``--JOB_RUN_ID``, ``--job-bookmark-option``, ``--TempDir``, ...), in
no fixed order: they are ignored. A missing or bad argument stops the job before Spark starts, with one line on
stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from typing import TYPE_CHECKING, Any, NoReturn

from glue_jobs.repair import Window

if TYPE_CHECKING:
    from glue_jobs.runner import JobArgs

PROG = "bronze_to_silver_orders"
REQUIRED_ARGS = ("JOB_NAME", "bronze_path", "silver_path", "reference_path", "state_path", "runs_path")
OPTIONAL_ARGS = (
    "full_refresh",
    "from_date",
    "to_date",
    "earliest_order_date",
    "max_skew_hours",
    "correction_horizon_days",
    "sweep",
)
DEFAULTS = {
    "full_refresh": "false",
    "correction_horizon_days": "",
    "sweep": "false",
    "from_date": "",
    "to_date": "",
    "earliest_order_date": "",
    "max_skew_hours": "",
}


def _bool(value: str, name: str = "full_refresh") -> bool:
    lowered = str(value).strip().lower()
    if lowered in {"true", "1", "yes"}:
        return True
    if lowered in {"false", "0", "no", ""}:
        return False
    raise ValueError(f"--{name} must be true or false, not {value!r}")


def _day(name: str, value: str) -> dt.date | None:
    if not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"--{name} must be a date, YYYY-MM-DD, not {value!r}") from None


def _window(options: dict[str, str], full_refresh: bool) -> Window | None:
    """The repair window of ``--from_date/--to_date`` (None without them)."""
    first, last = _day("from_date", options.get("from_date", "")), _day("to_date", options.get("to_date", ""))
    if first is None and last is None:
        return None
    if full_refresh:
        raise ValueError(
            "--full_refresh rebuilds every day and --from_date/--to_date repair some: give one or the other"
        )
    return Window(first, last)


def _usage_error(message: str) -> NoReturn:
    """One line on stderr and exit code 2, like argparse but without the usage block (and not a traceback)."""
    print(f"{PROG}: error: {message}", file=sys.stderr)
    raise SystemExit(2)


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        _usage_error(message)


def _given(argv: list[str], name: str) -> bool:
    return any(arg == f"--{name}" or arg.startswith(f"--{name}=") for arg in argv)


def parse_args(argv: list[str]) -> dict[str, str]:
    """The job arguments (``argv`` without the script path, as in ``sys.argv[1:]``) as a dict.

    Through AWS's ``awsglue.utils.getResolvedOptions`` where awsglue is importable (in Glue, and locally with the
    dev requirements), through argparse otherwise. AWS's function expects the whole ``sys.argv`` and drops its first
    element itself, so the script path is put back in front: given ``argv`` alone, it would drop a job argument.
    """
    try:
        from awsglue.utils import GlueArgumentError, getResolvedOptions
    except ImportError:
        parser = _OneLineParser(prog=PROG, allow_abbrev=False)
        for name in REQUIRED_ARGS:
            parser.add_argument(f"--{name}", required=True)
        for name in OPTIONAL_ARGS:
            parser.add_argument(f"--{name}", default=DEFAULTS[name])
        # Glue's own arguments are left over: ignored
        known, _ = parser.parse_known_args(argv)
        return vars(known)
    # getResolvedOptions makes every name it is given required: ask for an optional one only when it is there.
    names = [*REQUIRED_ARGS, *(name for name in OPTIONAL_ARGS if _given(argv, name))]
    try:
        resolved = getResolvedOptions([PROG, *argv], names)
    except GlueArgumentError as error:
        _usage_error(str(error))
    return {**DEFAULTS, **resolved}


def job_args(argv: list[str]) -> JobArgs:
    """The parsed arguments as the runner's ``JobArgs``."""
    from glue_jobs import horizon
    from glue_jobs.bounds import parse
    from glue_jobs.runner import JobArgs

    options = parse_args(argv)
    try:
        full_refresh = _bool(options.get("full_refresh", "false"))
        window = _window(options, full_refresh)
        bounds = parse(options.get("earliest_order_date"), options.get("max_skew_hours"))
        days = horizon.parse(options.get("correction_horizon_days"))
        sweep = _bool(options.get("sweep", "false"), "sweep")
        if sweep and (full_refresh or window is not None):
            raise ValueError(
                "--sweep reads no bronze: give it without --full_refresh or --from_date/--to_date"
            )
    except ValueError as error:
        _usage_error(str(error))
    return JobArgs(
        job_name=options["JOB_NAME"],
        bronze_path=options["bronze_path"],
        silver_path=options["silver_path"],
        reference_path=options["reference_path"],
        state_path=options["state_path"],
        runs_path=options["runs_path"],
        full_refresh=full_refresh,
        repair=window,
        bounds=bounds,
        correction_horizon_days=days,
        sweep=sweep,
    )


def main(argv: list[str] | None = None) -> Any:
    """Run the job on ``argv`` (default ``sys.argv[1:]``) and return its run metrics (``glue_jobs.metrics.RunMetrics``)."""
    args = job_args(list(sys.argv[1:] if argv is None else argv))
    from pyspark.sql import SparkSession

    from glue_jobs.runner import run

    return run(SparkSession.builder.getOrCreate(), args)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    main()
