"""AWS Lambda entry point: a thin shell over `ingestion.events` (what to generate) and `ingestion.batch` (generate
and write one CSV plus its manifest).

Environment: ``LAKE_BUCKET`` (S3 bucket; unset: the local folder ``LAKE_ROOT``, default ``./lake``),
``LAKE_PREFIX`` (key prefix, default empty), ``LAKE_KMS_KEY_ID`` (SSE-KMS key; unset: SSE-S3 AES256),
``LOG_LEVEL`` (default INFO), and the event defaults ``INGEST_ROWS``, ``INGEST_DAYS``, ``INGEST_SEED``,
``INGEST_DEFECT_RATE`` (see `ingestion.events.parse_event`), and the valid order dates ``INGEST_EARLIEST_ORDER_DATE``
(default 2020-01-01) and ``INGEST_MAX_DAYS_AFTER_LANDING`` (default 1; `ingestion.events.order_date_bounds`)."""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import os
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ingestion.batch import write_file
from ingestion.events import EventError, parse_event
from ingestion.sinks import LocalSink, S3Sink, Sink

__all__ = ["EventError", "lambda_handler"]

log = logging.getLogger("ingestion.handler")


def _configure_logging(environ: Mapping[str, str]) -> None:
    level = environ.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
    logging.getLogger("ingestion").setLevel(level if level in logging.getLevelNamesMapping() else "INFO")


@functools.cache
def s3_client() -> Any:
    """One S3 client per container: warm invocations reuse it (creating one costs tens of milliseconds)."""
    import boto3

    return boto3.client("s3")


def _sink(environ: Mapping[str, str]) -> tuple[Sink, dict[str, str]]:
    bucket = environ.get("LAKE_BUCKET", "").strip()
    if bucket:
        kms = environ.get("LAKE_KMS_KEY_ID", "").strip() or None
        return S3Sink(bucket, client=s3_client(), kms_key_id=kms), {"bucket": bucket}
    root = Path(environ.get("LAKE_ROOT", "").strip() or "lake")
    return LocalSink(root), {"root": str(root)}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _log_line(level: int, record: dict[str, Any]) -> None:
    log.log(level, json.dumps(record, separators=(",", ":"), default=str))


def lambda_handler(event: Any, context: Any = None) -> dict[str, Any]:
    """Generate ``event["rows"]`` orders into one bronze CSV (+ manifest); return where and what was written.

    Raises `EventError` (a ValueError naming the field) for a malformed event, before anything is written.
    Logs exactly one JSON line per invocation: ``ingest``, ``ingest_rejected`` or ``ingest_failed``."""
    started = time.perf_counter()
    environ = os.environ
    _configure_logging(environ)
    now = _now()
    request_id = getattr(context, "aws_request_id", None) or uuid.uuid4().hex

    def elapsed() -> float:
        return round((time.perf_counter() - started) * 1000, 1)

    try:
        plan = parse_event(event, environ=environ, today=now.date())
    except EventError as error:
        _log_line(
            logging.ERROR,
            {"event": "ingest_rejected", "request_id": request_id, "field": error.field, "error": str(error)},
        )
        raise
    try:
        sink, where = _sink(environ)
        written = write_file(
            sink, plan, 0, stamp=now, unique=request_id, prefix=environ.get("LAKE_PREFIX", "")
        )
    except Exception as error:
        _log_line(
            logging.ERROR,
            {
                "event": "ingest_failed",
                "request_id": request_id,
                "error": f"{type(error).__name__}: {error}",
                "rows": plan.rows,
                "seed": plan.seed,
                "duration_ms": elapsed(),
            },
        )
        raise
    result: dict[str, Any] = {
        **where,
        "key": written.key,
        "manifest_key": written.manifest_key,
        "location": written.location,
        "rows": written.rows,
        "bytes": written.bytes,
        "seed": plan.seed,
        "start_date": plan.start_date.isoformat(),
        "days": plan.days,
        "defect_rate": plan.defect_rate,
        "defects": written.defects,
        "defect_rows": sum(written.defects.values()),
    }
    if "root" in where:
        result["path"] = written.location
    result["duration_ms"] = elapsed()
    _log_line(logging.INFO, {"event": "ingest", "request_id": request_id, **result})
    return result
