"""`lakehouse gold`'s dbt build, with what a failure means said in one line: a warehouse that is damaged or
locked, or silver orders that landed before gold's lookback window, which an incremental build does not read.
The last two, and rows silver's sweep removed after a correction moved their order beyond the correction horizon
(lakehouse/moved_orders.py), it first absorbs by building once more."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import yaml

from lakehouse.dbt import REPO, DbtError, cause, run_dbt
from lakehouse.moved_orders import RECONCILIATION, absorbing, moved_away, moved_line, retry
from lakehouse.warehouse import DAMAGED, LOCKED, WarehouseError, check_readable, open_problem

log = logging.getLogger(__name__)

SILVER_ORDERS = "silver/silver_orders/order_date=*/*.parquet"
SHOWN_FILES = 3


class LateOrders(DbtError):
    """Silver holds orders older than gold's lookback window that gold does not: only a full refresh takes them."""


@dataclass(frozen=True)
class LateFile:
    source_file: str
    ingested_at: str
    rows: int


def lookback_days(project: Path = REPO / "dbt_project.yml") -> int:
    """var('lookback_days') as dbt_project.yml sets it: how far before its newest order an incremental build reads."""
    return int(yaml.safe_load(project.read_text(encoding="utf-8"))["vars"]["lookback_days"])


def late_files(lake: Path, lookback: int) -> tuple[str, list[LateFile]]:
    """(window start, the silver files with orders fct_orders lacks that were ingested at or before it): orders
    that landed after gold's build had moved past their landing time, so no incremental merge reads them."""
    glob = "".join(f"[{c}]" if c in "[]*?{}" else c for c in str(lake)) + "/" + SILVER_ORDERS
    with duckdb.connect(str(lake / "warehouse.duckdb"), read_only=True) as con:
        start = con.execute(
            "select cast(max(ingested_at) - to_days(cast(? as integer)) as varchar) from gold.fct_orders",
            [lookback],
        ).fetchone()[0]
        rows = con.execute(
            "select source_file, cast(max(ingested_at) as varchar), count(*) "
            "from read_parquet(?, hive_partitioning = true) as silver "
            "anti join gold.fct_orders as gold using (order_id, ingested_at) "
            "where silver.ingested_at <= cast(? as timestamp) "
            "group by source_file order by min(silver.ingested_at), source_file",
            [glob, start],
        ).fetchall()
    return start, [LateFile(*row) for row in rows]


def late_message(start: str, lookback: int, files: list[LateFile]) -> str:
    shown = ", ".join(
        f"{f.source_file} ({f.rows:,} orders, landed {f.ingested_at})" for f in files[:SHOWN_FILES]
    )
    more = f" and {len(files) - SHOWN_FILES} more" if len(files) > SHOWN_FILES else ""
    return (
        f"gold does not reconcile with silver: {len(files)} file(s) landed before gold's lookback window (ingested "
        f"at or before {start}: the newest landing in gold minus lookback_days, {lookback}), which an incremental "
        f"build does not read: {shown}{more}; rebuild gold with `lakehouse gold --full-refresh`"
    )


def lookback_covering(start: str, lookback: int, files: list[LateFile]) -> int:
    """A lookback (whole days) whose window, from the same newest landing, starts a day before the oldest late file."""
    newest = dt.datetime.fromisoformat(start) + dt.timedelta(days=lookback)
    oldest = min(dt.datetime.fromisoformat(f.ingested_at) for f in files)
    return (newest - oldest).days + 2


def _damaged(lake: Path, error: DbtError) -> DbtError | None:
    """The one line for a build that failed on the warehouse itself: a block damaged past its catalog, or a lock
    another process took (a reader: the check before the build opens read-only, which readers allow)."""
    warehouse = lake / "warehouse.duckdb"
    text = str(error)
    words = (*DAMAGED, *LOCKED)
    if "Corrupt database file" in text or (str(warehouse) in text and any(word in text for word in words)):
        return DbtError(open_problem(warehouse, error, "run `lakehouse gold` again"))
    return None


def _late(lake: Path, error: DbtError) -> tuple[str, int, list[LateFile]] | None:
    """When the reconciliation failed: the late files behind it (window start, lookback, files), or None."""
    if RECONCILIATION not in str(error):
        return None
    try:
        lookback = lookback_days()
        start, files = late_files(lake, lookback)
    except (duckdb.Error, OSError, KeyError, TypeError, ValueError) as why:
        # no better answer: dbt's stands
        log.warning("gold: could not look for late silver files: %s", cause(str(why)))
        return None
    return (start, lookback, files) if files else None


def build(lake: Path, args: list[str]) -> Any:
    """`dbt build` on the local warehouse, after checking it can be opened. When the reconciliation fails because
    silver holds orders that landed before the lookback window, the build runs again with a lookback reaching
    them (the window follows silver); when it fails because gold holds rows silver's sweep removed (corrections
    moved their orders beyond the correction horizon), again absorbing them (var absorb_moved_orders: the rows
    deleted, their keys recomputed). Each once; it fails naming them and the fix only if that does not do."""
    try:
        check_readable(lake / "warehouse.duckdb", "run `lakehouse gold` again")
    except WarehouseError as error:
        raise DbtError(str(error)) from None
    attempt, retried = args, set()
    while True:
        try:
            return run_dbt(attempt, lake)
        except DbtError as error:
            # moved rows first: the reconciliation names them only when they are the whole difference, and the
            # search for late files reads every key of silver and fct_orders
            if "--full-refresh" not in args and moved_away(error, attempt):
                log.warning("gold: %s: building again, absorbing them", moved_line(error))
                attempt = absorbing(attempt)
                continue
            late = None if "--full-refresh" in args else _late(lake, error)
            if late is not None and "late" in retried:
                raise LateOrders(late_message(*late)) from None
            if late is not None:
                start, lookback, files = late
                wider = lookback_covering(start, lookback, files)
                log.warning(
                    "gold: %d silver file(s) landed before the lookback window (at or before %s), oldest %s: "
                    "building again with a lookback of %d days to take them",
                    len(files),
                    start,
                    min(f.ingested_at for f in files),
                    wider,
                )
                retried.add("late")
                attempt = retry(attempt, {"lookback_days": wider})
            else:
                raise _damaged(lake, error) or error from None
