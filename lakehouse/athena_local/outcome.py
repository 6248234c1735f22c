"""What Athena hands back for one statement: its outcome (rows, update count, statement type) or its failure
(Athena's error text, with the ErrorType and ErrorCategory Athena reports), and the context a query runs in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class AthenaQueryError(Exception):
    """The query FAILED; the message is Athena's error text (ErrorType/ErrorCategory as Athena reports them)."""

    def __init__(
        self, message: str, error_type: int = 1100, category: int = 2, state: str = "FAILED"
    ) -> None:
        super().__init__(message)
        self.error_type, self.category, self.state = error_type, category, state
        # the bytes the query had scanned when it stopped (Athena bills a failed or cancelled query too)
        self.scanned_bytes = 0


@dataclass
class Outcome:
    """What Athena returns for one statement."""

    # DDL | DML | UTILITY
    statement_type: str
    # for the statement log: select, ctas_iceberg, ctas_hive, merge, insert, rename, view, ...
    kind: str
    # (name, DuckDB type)
    columns: list[tuple[str, str]] = field(default_factory=list)
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    update_count: int | None = None
    # Athena's Statistics.DataScannedInBytes: see `scan.py`
    scanned_bytes: int = 0


@dataclass
class Context:
    """Where a query runs: its default database and the results location and workgroup rules in force."""

    database: str
    # the results location in force (the workgroup's when it enforces its settings)
    output_location: str
    enforced: bool
    query_id: str
    # the workgroup's BytesScannedCutoffPerQuery (None: no cutoff)
    bytes_cutoff: int | None = None
