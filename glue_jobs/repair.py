"""Repairs that never delete what bronze can no longer rebuild.

Bronze expires (90 days in dev, 365 in prod), silver does not. So:

* a **full refresh**, which rebuilds silver from bronze alone, is refused (one line, silver untouched) when silver
  or its quarantine holds rows of bronze files that are gone: it would drop them (:func:`refusal`);
* a **repair window** (``--from-date/--to-date``, on bronze's ``ingest_date``) reads the bronze files landed on those
  days again, whole, whatever the bookmark says, and merges them as any run does: their rows replace the ones they
  gave before (a row read again outranks its own older copy), the quarantine rows of those files are replaced as
  a unit, and no partition is dropped that the run did not rebuild. Its cost is that of an incremental run over as
  many days, so a repair fits the job's timeout at any history length.

Pure functions: the runner gives them what it listed and read.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

INGEST_FOLDER = re.compile(r"ingest_date=(\d{4}-\d{2}-\d{2})")
# how many partitions and files a refusal names before it says "and N more"
SHOWN = 3


@dataclass(frozen=True)
class Window:
    """Bronze ingest days to read again: ``first`` to ``last``, both included; None leaves that side open."""

    first: dt.date | None = None
    last: dt.date | None = None

    def __post_init__(self) -> None:
        if self.first and self.last and self.first > self.last:
            raise ValueError(f"the repair window starts ({self.first}) after it ends ({self.last})")

    def holds(self, day: dt.date | None) -> bool:
        return (
            day is not None
            and (self.first is None or day >= self.first)
            and (self.last is None or day <= self.last)
        )

    def describe(self) -> str:
        return f"{self.first or '…'}..{self.last or '…'}"


def ingest_day(relative_path: str) -> dt.date | None:
    """A bronze file's ingest day, as the job reads it (``glue_jobs.bronze``): its ``ingest_date=`` folder, else the
    stamp in its name; None if neither is there."""
    folder = INGEST_FOLDER.search(relative_path)
    if folder:
        return _date(folder.group(1))
    # (imported here: the Glue entry script parses its arguments with this module before Spark is imported)
    from glue_jobs.bronze import FILE_TIME

    stamp = FILE_TIME.search(relative_path.rsplit("/", 1)[-1])
    return _date(f"{stamp.group(1)[:4]}-{stamp.group(1)[4:6]}-{stamp.group(1)[6:8]}") if stamp else None


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def lost_partitions(sources: dict[str, set[str]], bronze_names: set[str]) -> dict[str, set[str]]:
    """Each partition (value -> the source files of its rows) holding rows of a file bronze no longer has, with
    those files: what a rebuild from bronze would lose."""
    lost = {value: files - bronze_names for value, files in sources.items()}
    return {value: files for value, files in sorted(lost.items()) if files}


class RefreshRefused(RuntimeError):
    """A full refresh would drop silver rows whose bronze files are gone; nothing was changed."""


def refusal(losses: dict[str, dict[str, set[str]]]) -> RefreshRefused | None:
    """The one-line refusal of a full refresh, given each table's :func:`lost_partitions` (None: nothing lost)."""
    parts = [f"{len(lost)} {table} partitions ({_some(lost)})" for table, lost in losses.items() if lost]
    if not parts:
        return None
    gone = sorted({name for lost in losses.values() for files in lost.values() for name in files})
    return RefreshRefused(
        f"silver full refresh refused: {' and '.join(parts)} hold rows of {len(gone)} bronze files that are gone "
        f"(expired?) ({_some(gone)}), which a rebuild from bronze would drop; silver is untouched: repair the "
        "ingest days that need it with --from-date/--to-date (Glue: --from_date/--to_date) instead"
    )


def _some(names: dict[str, set[str]] | list[str]) -> str:
    shown = list(names)[:SHOWN]
    more = len(names) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more else "")
