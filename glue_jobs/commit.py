"""Make a run's output visible all at once, or not at all, and recover a run that was killed half-way.

A run writes the new version of every partition it touches under ``<silver>/_staging/<run_id>/`` (readers
ignore ``_``-prefixed folders), and the new version of each state file (the bookmark) under
``<silver>/_staging/<run_id>/_state/``. When all of it is complete it writes ``_journal.json`` there: the list of
swaps and the run metrics. Only then does it apply the swaps one by one (each leaves a ``_done/<n>`` marker): the
partitions first, then the state files, so the bookmark moves only once the rows are in silver. Then it records
the metrics and deletes the staging folder.

A state file joins the commit as one more swap, ``{"kind": "put_file", "staged": ..., "target": ...}`` (see
:func:`state_swap`): any other state the job keeps can be committed atomically with silver the same way. The
order index (:mod:`glue_jobs.order_index`) does: its new files are put in place after the partitions, then the
bookmark that lists them, then ``delete`` swaps remove the index files the bookmark no longer lists.

The next run starts with :func:`recover`: a staging folder with a journal is rolled *forward* (the remaining swaps
are applied; every step is idempotent, so being killed again during recovery is fine); one without a journal is
an incomplete write and is deleted. Bronze files are added to the bookmark only after their rows are in silver,
and exactly once, so a killed run never loses or double-counts a file. Recovery runs under the lake's lease
(:mod:`glue_jobs.lease`), so it never discards the staging of a run that is still writing it.

A damaged state file (bookmark or journal) stops the run with :class:`StateError`, which names the file and the
repair: ``--full-refresh`` rebuilds silver and the state from all of bronze.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from glue_jobs.storage import Storage, join

log = logging.getLogger(__name__)
STAGING = "_staging"
JOURNAL = "_journal.json"
BOOKMARK = "bookmark.json"
SWAP_KINDS = ("replace", "delete", "add_files", "put_file")
REPAIR = "rebuild silver and its state from all of bronze with `lakehouse silver --full-refresh` (Glue: --full_refresh true)"


class StateError(RuntimeError):
    """A state file of the job is damaged: the run stops before reading anything; the message names the repair."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"silver state file {path} is damaged ({problem}); {REPAIR}")


@dataclass(frozen=True)
class Paths:
    silver: str
    state: str
    runs: str

    @property
    def staging_root(self) -> str:
        return join(self.silver, STAGING)

    def staging(self, run_id: str) -> str:
        return join(self.staging_root, run_id)

    @property
    def bookmark(self) -> str:
        return join(self.state, BOOKMARK)

    def run_file(self, run_id: str) -> str:
        return join(self.runs, f"{run_id}.json")

    def journal(self, run_id: str) -> str:
        return join(self.staging(run_id), JOURNAL)


def _json(storage: Storage, path: str) -> Any:
    """A state file's JSON, None when it does not exist; StateError when it is not JSON."""
    raw = storage.read_bytes(path)
    if raw is None:
        return None
    if not raw.strip():
        raise StateError(path, f"{len(raw)} bytes, no content")
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise StateError(path, f"not JSON: {exc}") from None


def load_bookmark(storage: Storage, paths: Paths) -> dict[str, int]:
    """The bronze files already in silver (path relative to bronze -> size in bytes when read); {} before the
    first run. A bookmark that exists but is not a valid one raises StateError: reading every file again would
    be silent reprocessing."""
    data = _json(storage, paths.bookmark)
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
    return _json(storage, paths.bookmark)


def state_swap(storage: Storage, paths: Paths, run_id: str, name: str, content: Any) -> dict[str, str]:
    """Stage a new version of state file ``name`` and return the swap that puts it in place at commit."""
    staged = join(paths.staging(run_id), "_state", name)
    storage.write_text(staged, dumps(content))
    return {"kind": "put_file", "staged": staged, "target": join(paths.state, name)}


def bookmark_swap(
    storage: Storage, paths: Paths, run_id: str, files: dict[str, int], **state: Any
) -> dict[str, str]:
    """The new bookmark: the bronze files in silver, and the other state that moves with them
    (``order_index``: the files of :mod:`glue_jobs.order_index`)."""
    return state_swap(storage, paths, run_id, BOOKMARK, {"version": 1, "files": files, **state})


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, default=str) + "\n"


def write_journal(storage: Storage, paths: Paths, run_id: str, journal: dict[str, Any]) -> None:
    storage.write_text(paths.journal(run_id), dumps(journal))


def read_journal(storage: Storage, paths: Paths, run_id: str) -> dict[str, Any] | None:
    """A staged run's journal (None: the run never reached its commit point); StateError when damaged."""
    path = paths.journal(run_id)
    journal = _json(storage, path)
    if journal is None:
        return None
    swaps = journal.get("swaps") if isinstance(journal, dict) else None
    if (
        not isinstance(swaps, list)
        or not isinstance(journal.get("metrics"), dict)
        or not all(isinstance(s, dict) and s.get("kind") in SWAP_KINDS and s.get("target") for s in swaps)
    ):
        raise StateError(path, "expected 'swaps' (a list of known swaps) and 'metrics'")
    return journal


def pending(storage: Storage, paths: Paths) -> list[str]:
    """Run ids whose commit has started but not finished (a journal is staged): silver is half-applied."""
    return [
        run_id for run_id in storage.list_dirs(paths.staging_root) if storage.exists(paths.journal(run_id))
    ]


# A test hook: called before each swap with its index, so a test can "kill" the run at a chosen point.
before_swap: Callable[[int, dict[str, str]], None] | None = None


def apply(storage: Storage, paths: Paths, run_id: str, journal: dict[str, Any]) -> None:
    """Apply a journal: the swaps (partitions, then state files), the run metrics, then delete the staging."""
    staging = paths.staging(run_id)
    for n, swap in enumerate(journal["swaps"]):
        marker = join(staging, "_done", str(n))
        if storage.exists(marker):
            continue
        if before_swap is not None:
            before_swap(n, swap)
        kind, target = swap["kind"], swap["target"]
        staged = swap.get("staged")
        if kind == "delete":
            storage.delete_tree(target)
        elif storage.exists(staged):  # else: a local rename already moved it (killed before the marker)
            if kind == "replace":
                storage.replace_dir(staged, target, join(staging, "_trash", str(n)))
            elif kind == "add_files":
                storage.move_files(staged, target)
            elif kind == "put_file":
                storage.move_file(staged, target)
            else:
                raise ValueError(f"unknown swap kind {kind!r}")
        storage.write_text(marker, "")
        if staged:
            storage.delete_tree(staged)
    storage.write_text(paths.run_file(run_id), dumps(journal["metrics"]))
    storage.delete_tree(staging)


def recover(storage: Storage, paths: Paths, *, discard_damaged: bool = False) -> list[str]:
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
        journal["metrics"]["recovered"] = True
        apply(storage, paths, run_id, journal)
        recovered.append(run_id)
    return recovered
