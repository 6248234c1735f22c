"""The Lambda event contract: validate an event (plus environment defaults) into a `RunPlan`, or say which field
is wrong. Pure: the clock and the environment are parameters."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Mapping
from typing import Any

from ingestion.dates import EARLIEST_ORDER_DATE, MAX_DAYS_AFTER_LANDING, OrderDateBounds
from ingestion.plan import MAX_DAYS, MAX_SEED, RunPlan

MAX_EVENT_ROWS = 1_000_000
EVENT_FIELDS = frozenset({"rows", "date", "start_date", "days", "seed", "defect_rate"})
# An EventBridge scheduled event without a constant input: its envelope is accepted and ignored.
EVENTBRIDGE_ENVELOPE = frozenset(
    {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
)
ENV_ROWS, ENV_DAYS, ENV_SEED, ENV_DEFECT_RATE = (
    "INGEST_ROWS",
    "INGEST_DAYS",
    "INGEST_SEED",
    "INGEST_DEFECT_RATE",
)
DEFAULT_ROWS = 10_000
# The valid order dates (ingestion/dates.py), by default the dates Athena can see: silver_orders' partition
# projection in infra/lakehouse.yaml, projection.order_date.range = 2020-01-01,NOW+1DAYS (NOW is UTC).
ENV_EARLIEST_ORDER_DATE, ENV_MAX_DAYS_AFTER_LANDING = (
    "INGEST_EARLIEST_ORDER_DATE",
    "INGEST_MAX_DAYS_AFTER_LANDING",
)


class EventError(ValueError):
    """The event (or an environment default) is malformed or out of bounds; ``field`` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def _integer(field: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise EventError(field, f"{value!r} is not an integer")
    if not low <= value <= high:
        raise EventError(field, f"{value!r} is out of bounds; it must be between {low:,} and {high:,}")
    return value


def _rate(field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EventError(field, f"{value!r} is not a number")
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise EventError(field, f"{value!r} is out of bounds; it must be between 0 and 1")
    return float(value)


def _date(field: str, value: Any) -> dt.date:
    if not isinstance(value, str) or len(value) != 10:
        raise EventError(field, f"{value!r} is not a date written YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise EventError(field, f"{value!r} is not a date written YYYY-MM-DD") from None


def _from_env(environ: Mapping[str, str], name: str, parse: type) -> Any:
    """An environment default, parsed to ``parse``; None when unset or empty."""
    text = environ.get(name, "").strip()
    if not text:
        return None
    try:
        return parse(text)
    except ValueError:
        raise EventError(name, f"{text!r} is not a valid {parse.__name__}") from None


def order_date_bounds(environ: Mapping[str, str]) -> OrderDateBounds:
    """The valid order dates: ``INGEST_EARLIEST_ORDER_DATE`` (default 2020-01-01) and
    ``INGEST_MAX_DAYS_AFTER_LANDING`` (default 1), validated like an event's fields."""
    earliest = environ.get(ENV_EARLIEST_ORDER_DATE, "").strip()
    skew = _from_env(environ, ENV_MAX_DAYS_AFTER_LANDING, int)
    return OrderDateBounds(
        _date(ENV_EARLIEST_ORDER_DATE, earliest) if earliest else EARLIEST_ORDER_DATE,
        MAX_DAYS_AFTER_LANDING if skew is None else _integer(ENV_MAX_DAYS_AFTER_LANDING, skew, 0, 31),
    )


def _within_bounds(field: str, start: dt.date, days: int, environ: Mapping[str, str], today: dt.date) -> None:
    last = start + dt.timedelta(days=days - 1)
    landed = dt.datetime.combine(today, dt.time(), tzinfo=dt.UTC)
    problem = order_date_bounds(environ).orders_problem(start, last, landed)
    if problem:
        raise EventError(field, problem)


def parse_event(event: Any, *, environ: Mapping[str, str], today: dt.date) -> RunPlan:
    """The run an invocation asks for. Fields (all optional):

    - ``rows``: 1..1,000,000 (default env ``INGEST_ROWS``, else 10,000);
    - ``date`` (one day) or ``start_date`` + ``days`` (1..3660; default env ``INGEST_DAYS``, else 1); neither:
      the invocation day (UTC). Every order date must be between 2020-01-01 and the invocation day + 1 (UTC),
      the range the silver table's partition projection shows on Athena (`order_date_bounds`: env
      ``INGEST_EARLIEST_ORDER_DATE`` and ``INGEST_MAX_DAYS_AFTER_LANDING`` change them);
    - ``seed``: 0..2**63-1 (default env ``INGEST_SEED``; unset: a fresh random seed, recorded in the manifest);
    - ``defect_rate``: 0..1 (default env ``INGEST_DEFECT_RATE``, else 0).
    """
    if event is None:
        event = {}
    if not isinstance(event, Mapping):
        raise EventError("event", f"must be a JSON object, not {type(event).__name__}")
    unknown = sorted(set(event) - EVENT_FIELDS - EVENTBRIDGE_ENVELOPE)
    if unknown:
        raise EventError(unknown[0], f"unknown field; known fields: {', '.join(sorted(EVENT_FIELDS))}")

    def pick(field: str, env: str, parse: type) -> tuple[str, Any]:
        if field in event:
            return field, event[field]
        return env, _from_env(environ, env, parse)

    source, rows = pick("rows", ENV_ROWS, int)
    rows = _integer(source, DEFAULT_ROWS if rows is None else rows, 1, MAX_EVENT_ROWS)
    source, rate = pick("defect_rate", ENV_DEFECT_RATE, float)
    rate = _rate(source, 0.0 if rate is None else rate)
    source, seed = pick("seed", ENV_SEED, int)
    seed = uuid.uuid4().int & MAX_SEED if seed is None else _integer(source, seed, 0, MAX_SEED)

    if "date" in event:
        for other in ("start_date", "days"):
            if other in event:
                raise EventError(other, "give either date, or start_date with days, not both")
        start, days = _date("date", event["date"]), 1
    else:
        if "days" in event and "start_date" not in event:
            raise EventError("start_date", "is required when days is given")
        start = _date("start_date", event["start_date"]) if "start_date" in event else today
        source, days = pick("days", ENV_DAYS, int)
        days = _integer(source, 1 if days is None else days, 1, MAX_DAYS)
    _within_bounds("date" if "date" in event else "start_date", start, days, environ, today)
    return RunPlan(rows=rows, start_date=start, days=days, seed=seed, defect_rate=rate)
