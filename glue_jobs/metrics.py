"""A silver run's figures, typed: what the job returns, writes to ``_runs/silver/<run_id>.json`` and checks.

All about *this run's new bronze rows* except ``superseded``:

- ``records_counted``: records of the bronze files read by this run, counted by the job itself from the bytes
  (:mod:`glue_jobs.inventory`), independently of Spark's CSV parse;
- ``rows_read``: rows Spark read from those files (header excluded, malformed records included, one row per
  record: a line, or an RFC 4180 record in a file that quotes);
- ``rows_rejected``: of those, rows written to ``silver_orders_rejected`` (``rejected_by_reason`` splits them);
- ``rows_written``: valid rows that are now the silver row of their order_id (each inserts or replaces one row);
- ``duplicates_dropped``: valid rows that lost to another version of the same order_id (a later ingest in this
  batch, or a row already in silver from a later ingest);
- ``superseded``: rows that *were* in silver and were replaced by a newer version read in this run (not part of
  the identity, since they were counted when they were read).

:meth:`RunMetrics.check` requires ``records_counted == rows_read == rows_written + rows_rejected +
duplicates_dropped``, on figures observed at different points of two separate passes over the CSV (before the
reject filter, after it, and after the latest-wins ranking of the merge); when it fails the run raises
:class:`ReconciliationError` before anything is committed."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any


class ReconciliationError(RuntimeError):
    """The run's row counts do not add up: rows were lost or invented. Nothing was committed."""


@dataclass(frozen=True)
class FileNote:
    """A bronze file the run quarantined whole or did not read, and why."""

    file: str
    reason: str
    missing_columns: tuple[str, ...] = ()


@dataclass
class RunMetrics:
    run_id: str
    job_name: str = ""
    started_at: str = ""
    full_refresh: bool = False
    files_read: int = 0
    files_changed: list[str] = field(default_factory=list)
    # a repair run: the ingest days it read again (glue_jobs.repair.Window), and how many files it re-read
    repair_window: str = ""
    files_repaired: int = 0
    files_not_read: list[FileNote] = field(default_factory=list)
    files_quarantined: list[FileNote] = field(default_factory=list)
    # new names whose content was read already (a duplicate upload): bookmarked, not read, reported once
    files_duplicate: list[FileNote] = field(default_factory=list)
    records_counted: int = 0
    rows_read: int = 0
    rows_written: int = 0
    rows_rejected: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    duplicates_dropped: int = 0
    superseded: int = 0
    partitions_touched: int = 0
    order_dates_touched: list[str] = field(default_factory=list)
    recovered_runs: list[str] = field(default_factory=list)
    # why the run rebuilt the order index from silver (missing, damaged, of an older layout); "" if not
    order_index_rebuilt: str = ""
    # how the run bounded its index lookups: the correction horizon, the days (index parts) and files it read of
    # those the index holds (glue_jobs.horizon.lookup_report)
    index_lookup: dict[str, Any] = field(default_factory=dict)
    # a sweep (--sweep): each stale copy it removed of an order doubled across partitions by a correction that
    # moved it further than the horizon: {"order_id", "old_date", "new_date"}
    sweep: bool = False
    corrections_beyond_horizon: list[dict[str, str]] = field(default_factory=list)
    duration_s: float = 0.0
    # read and written through Storage (outside Spark) up to the commit point, the journal and the swaps after it
    # not counted: bytes_read, objects_read, bytes_written, objects_written, and bytes_read_by_area (bronze,
    # reference, state, order_index, silver, staging): glue_jobs.measure.IoFigures
    storage: dict[str, Any] = field(default_factory=dict)
    # what Spark's tasks read in the run (its executors' input metrics: glue_jobs.measure)
    spark_input_bytes: int = 0
    # true in the metrics of a run that a later run completed from its journal
    recovered: bool = False

    @classmethod
    def begin(cls, run_id: str, job_name: str, full_refresh: bool) -> RunMetrics:
        started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        return cls(run_id, job_name, started, full_refresh)

    def summary(self) -> str:
        """One log line of the figures."""
        return (
            f"{self.run_id}: {self.files_read} files, {self.rows_read} rows read, {self.rows_written} written, "
            f"{self.rows_rejected} rejected {self.rejected_by_reason}, {self.duplicates_dropped} duplicates "
            f"dropped, {self.superseded} superseded, {self.partitions_touched} partitions touched, "
            f"{self.duration_s:.1f} s"
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunMetrics:
        """Metrics read back from a run file (unknown keys ignored, so older files still load)."""
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for key in ("files_not_read", "files_quarantined", "files_duplicate"):
            values[key] = [
                FileNote(**{**n, "missing_columns": tuple(n.get("missing_columns", ()))})
                for n in values.get(key, [])
            ]
        return cls(**values)

    def check(self) -> None:
        """Raise :class:`ReconciliationError` unless every record of the new files was read by Spark, and every
        row read is written, rejected or a dropped duplicate."""
        accounted = self.rows_written + self.rows_rejected + self.duplicates_dropped
        if (
            self.rows_read != accounted
            or self.records_counted != self.rows_read
            or sum(self.rejected_by_reason.values()) != self.rows_rejected
        ):
            raise ReconciliationError(
                f"silver run {self.run_id} does not reconcile: records_counted={self.records_counted}, "
                f"rows_read={self.rows_read} but rows_written={self.rows_written} + rows_rejected="
                f"{self.rows_rejected} + duplicates_dropped={self.duplicates_dropped} = {accounted} "
                f"(rejected_by_reason={self.rejected_by_reason})"
            )
