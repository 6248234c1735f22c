"""The dates an order may carry, declared once: silver quarantines a row outside them, and the ingestion (the
``lakehouse ingest`` CLI and the Lambda) refuses to write one. Both read :data:`DEFAULT` or a
:class:`DateBounds` built by :func:`parse` from the same two settings, so they can never disagree.

- ``earliest_order_date``: no order is older (the shop did not exist before); a date before it is a typo
  (``1025-01-02``), and Parquet could not even store some of them without a calendar rebase.
- ``max_skew_hours``: how far a producer's clock may run ahead. An order_date after its file's landing time plus
  this skew, or a landing time (``ingested_at``) after the run's clock plus this skew, is out of range."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

EARLIEST_ORDER_DATE = dt.date(2020, 1, 1)
MAX_SKEW_HOURS = 24


class BoundsError(ValueError):
    """A date bound setting that is not valid: the message names the setting and the fix."""


@dataclass(frozen=True)
class DateBounds:
    earliest_order_date: dt.date = EARLIEST_ORDER_DATE
    max_skew_hours: int = MAX_SKEW_HOURS

    @property
    def skew(self) -> dt.timedelta:
        return dt.timedelta(hours=self.max_skew_hours)

    def latest_ingested_at(self, now: dt.datetime) -> dt.datetime:
        """The latest landing time a file may carry when the clock reads ``now`` (naive UTC)."""
        return now + self.skew

    def order_date_problem(self, order_date: dt.date, ingested_at: dt.datetime) -> str | None:
        """Why ``order_date`` is out of range for a file landed at ``ingested_at``; None when it is in range."""
        if order_date < self.earliest_order_date:
            return f"order_date {order_date} is before the earliest order date {self.earliest_order_date}"
        latest = (ingested_at + self.skew).date()
        if order_date > latest:
            return f"order_date {order_date} is after its landing time {ingested_at} plus {self.max_skew_hours} h"
        return None


DEFAULT = DateBounds()


def parse(earliest_order_date: str | None = None, max_skew_hours: str | int | None = None) -> DateBounds:
    """Bounds from settings as text (job arguments, config values); BoundsError names a bad one."""
    earliest = EARLIEST_ORDER_DATE
    if earliest_order_date not in (None, ""):
        try:
            earliest = dt.date.fromisoformat(str(earliest_order_date).strip())
        except ValueError:
            raise BoundsError(
                f"earliest_order_date must be a date YYYY-MM-DD, not {earliest_order_date!r}"
            ) from None
    skew = MAX_SKEW_HOURS
    if max_skew_hours not in (None, ""):
        try:
            skew = int(str(max_skew_hours).strip())
        except ValueError:
            skew = -1
        if not 0 <= skew <= 24 * 31:
            raise BoundsError(
                f"max_skew_hours must be a whole number of hours from 0 to 744, not {max_skew_hours!r}"
            )
    return DateBounds(earliest, skew)
