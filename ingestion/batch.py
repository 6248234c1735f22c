"""Generate one file of orders, write it and its answer key: the one code path of the Lambda and the local loader."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ingestion.defects import DEFECT_KINDS, RECOVERABLE, DefectPlan, defect_lines, no_defects, plan_defects
from ingestion.generator import generate_columns
from ingestion.plan import RunPlan
from ingestion.reference import Reference, load_reference
from ingestion.render import HEADER, render_rows, splice
from ingestion.sinks import Body, Sink

log = logging.getLogger(__name__)

BRONZE_ORDERS = "bronze/orders"
MANIFEST_SUFFIX = ".manifest.json"
GENERATOR_VERSION = "ingestion/1"
_UNSAFE = re.compile(r"[^A-Za-z0-9]+")


@dataclass(frozen=True)
class GeneratedFile:
    """A file's bytes, as parts written one after the other (header, data), and which rows carry which defect."""

    parts: tuple[Body, ...]
    rows: int
    defects: DefectPlan
    first_date: dt.date
    last_date: dt.date

    @property
    def size(self) -> int:
        return sum(len(part) for part in self.parts)

    @property
    def body(self) -> bytes:
        """The whole file as one bytes object (a copy: writers use ``parts``)."""
        return b"".join(self.parts)


@dataclass(frozen=True)
class WrittenFile:
    # below the lake root (bucket or folder), prefix included
    key: str
    # s3://bucket/key or a local path
    location: str
    manifest_key: str
    manifest_location: str
    rows: int
    bytes: int
    defects: dict[str, int] = field(default_factory=dict)


def file_name(stamp: dt.datetime, unique: str) -> str:
    """``orders_lambda_YYYYMMDD_HHMMSS_<unique>.csv``; ``unique`` keeps only letters and digits."""
    token = _UNSAFE.sub("", unique)
    if not token:
        raise ValueError(f"unique part {unique!r} of the file name has no letters or digits")
    return f"orders_lambda_{stamp:%Y%m%d_%H%M%S}_{token}.csv"


def object_key(stamp: dt.datetime, unique: str, prefix: str = "") -> str:
    """``<prefix>/bronze/orders/ingest_date=YYYY-MM-DD/orders_lambda_YYYYMMDD_HHMMSS_<unique>.csv`` (UTC)."""
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(dt.UTC)
    parts = [p for p in prefix.strip("/").split("/") if p]
    parts += [BRONZE_ORDERS, f"ingest_date={stamp:%Y-%m-%d}", file_name(stamp, unique)]
    return "/".join(parts)


def generate_file(plan: RunPlan, chunk_index: int, reference: Reference) -> GeneratedFile:
    """Pure: the CSV of file ``chunk_index`` of ``plan`` with its defects, byte-identical for the same plan."""
    columns = generate_columns(plan, chunk_index, reference)
    rows = len(columns)
    _, defect_rng = plan.chunk_rngs(chunk_index)
    defects = plan_defects(rows, plan.defect_rate, defect_rng) if plan.defect_rate > 0 else no_defects()
    data, lengths = render_rows(columns, reference)
    body = memoryview(data)
    if len(defects):
        gather = np.where(defects.sources >= 0, defects.sources, defects.positions)
        subset = columns.take(gather).to_table(reference)
        body = splice(data, lengths, defects, defect_lines(subset, defects, reference, defect_rng))
    first_day, last_day = (plan.start_date + dt.timedelta(days=int(d)) for d in columns.day[[0, -1]])
    return GeneratedFile(
        parts=(HEADER, body), rows=rows, defects=defects, first_date=first_day, last_date=last_day
    )


def manifest(
    plan: RunPlan, chunk_index: int, generated: GeneratedFile, key: str, stamp: dt.datetime
) -> dict[str, Any]:
    """The answer key written beside the CSV."""
    first_row, _ = plan.chunk(chunk_index)
    counts = generated.defects.counts()
    rejected = sum(n for kind, n in counts.items() if kind not in RECOVERABLE)
    valid = generated.rows - rejected
    return {
        "file": key.rsplit("/", 1)[-1],
        "key": key,
        "seed": plan.seed,
        "rows": generated.rows,
        "start_date": plan.start_date.isoformat(),
        "days": plan.days,
        "defect_rate": plan.defect_rate,
        "defects": {kind: generated.defects.rows(kind) for kind in DEFECT_KINDS},
        "defect_counts": counts,
        "defect_sources": {
            kind: generated.defects.source_rows(kind) for kind in ("duplicate", "late_correction")
        },
        "expected": {
            "valid_rows": valid,
            "rejected_rows": rejected,
            "distinct_valid_orders": valid - counts["duplicate"] - counts["late_correction"],
        },
        "order_dates": {"first": generated.first_date.isoformat(), "last": generated.last_date.isoformat()},
        "chunk": {"index": chunk_index, "files": plan.files, "first_row": first_row, "run_rows": plan.rows},
        "written_at": stamp.astimezone(dt.UTC).isoformat(timespec="seconds")
        if stamp.tzinfo
        else stamp.isoformat(),
        "generator": GENERATOR_VERSION,
    }


def write_file(
    sink: Sink,
    plan: RunPlan,
    chunk_index: int,
    *,
    stamp: dt.datetime,
    unique: str,
    prefix: str = "",
    reference: Reference | None = None,
) -> WrittenFile:
    """Generate file ``chunk_index`` of ``plan``, write the CSV, then its manifest (CSV removed if that fails)."""
    reference = reference or load_reference()
    generated = generate_file(plan, chunk_index, reference)
    key = object_key(stamp, unique, prefix)
    manifest_key = key + MANIFEST_SUFFIX
    answer = json.dumps(manifest(plan, chunk_index, generated, key, stamp), separators=(",", ":")).encode()
    location = sink.put(key, generated.parts, "text/csv")
    try:
        manifest_location = sink.put(manifest_key, (answer,), "application/json")
    except BaseException:
        # best effort: the writer may not be allowed to delete (the Lambda role can only put)
        try:
            sink.delete(key)
        except Exception:
            log.warning("could not remove %s after its manifest failed", location, exc_info=True)
        raise
    log.debug("wrote %s (%d rows, %d defects)", location, generated.rows, len(generated.defects))
    return WrittenFile(
        key=key,
        location=location,
        manifest_key=manifest_key,
        manifest_location=manifest_location,
        rows=generated.rows,
        bytes=generated.size,
        defects=generated.defects.counts(),
    )
