"""The silver table's state on storage, typed: where it lives (:class:`Paths`), a commit's :class:`Swap` steps
and its :class:`Journal`, and the JSON they are written as.

The JSON is the format every lake already holds: a journal is ``{"swaps": [...], "metrics": {...}}`` and a swap
``{"kind": ..., "target": ..., "staged": ...}`` (``staged`` absent from a ``delete``), written with sorted keys
and an indent of 2. A file that does not parse, or does not hold that shape, raises :class:`StateError`, which
names the file and the repair.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal, get_args

from glue_jobs.storage import Storage, join

STAGING = "_staging"
JOURNAL = "_journal.json"
BOOKMARK = "bookmark.json"
REPAIR = "rebuild silver and its state from all of bronze with `lakehouse silver --full-refresh` (Glue: --full_refresh true)"
SwapKind = Literal["replace", "delete", "add_files", "put_file"]
SWAP_KINDS: tuple[str, ...] = get_args(SwapKind)


class StateError(RuntimeError):
    """A state file of the job is damaged: the run stops before reading anything; the message names the repair."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"silver state file {path} is damaged ({problem}); {REPAIR}")


@dataclass(frozen=True)
class Paths:
    """Where the table's data (``silver``), state (``state``: bookmark, order index, lease) and run files are."""

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


@dataclass(frozen=True)
class Swap:
    """One step of a commit. ``replace``: the staged folder's files replace the target folder's; ``add_files``:
    they join it; ``delete``: the target goes; ``put_file``: the staged file replaces the target file."""

    kind: SwapKind
    target: str
    staged: str = ""

    def __post_init__(self) -> None:
        if self.kind not in SWAP_KINDS:
            raise ValueError(f"unknown swap kind {self.kind!r}; one of {', '.join(SWAP_KINDS)}")
        if not self.target:
            raise ValueError(f"a {self.kind} swap needs a target")
        if self.kind != "delete" and not self.staged:
            raise ValueError(f"a {self.kind} swap needs what it puts in place (staged)")

    @classmethod
    def replace(cls, staged: str, target: str) -> Swap:
        return cls("replace", target, staged)

    @classmethod
    def delete(cls, target: str) -> Swap:
        return cls("delete", target)

    @classmethod
    def put_file(cls, staged: str, target: str) -> Swap:
        return cls("put_file", target, staged)

    def to_dict(self) -> dict[str, str]:
        out = {"kind": self.kind, "target": self.target}
        return {**out, "staged": self.staged} if self.staged else out

    @classmethod
    def from_dict(cls, data: Any) -> Swap:
        """A swap as a journal holds it; ValueError when it is not one."""
        if not isinstance(data, dict) or not all(isinstance(data.get(k, ""), str) for k in data):
            raise ValueError("a swap is an object of strings")
        return cls(data.get("kind", ""), data.get("target", ""), data.get("staged", ""))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Journal:
    """A run's commit: the swaps in the order they are applied, and the run's metrics (its run file)."""

    swaps: tuple[Swap, ...]
    metrics: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"swaps": [s.to_dict() for s in self.swaps], "metrics": self.metrics}

    @classmethod
    def from_dict(cls, data: Any) -> Journal:
        """A journal as written on storage; ValueError when it is not one."""
        swaps = data.get("swaps") if isinstance(data, dict) else None
        if not isinstance(swaps, list) or not isinstance(data.get("metrics"), dict):
            raise ValueError("'swaps' is not a list or 'metrics' not an object")
        return cls(tuple(Swap.from_dict(s) for s in swaps), data["metrics"])

    def recovered(self) -> Journal:
        """The same commit, its metrics marked as completed by a later run."""
        return Journal(self.swaps, {**self.metrics, "recovered": True})


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, default=str) + "\n"


def read_json(storage: Storage, path: str) -> Any:
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


def write_journal(storage: Storage, paths: Paths, run_id: str, journal: Journal) -> None:
    storage.write_text(paths.journal(run_id), dumps(journal.to_dict()))


def read_journal(storage: Storage, paths: Paths, run_id: str) -> Journal | None:
    """A staged run's journal (None: the run never reached its commit point); StateError when damaged."""
    path = paths.journal(run_id)
    data = read_json(storage, path)
    if data is None:
        return None
    try:
        return Journal.from_dict(data)
    except ValueError as exc:
        raise StateError(path, f"expected 'swaps' (a list of known swaps) and 'metrics': {exc}") from None
