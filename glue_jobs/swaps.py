"""Planning a silver run's commit: which staged partition replaces which live one, which live one goes.

Pure functions of what the run found and staged (partition values and folder paths): no Spark, no storage, so
every case is testable on its own. The plan is the ``swaps`` list of the run's journal
(:class:`glue_jobs.table.SilverTable` commits it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from glue_jobs.journal import Swap
from glue_jobs.storage import join


@dataclass(frozen=True)
class Layout:
    """Where a run reads and writes: the two tables and its staging folder (below ``silver/_staging/``)."""

    silver_table: str
    rejected_table: str
    staging: str

    @property
    def staged_silver(self) -> str:
        return join(self.staging, "silver_orders")

    @property
    def staged_rejected(self) -> str:
        return join(self.staging, "silver_orders_rejected")

    @property
    def merged_rejected(self) -> str:
        """Quarantine partitions rewritten as their other files' rows plus this run's (see ``quarantine_merges``)."""
        return join(self.staging, "_rejected_merged")


@dataclass(frozen=True)
class Partitions:
    """Partition values (dates as ``YYYY-MM-DD``) before the run and in its staging."""

    # order_dates this run rewrites: its new rows' dates and those of the orders they move
    touched: list[str]
    # silver's order_dates before the run
    existing: set[str] = field(default_factory=set)
    # order_dates staged (a touched date with no row left: absent)
    staged: set[str] = field(default_factory=set)
    # the quarantine's ingest_dates before the run
    existing_ingest: set[str] = field(default_factory=set)
    # ingest_dates of this run's rejected rows
    staged_ingest: set[str] = field(default_factory=set)
    # ingest_dates to merge (``quarantine_merges``)
    merged_ingest: list[str] = field(default_factory=list)
    # of those, the ones with rows left after the merge
    merged_staged: set[str] = field(default_factory=set)


def quarantine_merges(
    existing_ingest: set[str], read_ingest_dates: list[str], full_refresh: bool
) -> list[str]:
    """Quarantine partitions that may hold rows of the files this run reads (a file read again: it changed, or
    the bookmark was lost): they are rewritten, not appended to, so no rejected row is ever doubled. A full
    refresh replaces every partition anyway."""
    return [] if full_refresh else sorted(existing_ingest & set(read_ingest_dates))


def _replace(staged_root: str, target_root: str, part: str) -> Swap:
    return Swap.replace(join(staged_root, part), join(target_root, part))


def _delete(target_root: str, part: str) -> Swap:
    return Swap.delete(join(target_root, part))


def silver_swaps(layout: Layout, parts: Partitions) -> list[Swap]:
    """Each touched order_date: the staged partition replaces the live one; with no row left, the live one goes."""
    swaps = []
    for d in parts.touched:
        part = f"order_date={d}"
        if d in parts.staged:
            swaps.append(_replace(layout.staged_silver, layout.silver_table, part))
        elif d in parts.existing:
            swaps.append(_delete(layout.silver_table, part))
    return swaps


def quarantine_swaps(layout: Layout, parts: Partitions, full_refresh: bool) -> list[Swap]:
    """Merged partitions replace theirs (or go, when no row is left); the other staged ones are new partitions
    (or, in a full refresh, replace theirs); a full refresh drops the partitions it did not stage."""
    swaps = []
    for d in parts.merged_ingest:
        part = f"ingest_date={d}"
        if d in parts.merged_staged:
            swaps.append(_replace(layout.merged_rejected, layout.rejected_table, part))
        else:
            swaps.append(_delete(layout.rejected_table, part))
    for d in sorted(parts.staged_ingest - set(parts.merged_ingest)):
        swaps.append(_replace(layout.staged_rejected, layout.rejected_table, f"ingest_date={d}"))
    if full_refresh:
        for d in sorted(parts.existing_ingest - parts.staged_ingest):
            swaps.append(_delete(layout.rejected_table, f"ingest_date={d}"))
    return swaps


def plan_swaps(layout: Layout, parts: Partitions, full_refresh: bool) -> list[Swap]:
    """The partition swaps of a run's commit, silver first (the state files are appended by the commit step)."""
    return silver_swaps(layout, parts) + quarantine_swaps(layout, parts, full_refresh)


def touched_order_dates(swaps: list[Swap], layout: Layout) -> list[str]:
    """The order_dates a plan rewrites or removes in silver_orders."""
    prefix = join(layout.silver_table, "order_date=")
    return [s.target[len(prefix) :] for s in swaps if s.target.startswith(prefix)]
