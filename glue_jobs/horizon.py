"""The correction horizon of silver: how far from an order's new order_date a run looks for the version it
replaces. The same setting as gold's (``correction_horizon_days``, docs/decisions/0005-correction-horizon.md):
the Glue job's ``--correction_horizon_days`` (the stack passes its ``CorrectionHorizonDays``, as it passes
``DBT_CORRECTION_HORIZON_DAYS`` to dbt), locally ``$DBT_CORRECTION_HORIZON_DAYS``, by default the value of
dbt_project.yml's var. A correction that moves an order further than the horizon is found by the sweep
(docs/decisions/0008-silver-reads.md)."""

from __future__ import annotations

import re
from typing import Any

from glue_jobs import order_index

# dbt_project.yml's correction_horizon_days (tests/silver/test_horizon.py holds the two equal)
DEFAULT_DAYS = 90
MAX_DAYS = 3650
ENV = "DBT_CORRECTION_HORIZON_DAYS"


def parse(value: str | None, name: str = "--correction_horizon_days") -> int:
    """The horizon in days of setting ``name`` (empty: the default); ValueError, naming the fix, when it is not
    a whole number of days from 0 to 3650 (gold's rule)."""
    text = (value or "").strip()
    if not text:
        return DEFAULT_DAYS
    if not re.fullmatch(r"[0-9]{1,4}", text) or int(text) > MAX_DAYS:
        raise ValueError(
            f"{name} is {text!r}, not a whole number of days from 0 to {MAX_DAYS} (the correction horizon): "
            "set it to one"
        )
    return int(text)


def lookup_report(index: order_index.Index, bound: order_index.Bound) -> dict[str, Any]:
    """How a run bounded its lookups, for its run file: the horizon, the ids and the days they were looked up
    on, the index's parts (days) and files read of all it holds."""
    days = sorted(order_index.window_days(index.files, bound))
    return {
        "horizon_days": bound.horizon_days,
        "ids": len(bound.ids),
        "days_read": len(days),
        "first_day_read": days[0] if days else "",
        "last_day_read": days[-1] if days else "",
        "files_read": len(index.files_read),
        "days_in_index": len({f.day for f in index.files}),
        "files_in_index": len(index.files),
    }
