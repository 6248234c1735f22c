"""The silver table, as one object: the only way the job, gold and the CLI take the lake, repair it and change it.

:class:`SilverTable` offers three operations:

- :meth:`~SilverTable.lease`: hold the lake, one writer at a time (:mod:`glue_jobs.lease`: a ``flock`` locally,
  a conditional-write lease object on S3);
- :meth:`~SilverTable.recover`: complete or discard what a killed run left staged (:mod:`glue_jobs.commit`);
- :meth:`~SilverTable.commit`: make a run's staged partitions, its order index and its bookmark visible at once,
  from a :class:`Plan` of :class:`~glue_jobs.journal.Swap` steps, journalled before the first one is applied.

Beside them it reads the state a run starts from: the bookmark (:meth:`~SilverTable.bookmarked_files`) and the
order index (:meth:`~SilverTable.load_order_index`). How a run finds its rows (Spark) is no concern of this
module, and how the commit is kept on storage (the journal, the swaps, the lease) is no concern of its callers:
docs/decisions/0006-silver-table-seam.md says what another table format would have to provide in its place.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from glue_jobs import commit, lease, order_index, swaps
from glue_jobs.commit import Fence, unfenced
from glue_jobs.journal import Journal, Paths, StateError, Swap, write_journal
from glue_jobs.lease import LakeBusy, LeaseLost, LeaseUnsupported
from glue_jobs.metrics import RunMetrics
from glue_jobs.storage import Storage, join, relative, storage_for

__all__ = [
    "Bookmark",
    "Fence",
    "Journal",
    "LakeBusy",
    "LeaseLost",
    "LeaseUnsupported",
    "Plan",
    "RunIndex",
    "SilverTable",
    "StateError",
    "Swap",
    "unfenced",
]

log = logging.getLogger(__name__)
SILVER_TABLE = "silver_orders"
REJECTED_TABLE = "silver_orders_rejected"


@dataclass(frozen=True)
class RunIndex:
    """The order index as a run found it, and the order_ids the run writes. ``before`` is None when the run
    builds the index whole from what it staged: a full refresh, or a first run on an empty silver."""

    before: order_index.Index | None = None
    ids: pa.Array = field(default_factory=lambda: pa.array([], pa.string()))
    # the days the lookup found the run's orders on and they leave (order_index.vacated_days): the parts the
    # orders that moved are removed from
    vacated: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Plan:
    """What a run commits: its partition swaps (:mod:`glue_jobs.swaps`, silver first) and its figures, which
    must reconcile before anything is journalled."""

    run_id: str
    swaps: list[Swap]
    metrics: RunMetrics
    # fills in the figures of what the run read and wrote, once the commit has staged the order index and the
    # bookmark, just before they are journalled
    measure: Callable[[RunMetrics], None] = lambda _: None


@dataclass(frozen=True)
class Bookmark:
    """The bookmark once the run commits: each bronze file in silver (relative path -> size in bytes), and
    what identifies each one's content (relative path -> ``{"id", "mtime_ns"}``)."""

    files: dict[str, int]
    content: dict[str, dict[str, Any]] = field(default_factory=dict)


class SilverTable:
    """The ``silver_orders`` and ``silver_orders_rejected`` tables below ``paths.silver``, with their state."""

    def __init__(self, storage: Storage, paths: Paths) -> None:
        self.storage = storage
        self.paths = paths

    @classmethod
    def at(cls, silver_path: str, state_path: str, runs_path: str) -> SilverTable:
        """The table at these paths (local folders, or ``s3://`` URIs)."""
        return cls(storage_for(silver_path), Paths(silver_path, state_path, runs_path))

    # ------------------------------------------------------------------------------------ where things are
    def layout(self, run_id: str) -> swaps.Layout:
        """Where run ``run_id`` reads the two tables and stages their new partitions."""
        return swaps.Layout(
            join(self.paths.silver, SILVER_TABLE),
            join(self.paths.silver, REJECTED_TABLE),
            self.paths.staging(run_id),
        )

    @property
    def index_root(self) -> str:
        return join(self.paths.state, order_index.INDEX_DIR)

    def areas(self, run_id: str) -> dict[str, str]:
        """What a run reads of the table, by area (path prefix -> name), for its figures."""
        staging = self.paths.staging(run_id)
        return {
            self.paths.silver: "silver",
            staging: "staging",
            self.paths.state: "state",
            self.index_root: "order_index",
            self.index_staging(run_id): "order_index",
        }

    def index_staging(self, run_id: str) -> str:
        """Where a run stages its order index files (put in place by the journal's put_file swaps)."""
        return join(self.paths.staging(run_id), "_state", order_index.INDEX_DIR)

    # ------------------------------------------------------------------------------------ the three operations
    @contextlib.contextmanager
    def lease(self, run_id: str, command: str, **s3_options: Any) -> Iterator[lease.Lease]:
        """Hold the lake for the block (LakeBusy if another run does); ``s3_options`` (``ttl_s``, ``clock``)
        tune the S3 lease. The lease's ``ensure_held`` is the fence :meth:`recover` and :meth:`commit` take."""
        holder = lease.Holder.me(run_id, command)
        with lease.hold(self.storage, self.paths.state, holder, **s3_options) as held:
            yield held

    def recover(self, *, discard_damaged: bool = False, fence: Fence = unfenced) -> list[str]:
        """Complete every commit a killed run journalled, discard every staging it left without a journal; the
        run ids completed. Call it holding the lease. ``discard_damaged`` (a full refresh) drops a staging whose
        journal is damaged instead of raising StateError."""
        return commit.recover(self.storage, self.paths, discard_damaged=discard_damaged, fence=fence)

    def commit(self, plan: Plan, bookmark: Bookmark, index: RunIndex, *, fence: Fence) -> Journal:
        """The commit point, then the commit. With the figures reconciled and the lease still held, the journal
        is written: the partition swaps, the order index's new files, the new bookmark that lists them, the
        index files it no longer lists, and the metrics. From there the commit completes, even if this process
        dies (the next :meth:`recover` finishes it). A failure before the journal discards the run's staging."""
        try:
            journal = self._journal(plan, bookmark, index)
            fence()
            write_journal(self.storage, self.paths, plan.run_id, journal)
        except BaseException:
            self.discard(plan.run_id)
            raise
        commit.apply(self.storage, self.paths, plan.run_id, journal, fence)
        return journal

    def discard(self, run_id: str) -> None:
        """Drop what run ``run_id`` staged: nothing of it was committed."""
        self.storage.delete_tree(self.paths.staging(run_id))

    # ------------------------------------------------------------------------------------ the state a run reads
    def bookmarked_files(self) -> dict[str, int]:
        """The bronze files already in silver (relative path -> size in bytes); {} before the first run."""
        return commit.load_bookmark(self.storage, self.paths)

    def bookmarked_content(self) -> dict[str, dict[str, Any]]:
        """What the bookmark records of each file's content (relative path -> ``{"id", "mtime_ns"}``)."""
        data = commit.bookmark_data(self.storage, self.paths)
        content = data.get("content") if isinstance(data, dict) else None
        return {k: v for k, v in (content or {}).items() if isinstance(v, dict)}

    def load_order_index(
        self, *, silver_has_rows: bool, bound: order_index.Bound | None = None
    ) -> order_index.Index:
        """The order index the bookmark lists, the footers of the parts a ``bound`` lookup reads (all without
        one) checked; IndexDamaged when it cannot be trusted."""
        data = commit.bookmark_data(self.storage, self.paths)
        days = None
        if bound is not None:
            days = order_index.window_days(order_index.parse_manifest(data) or [], bound)
        return order_index.load(
            self.storage, data, self.index_root, silver_has_rows=silver_has_rows, days=days
        )

    def rebuild_order_index(self, run_id: str) -> order_index.Index:
        """The order index rebuilt from silver (one row per order_id: exactly where each order lives)."""
        silver = join(self.paths.silver, SILVER_TABLE)
        name = f"part-{run_id}"
        return order_index.rebuild(self.storage, silver, self.index_root, name, self.index_staging(run_id))

    # ------------------------------------------------------------------------------------ the journal
    def _journal(self, plan: Plan, bookmark: Bookmark, index: RunIndex) -> Journal:
        plan.metrics.check()
        puts, files = self._stage_index(plan.run_id, index)
        listed = {f.name for f in files}
        unlisted = [
            f.path
            for f in self.storage.list_files(self.index_root, include_hidden=True)
            if relative(self.index_root, f.path) not in listed
        ]
        state = commit.bookmark_swap(
            self.storage,
            self.paths,
            plan.run_id,
            bookmark.files,
            order_index=order_index.manifest(files),
            content=bookmark.content,
        )
        steps = (*plan.swaps, *puts, state, *[Swap.delete(path) for path in unlisted])
        plan.measure(plan.metrics)
        return Journal(steps, plan.metrics.to_dict())

    def _stage_index(self, run_id: str, index: RunIndex) -> tuple[list[Swap], list[order_index.IndexFile]]:
        """The order index once the run commits, its new files staged: a run that found no index indexes all
        it staged; an incremental run adds the new dates of its orders to the index it found."""
        name, staging = f"part-{run_id}", self.index_staging(run_id)
        staged_silver = self.layout(run_id).staged_silver
        if index.before is None:
            built = order_index.of_full_refresh(self.storage, staged_silver, self.index_root, name, staging)
        else:
            built = order_index.after_run(index.before, staged_silver, index.ids, name, index.vacated)
        return order_index.stage(built, staging)
