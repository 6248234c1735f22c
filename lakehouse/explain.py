"""A failed stage as one line: the root cause (not a stack trace, not Spark's Java chain) and what to do."""

from __future__ import annotations

import errno
from typing import Any

DISK_FULL = "No space left on device"


class StageError(RuntimeError):
    """A stage could not finish; the message says what failed and what to do."""


def _java_causes(exc: BaseException) -> list[Any]:
    """The chain of Java exceptions behind a Py4J or PySpark error (outermost first); [] for a Python error."""
    java = getattr(exc, "java_exception", None) or getattr(exc, "_origin", None)
    chain = []
    while java is not None and len(chain) < 50:
        chain.append(java)
        java = java.getCause()
    return chain


def _first_line(text: str) -> str:
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    return lines[0] if lines else ""


def explain(name: str, exc: BaseException) -> str:
    """One line for a stage's failure: the root cause (not a stack trace) and what to do about it."""
    causes = [_first_line(str(java.toString())) for java in _java_causes(exc)]
    text = " | ".join([str(exc), *causes])
    if (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or DISK_FULL in text:
        where = getattr(exc, "filename", None) or ""
        return (
            f"{name} failed: the disk is full ({DISK_FULL}{': ' + str(where) if where else ''}); nothing was "
            f"committed: free some space, then run `lakehouse {name}` again"
        )
    if causes:
        return f"{name} failed in Spark: {causes[-1]} (Spark's log: <lake>/_runs/silver/spark.log)"
    return f"{name} failed: {_first_line(str(exc)) or type(exc).__name__}"
