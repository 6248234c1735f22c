"""Bulk ingestion on a laptop: many files into a local lake, through the same code as the Lambda handler."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from ingestion.batch import BRONZE_ORDERS, MANIFEST_SUFFIX, object_key, write_file
from ingestion.defects import DEFECT_KINDS
from ingestion.plan import RunPlan
from ingestion.reference import load_reference
from ingestion.sinks import LocalSink

log = logging.getLogger(__name__)
# a temporary file untouched this long belongs to no running ingest: one was killed
STALE_AFTER_S = 600


def remove_stale_temporaries(lake: Path, older_than_s: float = STALE_AFTER_S) -> list[Path]:
    """Delete the hidden ``.<file>.tmp`` files that an ingest killed mid-write left in bronze (silver never
    reads them, but nothing else would remove them). A running ingest's own file is seconds old: it stays."""
    cutoff = time.time() - older_than_s
    removed = []
    for tmp in sorted((Path(lake) / BRONZE_ORDERS).glob("*/.*.tmp")):
        try:
            if tmp.stat().st_mtime < cutoff:
                tmp.unlink()
                removed.append(tmp)
                log.warning("ingest: removed %s, left by an interrupted ingest", tmp)
        except FileNotFoundError:
            continue
    return removed


@dataclass
class IngestSummary:
    files: list[Path] = field(default_factory=list)
    manifests: list[Path] = field(default_factory=list)
    rows: int = 0
    already_landed: list[Path] = field(default_factory=list)
    defects: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DEFECT_KINDS, 0))
    seconds: float = 0.0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


def landing_run(plan: RunPlan, stamp: dt.datetime) -> str:
    """The run part of the file names for a given landing time: the same plan landed at the same time gives the
    same names, so landing it again is recognised (the generator is byte-identical for the same plan)."""
    return hashlib.sha256(f"{plan!r}|{stamp.isoformat()}".encode()).hexdigest()[:12]


def ingest_to_lake(
    lake: Path,
    *,
    rows: int,
    days: int,
    start_date: dt.date,
    seed: int,
    defect_rate: float = 0.0,
    rows_per_file: int = 500_000,
    progress: bool = True,
    ingested_at: dt.datetime | None = None,
) -> IngestSummary:
    """Write ``rows`` orders over ``days`` days into ``lake/bronze/orders/ingest_date=<today>/``, in files of at
    most ``rows_per_file`` rows. One file is generated at a time, so memory stays bounded by the file size.

    File ``i`` is chunk ``i`` of one `RunPlan`: deterministic for the seed, and together the files cover the
    whole date range. ``ingested_at`` (default: now) is the landing time the files are stamped with (file name,
    ``ingest_date`` folder): set it to backfill history as if it had landed day by day. With it, the same plan
    and landing time give the same file names, and a file already landed (its answer key written) is not written
    again: `make demo` run twice adds nothing. Raises ValueError for bad arguments before writing anything."""
    if isinstance(rows_per_file, bool) or not isinstance(rows_per_file, int) or rows_per_file < 1:
        raise ValueError(f"rows_per_file is {rows_per_file!r}; it must be an integer of 1 or more")
    plan = RunPlan(
        rows=rows,
        start_date=start_date,
        days=days,
        seed=seed,
        defect_rate=defect_rate,
        rows_per_file=rows_per_file,
    )
    reference = load_reference()
    remove_stale_temporaries(lake)
    sink = LocalSink(Path(lake))
    stamp = dt.datetime.now(dt.UTC) if ingested_at is None else ingested_at.astimezone(dt.UTC)
    run = uuid.uuid4().hex[:12] if ingested_at is None else landing_run(plan, stamp)
    summary = IngestSummary()
    defects: Counter[str] = Counter()
    started = time.perf_counter()
    with tqdm(total=plan.rows, unit="rows", unit_scale=True, desc="ingest", disable=not progress) as bar:
        for index in range(plan.files):
            # The file index in the name keeps the files of a run in order when sorted by name.
            unique = f"{run}{index:05d}"
            landed = sink.path(object_key(stamp, unique) + MANIFEST_SUFFIX)
            if ingested_at is not None and landed.is_file():
                summary.already_landed.append(landed)
                continue
            written = write_file(sink, plan, index, stamp=stamp, unique=unique, reference=reference)
            summary.files.append(Path(written.location))
            summary.manifests.append(Path(written.manifest_location))
            summary.rows += written.rows
            defects.update(written.defects)
            bar.update(written.rows)
    summary.defects = {kind: defects[kind] for kind in DEFECT_KINDS}
    summary.seconds = time.perf_counter() - started
    if summary.already_landed:
        log.info(
            "ingest: %d files of this plan and landing time were already in bronze: not written again",
            len(summary.already_landed),
        )
    log.info(
        "ingest: %d rows in %d files under %s in %.2f s (%.0f rows/s), %d defect rows",
        summary.rows,
        len(summary.files),
        Path(lake) / "bronze" / "orders",
        summary.seconds,
        summary.rows_per_second,
        sum(summary.defects.values()),
    )
    return summary
