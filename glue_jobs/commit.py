"""Make a run's output visible all at once, or not at all, and recover a run that was killed half-way.

A run writes the new version of every partition it touches under ``<silver>/_staging/<run_id>/`` (readers
ignore ``_``-prefixed folders). When the staged data is complete it writes ``_journal.json`` there: the list of
swaps, the bookmark to record and the run metrics. Only then does it apply the swaps one by one (each leaves a
``_done/<n>`` marker), record the bookmark and the metrics, and delete the staging folder.

The next run starts with :func:`recover`: a staging folder with a journal is rolled *forward* (the remaining swaps
are applied; every step is idempotent, so being killed again during recovery is fine); one without a journal is
an incomplete write and is deleted. Bronze files are added to the bookmark only after their rows are in silver,
and exactly once, so a killed run never loses or double-counts a file.
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


def load_bookmark(storage: Storage, paths: Paths) -> dict[str, int]:
    raw = storage.read_bytes(paths.bookmark)
    return json.loads(raw)["files"] if raw else {}


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, default=str) + "\n"


def write_journal(storage: Storage, paths: Paths, run_id: str, journal: dict[str, Any]) -> None:
    storage.write_text(join(paths.staging(run_id), JOURNAL), dumps(journal))


# A test hook: called before each swap with its index, so a test can "kill" the run at a chosen point.
before_swap: Callable[[int, dict[str, str]], None] | None = None


def apply(storage: Storage, paths: Paths, run_id: str, journal: dict[str, Any]) -> None:
    """Apply a journal: the swaps, then the bookmark and the run metrics, then delete the staging folder."""
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
            else:
                raise ValueError(f"unknown swap kind {kind!r}")
        storage.write_text(marker, "")
        if staged:
            storage.delete_tree(staged)
    storage.write_text(paths.bookmark, dumps({"version": 1, "files": journal["bookmark"]}))
    storage.write_text(paths.run_file(run_id), dumps(journal["metrics"]))
    storage.delete_tree(staging)


def recover(storage: Storage, paths: Paths) -> list[str]:
    """Finish or discard whatever an interrupted run left in staging; return the run ids rolled forward."""
    recovered = []
    for run_id in storage.list_dirs(paths.staging_root):
        raw = storage.read_bytes(join(paths.staging(run_id), JOURNAL))
        if raw is None:
            log.warning("silver: discarding the incomplete staging of interrupted run %s", run_id)
            storage.delete_tree(paths.staging(run_id))
            continue
        log.warning("silver: completing interrupted run %s from its journal", run_id)
        journal = json.loads(raw)
        journal["metrics"]["recovered"] = True
        apply(storage, paths, run_id, journal)
        recovered.append(run_id)
    return recovered
