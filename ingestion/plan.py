"""What one ingestion run produces: row count, date range, seed, defect rate and how rows split into files."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

MAX_DAYS = 3660
MAX_SEED = 2**63 - 1


@dataclass(frozen=True)
class RunPlan:
    """One run: ``rows`` orders spread over ``days`` days from ``start_date``, in files of ``rows_per_file``.

    Everything generated is a pure function of the plan: same plan, byte-identical files."""

    rows: int
    start_date: dt.date
    days: int
    seed: int
    defect_rate: float = 0.0
    # 0: one file with every row (what one Lambda invocation writes)
    rows_per_file: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.rows, bool) or not isinstance(self.rows, int) or self.rows < 1:
            raise ValueError(f"rows is {self.rows!r}; it must be an integer of 1 or more")
        if not isinstance(self.start_date, dt.date) or isinstance(self.start_date, dt.datetime):
            raise ValueError(f"start_date is {self.start_date!r}; it must be a date")
        if isinstance(self.days, bool) or not isinstance(self.days, int) or not 1 <= self.days <= MAX_DAYS:
            raise ValueError(f"days is {self.days!r}; it must be an integer between 1 and {MAX_DAYS}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed <= MAX_SEED:
            raise ValueError(f"seed is {self.seed!r}; it must be an integer between 0 and 2**63-1")
        rate = self.defect_rate
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not (0.0 <= rate <= 1.0):
            raise ValueError(f"defect_rate is {rate!r}; it must be a number between 0 and 1")
        if (
            isinstance(self.rows_per_file, bool)
            or not isinstance(self.rows_per_file, int)
            or self.rows_per_file < 0
        ):
            raise ValueError(f"rows_per_file is {self.rows_per_file!r}; it must be an integer of 0 or more")

    @property
    def file_rows(self) -> int:
        """Rows per file: ``rows_per_file``, or every row in one file when it is 0."""
        return self.rows_per_file or self.rows

    @property
    def files(self) -> int:
        return math.ceil(self.rows / self.file_rows)

    def chunk(self, index: int) -> tuple[int, int]:
        """(first global row index, row count) of file ``index``."""
        if not 0 <= index < self.files:
            raise IndexError(f"chunk {index} is outside 0..{self.files - 1}")
        first = index * self.file_rows
        return first, min(self.file_rows, self.rows - first)

    @property
    def end_date(self) -> dt.date:
        """The last order date (inclusive)."""
        return self.start_date + dt.timedelta(days=self.days - 1)

    def entropy(self) -> list[int]:
        """What the random streams and the order ids derive from (not the defect rate or file size)."""
        return [self.seed, self.start_date.toordinal(), self.days, self.rows]

    def chunk_rngs(self, index: int) -> tuple[np.random.Generator, np.random.Generator]:
        """Independent (orders, defects) generators for file ``index``: seed-sequence child ``index`` of the plan.

        Defects use their own stream, so the clean orders are the same whatever the defect rate."""
        child = np.random.SeedSequence(self.entropy(), spawn_key=(index,))
        orders, defects = child.spawn(2)
        return np.random.default_rng(orders), np.random.default_rng(defects)
