"""What gold reads when it absorbs a correction moved beyond the correction horizon, beside an ordinary day.

On a synthetic history (`days` days of 5,000 orders, tests/gold/test_correction_horizon.py's), with a 7-day
horizon: a full refresh; the hour that brings a new day and `moved` orders of day 5 moved to it (silver keeps both
rows); silver's sweep; the next day's `lakehouse gold` (its build fails the reconciliation, then the absorbing
build); and an ordinary day after it. Bytes as bench/gold_bytes.py counts them (DuckDB's profile of every query dbt
sends). Untimed; the figures are in docs/decisions/0005-correction-horizon.md.

    python -m bench.far_move_bytes --days 30 --moved 10 --work /tmp/far-moves
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import duckdb

from bench.gold_bytes import bytes_read, profiled_queries
from bench.synthetic_silver import FIRST_DAY, PER_DAY, add_silver_file, sweep, write_history
from bench.synthetic_silver import add_day as add_orders


def profiled(lake: Path, step: Callable[[], Any]) -> int:
    """The bytes every query of `step` read."""
    with (
        tempfile.TemporaryDirectory(prefix="far-moves-") as folder,
        profiled_queries(Path(folder)) as profiles,
    ):
        step()
    return round(sum(bytes_read(profiles, lake / "warehouse.duckdb")["by_node"].values()))


def measure(days: int, moved: int, work: Path) -> dict[str, int]:
    from lakehouse import gold_build
    from lakehouse.dbt import run_dbt

    def add_day(day_number: int) -> None:
        add_orders(lake, day_number, f"D{day_number}-", f"day-{day_number}.parquet")

    shutil.rmtree(work, ignore_errors=True)
    lake = work / "lake"
    write_history(lake, days)
    run_dbt(["build"], lake)
    figures = {"orders": days * PER_DAY, "moved": moved}
    figures["full_refresh"] = profiled(lake, lambda: run_dbt(["build", "--full-refresh"], lake))
    add_day(days)
    new_day = FIRST_DAY + dt.timedelta(days=days)
    old_day = FIRST_DAY + dt.timedelta(days=5)
    with duckdb.connect() as con:
        rows = con.execute(
            "select order_id, customer_id, country, product, quantity, cast(unit_price as varchar) from "
            f"read_parquet('{lake}/silver/silver_orders/order_date={old_day}/*.parquet') order by order_id "
            f"limit {moved}"
        ).fetchall()
    landed = f"{new_day + dt.timedelta(days=1)} 07:00:00"
    add_silver_file(lake, [(r[0], new_day.isoformat(), *r[1:], landed) for r in rows], "moves.parquet")
    figures["hour_with_the_moves"] = profiled(lake, lambda: gold_build.build(lake, ["build"]))
    sweep(lake)
    add_day(days + 1)
    figures["day_after_the_sweep"] = profiled(lake, lambda: gold_build.build(lake, ["build"]))
    add_day(days + 2)
    figures["ordinary_day"] = profiled(lake, lambda: gold_build.build(lake, ["build"]))
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.far_move_bytes", description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--moved", type=int, default=10)
    parser.add_argument("--work", type=Path, required=True)
    args = parser.parse_args(argv)
    os.environ["DBT_CORRECTION_HORIZON_DAYS"] = "7"
    # one thread: row groups hold runs of days, as in a lake built a day at a time (bench/gold_bytes.py's tests)
    os.environ["DUCKDB_THREADS"] = "1"
    figures = measure(args.days, args.moved, args.work.resolve())
    sys.stdout.write(json.dumps({"days": args.days, **figures}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
