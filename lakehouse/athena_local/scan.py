"""The bytes a statement scans, as Athena bills them (Statistics.DataScannedInBytes), and the workgroup's cutoff.

The definition is the bench's (bench/gold_bytes.py, "Athena-like scanned bytes"): a Parquet file read counts the
compressed bytes of the columns the query reads in the row groups it cannot skip; a text file (an OpenCSV seed)
counts whole. The columns a query reads are the columns it names anywhere, all of them when it selects `*`; a
MERGE, UPDATE or DELETE reads its whole target. What it can skip (`prune`): the partitions outside partition
projection's range, and the partitions, data files and row groups whose values or min/max statistics fail the
simple predicates of its WHERE, as Athena's reader skips them; anything else is counted. A file read twice in one
statement counts twice, as on Athena.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlglot import exp

from lakehouse.athena_local.outcome import AthenaQueryError
from lakehouse.athena_local.prune import Bound, Stats, excluded

# Athena cancels a query over the workgroup's per-query cutoff ("If any query that runs in the workgroup exceeds
# the limit, it is canceled": docs.aws.amazon.com/athena/latest/ug/workgroups-setting-control-limits-cloudwatch
# .html); the query's state is CANCELLED and its StateChangeReason this sentence, as Athena reports it.
CUTOFF_EXCEEDED = "Bytes scanned limit was exceeded"


@dataclass(frozen=True)
class RowGroup:
    """One row group of a Parquet file: each top-level column's compressed bytes, and the min and max of each
    top-level column whose statistics it holds."""

    sizes: dict[str, int]
    stats: Stats = field(default_factory=dict)


def _min_max(column: Any) -> tuple[Any, Any] | None:
    statistics = column.statistics
    if statistics is None or not statistics.has_min_max:
        return None
    try:
        return statistics.min, statistics.max
    # a physical type pyarrow cannot turn into a value: no statistics, the row group is read
    except (pa.ArrowException, ValueError, TypeError):
        return None


def parquet_row_groups(data: bytes) -> tuple[RowGroup, ...]:
    """The row groups of a Parquet object, with their column sizes and statistics."""
    metadata = pq.ParquetFile(pa.BufferReader(data)).metadata
    groups = []
    for group in range(metadata.num_row_groups):
        row_group = metadata.row_group(group)
        sizes: dict[str, int] = {}
        stats: Stats = {}
        for index in range(row_group.num_columns):
            column = row_group.column(index)
            name = column.path_in_schema.split(".", 1)[0].lower()
            sizes[name] = sizes.get(name, 0) + int(column.total_compressed_size)
            bounds = _min_max(column) if "." not in column.path_in_schema else None
            if bounds is not None:
                stats[name] = bounds
        groups.append(RowGroup(sizes, stats))
    return tuple(groups)


def columns_read(query: exp.Expression) -> set[str] | None:
    """The column names a statement reads (None: every column, for a `select *` or `t.*`)."""
    for star in query.find_all(exp.Star):
        # count(*) reads no column; a select list's * or t.* reads them all
        if isinstance(star.parent, exp.Select | exp.Column):
            return None
    return {column.name.lower() for column in query.find_all(exp.Column)}


class Meter:
    """The bytes scanned by each thread's current statement, checked against its cutoff as they are read."""

    def __init__(self) -> None:
        self._local = threading.local()

    def begin(self, cutoff: int | None) -> None:
        """A new statement: nothing scanned yet, every column wanted until the statement names its columns."""
        self._local.scanned, self._local.cutoff, self._local.wanted = 0, cutoff, None

    @property
    def scanned(self) -> int:
        return int(getattr(self._local, "scanned", 0))

    def want(self, columns: set[str] | None, add: bool = False) -> None:
        """The columns the statement reads (`add`: also those of a view it inlines)."""
        current = getattr(self._local, "wanted", None)
        if add and columns is not None and current is not None:
            columns = current | columns
        elif add:
            columns = None
        self._local.wanted = columns

    def read_parquet(
        self, groups: Sequence[RowGroup], bounds: Sequence[Bound] = (), partition: Stats | None = None
    ) -> None:
        """A Parquet file read: the compressed bytes of the wanted columns in the row groups the statement's
        bounds on this table cannot skip (none when the file's partition values fail them)."""
        if partition and excluded(partition, bounds):
            return
        wanted = getattr(self._local, "wanted", None)
        self.read(
            sum(
                size
                for group in groups
                if not excluded(group.stats, bounds)
                for name, size in group.sizes.items()
                if wanted is None or name in wanted
            )
        )

    def read(self, size: int) -> None:
        """`size` more bytes read; the cutoff's cancellation once the statement's total passes it."""
        self._local.scanned = self.scanned + size
        cutoff = getattr(self._local, "cutoff", None)
        if cutoff is not None and self._local.scanned > cutoff:
            raise AthenaQueryError(CUTOFF_EXCEEDED, state="CANCELLED")
