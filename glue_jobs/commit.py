"""Make a run's output visible all at once, or not at all, and recover a run that was killed half-way.

A run writes the new version of every partition it touches under ``<silver>/_staging/<run_id>/`` (readers
ignore ``_``-prefixed folders), and the new version of each state file (the bookmark) under
``<silver>/_staging/<run_id>/_state/``. When all of it is complete it writes ``_journal.json`` there: the list of
swaps and the run metrics. Only then does it apply the swaps one by one (each leaves a ``_done/<n>`` marker): the
partitions first, then the state files, so the bookmark moves only once the rows are in silver. Then it records
the metrics and deletes the staging folder.

A state file joins the commit as one more swap, a ``put_file`` :class:`~glue_jobs.journal.Swap` (see
:func:`state_swap`): any other state the job keeps can be committed atomically with silver the same way. The
order index (:mod:`glue_jobs.order_index`) does: its new files are put in place after the partitions, then the
bookmark that lists them, then ``delete`` swaps remove the index files the bookmark no longer lists.

Callers go through :class:`glue_jobs.table.SilverTable`; this module is its mechanics, and
:mod:`glue_jobs.journal` the types and the JSON of what it writes. The next run starts with :func:`recover`: a staging folder with a journal is rolled *forward* (the remaining swaps
are applied; every step is idempotent, so being killed again during recovery is fine); one without a journal is
an incomplete write and is deleted. Bronze files are added to the bookmark only after their rows are in silver,
and exactly once, so a killed run never loses or double-counts a file. Recovery runs under the lake's lease
(:mod:`glue_jobs.lease`), so it never discards the staging of a run that is still writing it.

Readers and fencing (:func:`apply_swap`, :func:`apply`): a partition's new files are put beside its old ones before
the old ones are deleted, so a reader listing the partition finds the old version or the new one whole (for a
moment both), never less. Every swap first checks that the run still holds the lake's lease, so does every delete,
and a swap is marked done with ``If-None-Match``: a run that stalled past its lease's expiry while the next run
recovered its journal stops at its next step, and as each step deletes only what it listed before its check, the
two cannot lose or double a file.

A damaged state file (bookmark or journal) stops the run with :class:`StateError`, which names the file and the
repair: ``--full-refresh`` rebuilds silver and the state from all of bronze.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from glue_jobs.journal import BOOKMARK, Journal, Paths, StateError, Swap, dumps, read_journal, read_json
from glue_jobs.lease import LeaseLost
from glue_jobs.storage import Storage, join, relative

log = logging.getLogger(__name__)


def load_bookmark(storage: Storage, paths: Paths) -> dict[str, int]:
    """The bronze files already in silver (path relative to bronze -> size in bytes when read); {} before the
    first run. A bookmark that exists but is not a valid one raises StateError: reading every file again would
    be silent reprocessing."""
    data = read_json(storage, paths.bookmark)
    if data is None:
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(data, dict) or data.get("version") != 1:
        raise StateError(paths.bookmark, "expected a JSON object with version 1")
    if not isinstance(files, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and v >= 0
        for k, v in files.items()
    ):
        raise StateError(paths.bookmark, "'files' must map each bronze file to its size in bytes")
    return files


def bookmark_data(storage: Storage, paths: Paths) -> Any:
    """The bookmark's whole JSON (None before the first run), for the state it records beside the files."""
    return read_json(storage, paths.bookmark)


def state_swap(storage: Storage, paths: Paths, run_id: str, name: str, content: Any) -> Swap:
    """Stage a new version of state file ``name`` and return the swap that puts it in place at commit."""
    staged = join(paths.staging(run_id), "_state", name)
    storage.write_text(staged, dumps(content))
    return Swap.put_file(staged, join(paths.state, name))


def bookmark_swap(storage: Storage, paths: Paths, run_id: str, files: dict[str, int], **state: Any) -> Swap:
    """The new bookmark: the bronze files in silver, and the other state that moves with them
    (``order_index``: the files of :mod:`glue_jobs.order_index`)."""
    return state_swap(storage, paths, run_id, BOOKMARK, {"version": 1, "files": files, **state})


# A test hook: called before each swap with its index, so a test can "kill" the run at a chosen point.
before_swap: Callable[[int, Swap], None] | None = None
# Raises LeaseLost once another run has taken the lake over: the run's lease ``ensure_held``.
Fence = Callable[[], None]


def unfenced() -> None:
    """The fence of a caller that holds the lake some other way (a local flock lasts as long as its process)."""


def apply(storage: Storage, paths: Paths, run_id: str, journal: Journal, fence: Fence = unfenced) -> None:
    """Apply a journal: the swaps (partitions, then state files), the run metrics, then delete the staging.

    Fencing: the run checks that it still holds the lake before each swap and again before each delete, and
    marks a swap done only if no other run did (``If-None-Match``): a run whose lease was taken over (it stalled
    past the lease's expiry, and the next run's :func:`recover` applies this same journal) stops there with
    LeaseLost. Every step is idempotent and deletes only files it listed before its last fence, so the two
    appliers cannot lose or double a file even when their steps interleave."""
    staging, swaps = paths.staging(run_id), journal.swaps
    for n, swap in enumerate(swaps):
        marker = join(staging, "_done", str(n))
        if storage.exists(marker):
            continue
        if before_swap is not None:
            before_swap(n, swap)
        try:
            fence()
            apply_swap(storage, swap, fence)
        except LeaseLost:
            raise _taken_over(run_id, n, len(swaps)) from None
        except Exception:
            # a step that failed because the run that took over completed it meanwhile (its files gone)
            _fenced(fence, run_id, n, len(swaps))
            raise
        if not storage.write_new(marker, ""):
            raise _taken_over(run_id, n, len(swaps))
        if swap.staged:
            storage.delete_tree(swap.staged)
    storage.write_text(paths.run_file(run_id), dumps(journal.metrics))
    storage.delete_tree(staging)


def _taken_over(run_id: str, n: int, total: int) -> LeaseLost:
    return LeaseLost(
        f"silver run {run_id} stopped before swap {n + 1} of {total} of its commit: its lease expired and another "
        "run took the lake over, which completes this commit from its journal; nothing to do"
    )


def _fenced(fence: Fence, run_id: str, n: int, total: int) -> None:
    try:
        fence()
    except LeaseLost:
        raise _taken_over(run_id, n, total) from None


def apply_swap(storage: Storage, swap: Swap, fence: Fence) -> None:
    """One swap, as readers listing the target folder should see it: whole old version or whole new version.

    ``replace`` puts the new files beside the old ones, then (fenced) deletes the old ones: a lister sees the
    old files, or the new ones, or both for a moment, never a partition with rows missing. ``delete`` removes
    the files it listed before its fence. A swap whose staged files are gone was completed by another run."""
    kind, target, staged = swap.kind, swap.target, swap.staged
    if kind == "delete":
        old = [f.path for f in storage.list_files(target, include_hidden=True)] or [target]
        fence()
        storage.delete_files(old)
    elif kind in ("replace", "add_files"):
        new = storage.list_files(staged)
        old = storage.list_files(target, include_hidden=True) if kind == "replace" else []
        names = {relative(staged, f.path) for f in new}
        for f in new:
            storage.put_copy(f.path, join(target, relative(staged, f.path)))
        if new and old:
            fence()
            storage.delete_files([f.path for f in old if relative(target, f.path) not in names])
    # put_file; else a local rename already moved it (killed before the marker)
    elif storage.exists(staged):
        storage.move_file(staged, target)


def recover(
    storage: Storage, paths: Paths, *, discard_damaged: bool = False, fence: Fence = unfenced
) -> list[str]:
    """Finish or discard whatever an interrupted run left in staging; return the run ids rolled forward.
    Call it only while holding the lake's lease. ``discard_damaged`` (a full refresh, which rewrites every
    partition anyway) drops a staging folder whose journal is damaged instead of raising StateError."""
    recovered = []
    for run_id in storage.list_dirs(paths.staging_root):
        try:
            journal = read_journal(storage, paths, run_id)
        except StateError:
            if not discard_damaged:
                raise
            log.warning(
                "silver: discarding interrupted run %s: its journal is damaged (full refresh)", run_id
            )
            journal = None
        if journal is None:
            log.warning("silver: discarding the incomplete staging of interrupted run %s", run_id)
            storage.delete_tree(paths.staging(run_id))
            continue
        log.warning("silver: completing interrupted run %s from its journal", run_id)
        apply(storage, paths, run_id, journal.recovered(), fence)
        recovered.append(run_id)
    return recovered
