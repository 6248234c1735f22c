"""`lakehouse`: run the pipeline on a laptop with exactly the code that runs in AWS.

lakehouse ingest   the Lambda handler's code writes bronze CSVs
lakehouse silver   the Glue job's code turns bronze into silver Parquet
lakehouse gold     dbt build on the local DuckDB target
lakehouse run      all three, then a summary
lakehouse summary  what the lake holds now
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from lakehouse import pipeline, summaries
from lakehouse.config import Config, ConfigError, IngestConfig, check_ingest_dates, load_config

log = logging.getLogger("lakehouse")


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line on stderr (what is wrong and where to look), not a usage dump."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date; use YYYY-MM-DD") from None


def _timestamp(value: str) -> dt.datetime:
    """An ISO date or date-time; without a zone it is UTC."""
    try:
        stamp = dt.datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a date-time; use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS (UTC)"
        ) from None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


def _lake_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lake", type=Path, help="local lake folder (default: ./lake, or `lake` in the config)"
    )


def _ingest_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("ingestion")
    group.add_argument(
        "--rows", type=int, help="orders to generate (default from configs/<env>.yaml: 200000)"
    )
    group.add_argument("--days", type=int, help="days of orders, ending the day before --start-date + days")
    group.add_argument("--start-date", type=_date, help="first order date, YYYY-MM-DD")
    group.add_argument("--seed", type=int, help="random seed: the same seed gives byte-identical files")
    group.add_argument("--defect-rate", type=float, help="share of bad rows to inject, 0..1 (default 0)")
    group.add_argument("--rows-per-file", type=int, help="rows per bronze CSV file (bounded memory)")
    group.add_argument(
        "--ingested-at",
        type=_timestamp,
        help="stamp the files as landed at this UTC time (file name, ingest_date folder) to backfill history;"
        " default now",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="lakehouse", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--env", help="configuration to load: configs/<env>.yaml (default: $LAKEHOUSE_ENV or local)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and the summary")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    ingest = sub.add_parser("ingest", help="generate orders into bronze (the Lambda's code)")
    _lake_arg(ingest)
    _ingest_args(ingest)

    silver = sub.add_parser(
        "silver", help="bronze CSV -> silver Parquet (the Glue job's code on local Spark)"
    )
    _lake_arg(silver)
    how = silver.add_mutually_exclusive_group()
    how.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild silver from all of bronze (refused, silver untouched, if bronze files it holds rows of are gone)",
    )
    how.add_argument(
        "--from-date",
        type=_date,
        help="repair: read the bronze files of the ingest days from this one (YYYY-MM-DD) again, whatever the"
        " bookmark says",
    )
    how.add_argument(
        "--sweep",
        action="store_true",
        help="read no bronze: find every order silver holds on two order dates (a correction that moved it further"
        " than the correction horizon, $DBT_CORRECTION_HORIZON_DAYS) and keep its latest version",
    )
    silver.add_argument("--to-date", type=_date, help="repair: ... up to this ingest day (included)")

    gold = sub.add_parser("gold", help="dbt build on the local DuckDB target")
    _lake_arg(gold)
    gold.add_argument("--full-refresh", action="store_true", help="rebuild incremental marts from scratch")
    gold.add_argument("--select", "-s", help="dbt node selection, e.g. gold_orders+")

    run = sub.add_parser("run", help="ingest, silver and gold, then print a summary")
    _lake_arg(run)
    _ingest_args(run)
    run.add_argument("--full-refresh", action="store_true", help="rebuild silver and gold from scratch")
    run.add_argument(
        "--verbose",
        action="store_true",
        help="show every stage's log and dbt's output (default: the summaries)",
    )

    summary = sub.add_parser("summary", help="print rows per layer and the top gold rows")
    _lake_arg(summary)
    return parser


def _repair_window(args: argparse.Namespace) -> tuple[dt.date | None, dt.date | None] | None:
    """``lakehouse silver --from-date/--to-date``: the ingest days to read again (None: not a repair)."""
    first, last = getattr(args, "from_date", None), getattr(args, "to_date", None)
    if first is None and last is None:
        return None
    if args.full_refresh:
        raise ConfigError(
            "--full-refresh rebuilds every day and --to-date repairs some: give one or the other"
        )
    if getattr(args, "sweep", False):
        raise ConfigError("--sweep reads no bronze and --to-date repairs some: give one or the other")
    if first and last and first > last:
        raise ConfigError(f"--from-date {first} is after --to-date {last}: the repair window would be empty")
    return first, last


def _check_horizon() -> None:
    """Silver's correction horizon is gold's ($DBT_CORRECTION_HORIZON_DAYS): a bad value stops before Spark."""
    from glue_jobs import horizon

    try:
        horizon.parse(os.environ.get(horizon.ENV), horizon.ENV)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _resolve(args: argparse.Namespace) -> tuple[Config, IngestConfig]:
    """Configuration file + environment, then command-line flags on top; validated as a whole."""
    config = load_config(args.env)
    if args.lake is not None:
        config = dataclasses.replace(config, lake=args.lake)
    overrides: dict[str, Any] = {
        field: getattr(args, field)
        for field in ("rows", "days", "start_date", "seed", "defect_rate", "rows_per_file")
        if getattr(args, field, None) is not None
    }
    return config, dataclasses.replace(config.ingest, **overrides)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # `lakehouse run` prints the stage summaries only, unless --verbose; the full logs are in files either way
    # (lake/_runs/silver/, logs/dbt.log).
    brief = args.quiet or (args.command == "run" and not args.verbose)
    logging.basicConfig(
        level=logging.WARNING if brief else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    # py4j logs every closed connection to the JVM at INFO ("Closing down clientserver connection").
    logging.getLogger("py4j").setLevel(logging.WARNING)
    if brief:
        os.environ.setdefault("DBT_QUIET", "true")
    try:
        config, ingest = _resolve(args)
        lake = config.lake.resolve()
        if args.command in ("ingest", "run"):
            check_ingest_dates(ingest, config.order_dates, args.ingested_at, dt.datetime.now(dt.UTC))
            landed = pipeline.ingest(lake, ingest, progress=not brief, ingested_at=args.ingested_at)
            if args.command == "run" and brief:
                print(summaries.ingest_report(landed))
        if args.command in ("silver", "run"):
            _check_horizon()
            metrics = pipeline.silver(
                lake,
                config.spark,
                full_refresh=args.full_refresh,
                release_jvm=args.command == "run",
                repair=_repair_window(args),
                order_dates=config.order_dates,
                sweep=getattr(args, "sweep", False),
            )
            if not brief or args.command == "run":
                print(summaries.silver_report(metrics))
        if args.command in ("gold", "run"):
            pipeline.gold(lake, full_refresh=args.full_refresh, select=getattr(args, "select", None))
        if args.command in ("run", "summary"):
            print(summaries.summary(lake))
    except (ConfigError, pipeline.StageError) as exc:
        print(f"lakehouse {args.command}: error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ConfigError) else 1
    except KeyboardInterrupt:
        print(f"lakehouse {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
