"""The order dates a run may write: not before the earliest order date, not after the landing day plus a skew.

One rule for the ingestion CLI (``lakehouse ingest``, bounds from ``configs/<env>.yaml``, section
``order_dates``) and the Lambda (bounds from its environment, `ingestion.events`). Pure: the clock is a parameter."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# silver_orders' partition projection on Athena starts here (infra/lakehouse.yaml: 2020-01-01,NOW+1DAYS): a row
# dated earlier would be invisible on Athena while DuckDB reads it.
EARLIEST_ORDER_DATE = dt.date(2020, 1, 1)
# An order may carry the next calendar day of its landing (a shop in UTC+14, a clock a little ahead); more would
# be a future-dated order, which defeats the marts' lookback (and the projection's NOW+1DAYS).
MAX_DAYS_AFTER_LANDING = 1
MAX_SKEW_DAYS = 31


@dataclass(frozen=True)
class OrderDateBounds:
    """``earliest``: the first valid order date; ``max_days_after_landing``: how many days after the (UTC) landing
    day an order date may be."""

    earliest: dt.date = EARLIEST_ORDER_DATE
    max_days_after_landing: int = MAX_DAYS_AFTER_LANDING

    def latest(self, landed_at: dt.datetime) -> dt.date:
        """The last valid order date of a file landed at ``landed_at`` (a naive time is UTC)."""
        utc = landed_at.astimezone(dt.UTC) if landed_at.tzinfo else landed_at
        return utc.date() + dt.timedelta(days=self.max_days_after_landing)

    def orders_problem(self, first: dt.date, last: dt.date, landed_at: dt.datetime) -> str | None:
        """Why orders from ``first`` to ``last`` landed at ``landed_at`` are out of bounds; None when they are not."""
        latest = self.latest(landed_at)
        if first >= self.earliest and last <= latest:
            return None
        return (
            f"orders from {first} to {last} are outside the valid order dates, {self.earliest} to {latest}: from "
            f"the earliest order date (where silver_orders' partition projection on Athena starts) to the landing "
            f"day UTC + {self.max_days_after_landing} day"
        )

    def landing_problem(self, landed_at: dt.datetime, now: dt.datetime) -> str | None:
        """What a landing time must be, when it is later than now plus the skew or before the earliest order date;
        None when it is fine (a naive time is UTC)."""
        utc = landed_at.astimezone(dt.UTC) if landed_at.tzinfo else landed_at.replace(tzinfo=dt.UTC)
        latest = now.astimezone(dt.UTC) + dt.timedelta(days=self.max_days_after_landing)
        if utc > latest:
            return (
                f"the time its files landed: at most {self.max_days_after_landing} day after now "
                f"({latest:%Y-%m-%dT%H:%M:%SZ}): pass a time in the past"
            )
        if utc.date() < self.earliest:
            return f"the time its files landed: on or after the earliest order date {self.earliest}: pass a later time"
        return None
