"""Named kinds of bad rows, injected on request, with an answer key of where each one is.

Every kind is built from a clean generated order, so a defect row differs from a good row only by its defect:
- ``missing_field``: one field dropped (6 fields); ``extra_field``: one field added (8 fields);
- ``bad_date``: an order_date that is not an ISO date (dd/mm/yyyy, month 13, day 32, Feb 30, text);
- ``non_numeric_quantity``, ``non_positive_quantity`` (0 or negative), ``non_positive_price`` (0.00 or negative);
- ``unknown_country`` / ``unknown_product``: codes that are not in the reference data, even upper-cased;
- ``noise``: recoverable: stray spaces around fields and/or lower-case country/product codes;
- ``duplicate``: an exact copy of an earlier clean row of the same file;
- ``late_correction``: an earlier clean order re-sent later in the same file with a different quantity.
A row has at most one kind; a clean row is the source of at most one duplicate or correction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.reference import Reference

DEFECT_KINDS = (
    "missing_field",
    "extra_field",
    "bad_date",
    "non_numeric_quantity",
    "non_positive_quantity",
    "non_positive_price",
    "unknown_country",
    "unknown_product",
    "noise",
    "duplicate",
    "late_correction",
)
KIND = {name: code for code, name in enumerate(DEFECT_KINDS)}
# Kinds a cleaning job recovers (the row is a valid order after trim/upper, or a re-send of one).
RECOVERABLE = frozenset({"noise", "duplicate", "late_correction"})
NON_NUMERIC_QUANTITIES = ("abc", "two", "3x", "N/A", "#")
EXTRA_VALUES = ("", "gift", "PROMO10", "note: leave at door", "1")
UNKNOWN_COUNTRIES = ("XX", "ZZ", "UK", "EU", "QQ")
UNKNOWN_PRODUCTS = ("P999", "P000", "X001", "SKU-42", "P0001")
_SOURCE_ROUNDS = 16


@dataclass(frozen=True)
class DefectPlan:
    """Defect rows of one file: 0-based ``positions`` (ascending), their ``kinds`` (index into `DEFECT_KINDS`)
    and, for duplicate / late_correction, the 0-based clean ``sources`` row they copy (-1 otherwise)."""

    positions: np.ndarray
    kinds: np.ndarray
    sources: np.ndarray

    def rows(self, kind: str) -> list[int]:
        """1-based data row numbers of ``kind``."""
        return (self.positions[self.kinds == KIND[kind]] + 1).tolist()

    def source_rows(self, kind: str) -> list[int]:
        """1-based source rows of the ``kind`` rows, in the same order as `rows`."""
        return (self.sources[self.kinds == KIND[kind]] + 1).tolist()

    def counts(self) -> dict[str, int]:
        tally = np.bincount(self.kinds, minlength=len(DEFECT_KINDS))
        return {kind: int(tally[code]) for code, kind in enumerate(DEFECT_KINDS)}

    def __len__(self) -> int:
        return len(self.positions)


def no_defects() -> DefectPlan:
    empty = np.empty(0, dtype=np.int64)
    return DefectPlan(empty, np.empty(0, dtype=np.int8), empty)


def plan_defects(rows: int, rate: float, rng: np.random.Generator) -> DefectPlan:
    """Pick ``round(rate * rows)`` rows and spread them evenly over the kinds (the remainder goes to random kinds).

    duplicate / late_correction rows need an earlier clean row to copy; where there is none (a defect in
    the first rows, or rate close to 1) the row becomes ``noise`` instead, so counts stay truthful."""
    total = int(np.floor(rate * rows + 0.5))
    if total == 0:
        return no_defects()
    positions = np.sort(rng.choice(rows, size=total, replace=False)).astype(np.int64)
    per_kind = np.full(len(DEFECT_KINDS), total // len(DEFECT_KINDS), dtype=np.int64)
    per_kind[rng.permutation(len(DEFECT_KINDS))[: total % len(DEFECT_KINDS)]] += 1
    kinds = rng.permutation(np.repeat(np.arange(len(DEFECT_KINDS), dtype=np.int8), per_kind))
    sources = _pick_sources(rows, positions, kinds, rng)
    kinds[(sources < 0) & np.isin(kinds, [KIND["duplicate"], KIND["late_correction"]])] = KIND["noise"]
    return DefectPlan(positions, kinds, sources)


def _pick_sources(
    rows: int, positions: np.ndarray, kinds: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """A distinct earlier clean row for every duplicate / late_correction (-1 where none could be found)."""
    sources = np.full(len(positions), -1, dtype=np.int64)
    needs = np.flatnonzero(np.isin(kinds, [KIND["duplicate"], KIND["late_correction"]]))
    if needs.size == 0:
        return sources
    is_clean = np.ones(rows, dtype=bool)
    is_clean[positions] = False
    clean = np.flatnonzero(is_clean)
    # clean rows earlier than each defect row
    before = np.searchsorted(clean, positions[needs])
    pending = needs[before > 0]
    pending_before = before[before > 0]
    taken = np.empty(0, dtype=np.int64)
    # rounds of re-drawing collisions, not a loop over rows
    for _ in range(_SOURCE_ROUNDS):
        if pending.size == 0:
            break
        candidate = clean[(rng.random(pending.size) * pending_before).astype(np.int64)]
        _, first = np.unique(candidate, return_index=True)
        accept = np.zeros(pending.size, dtype=bool)
        accept[first] = True
        accept &= ~np.isin(candidate, taken)
        sources[pending[accept]] = candidate[accept]
        taken = np.concatenate([taken, candidate[accept]])
        pending, pending_before = pending[~accept], pending_before[~accept]
    return sources


def _strings(column: pa.Array) -> pa.Array:
    return column if pa.types.is_string(column.type) else pc.cast(column, pa.string())


def _choice(rng: np.random.Generator, values: tuple[str, ...], size: int) -> pa.Array:
    return pa.array(values, type=pa.string()).take(pa.array(rng.integers(0, len(values), size)))


def _unknown(candidates: tuple[str, ...], known: tuple[str, ...]) -> tuple[str, ...]:
    upper = set(known)
    return tuple(c for c in candidates if c.upper() not in upper)


# the 7 string columns of the rows of one kind, changed in place
Fields = list[pa.Array]


def _missing_field(f: Fields, rows: pa.Table, reference: Reference, rng: np.random.Generator) -> None:
    drop = rng.integers(0, len(f), len(f[0]))
    # one pass per column, not per row: a null field is skipped by the join
    for column in range(len(f)):
        f[column] = pc.if_else(pa.array(drop == column), pa.scalar(None, pa.string()), f[column])


def _extra_field(f: Fields, rows: pa.Table, reference: Reference, rng: np.random.Generator) -> None:
    n = len(f[0])
    insert_at, extra = rng.integers(0, len(f) + 1, n), _choice(rng, EXTRA_VALUES, n)
    for column in range(len(f)):
        f[column] = pc.if_else(
            pa.array(insert_at == column), pc.binary_join_element_wise(extra, f[column], ","), f[column]
        )
    last = len(f) - 1
    f[last] = pc.if_else(
        pa.array(insert_at == len(f)), pc.binary_join_element_wise(f[last], extra, ","), f[last]
    )


def _bad_date(f: Fields, rows: pa.Table, reference: Reference, rng: np.random.Generator) -> None:
    date = f[1]
    year, month = pc.utf8_slice_codeunits(date, 0, 4), pc.utf8_slice_codeunits(date, 4, 7)
    day, join = pc.utf8_slice_codeunits(date, 8, 10), pc.binary_join_element_wise
    f[1] = pc.choose(
        pa.array(rng.integers(0, 5, len(date)), type=pa.int8()),
        pc.strftime(rows.column("order_date").combine_chunks(), format="%d/%m/%Y"),
        join(year, "-13-", day, ""),
        join(year, month, "-32", ""),
        join(year, "-02-30", ""),
        pa.array(["not a date"] * len(date), type=pa.string()),
    )


def _non_numeric_quantity(f: Fields, rows: pa.Table, reference: Reference, rng: np.random.Generator) -> None:
    f[5] = _choice(rng, NON_NUMERIC_QUANTITIES, len(f[5]))


def _negative_or(zero: str, column: int) -> Mutator:
    def mutate(f: Fields, rows: pa.Table, reference: Reference, rng: np.random.Generator) -> None:
        negative = pc.binary_join_element_wise("-", f[column], "")
        f[column] = pc.if_else(pa.array(rng.random(len(f[column])) < 0.5), pa.scalar(zero), negative)

    return mutate


def _unknown_country(f: Fields, rows: pa.Table, reference: Reference, rng: np.random.Generator) -> None:
    f[3] = _choice(rng, _unknown(UNKNOWN_COUNTRIES, reference.country_codes), len(f[3]))


def _unknown_product(f: Fields, rows: pa.Table, reference: Reference, rng: np.random.Generator) -> None:
    f[4] = _choice(rng, _unknown(UNKNOWN_PRODUCTS, reference.product_codes), len(f[4]))


def _noise(f: Fields, rows: pa.Table, reference: Reference, rng: np.random.Generator) -> None:
    """At least one recoverable change per row: lower-case codes and/or stray spaces."""
    variant, pad = rng.integers(0, 6, len(f[0])), pc.binary_join_element_wise

    def change(column: int, when: np.ndarray, value: pa.Array) -> None:
        f[column] = pc.if_else(pa.array(when), value, f[column])

    change(3, np.isin(variant, [0, 2]), pc.utf8_lower(f[3]))
    change(4, np.isin(variant, [1, 2]), pc.utf8_lower(f[4]))
    change(2, variant == 3, pad(" ", f[2], " ", ""))
    change(4, variant == 4, pad(f[4], "  ", ""))
    change(3, variant == 4, pad(" ", f[3], ""))
    change(5, variant == 5, pad(" ", f[5], ""))
    change(6, variant == 5, pad(f[6], " ", ""))
    change(0, variant == 5, pad(" ", f[0], ""))


def _late_correction(f: Fields, rows: pa.Table, reference: Reference, rng: np.random.Generator) -> None:
    bump = pa.array(rng.integers(1, 4, len(f[5])), type=pa.int32())
    f[5] = pc.cast(pc.add(rows.column("quantity").combine_chunks(), bump), pa.string())


def _unchanged(f: Fields, rows: pa.Table, reference: Reference, rng: np.random.Generator) -> None:
    """duplicate: the caller copies the source line byte for byte."""


Mutator = Callable[[Fields, pa.Table, Reference, np.random.Generator], None]
MUTATORS: dict[str, Mutator] = {
    "missing_field": _missing_field,
    "extra_field": _extra_field,
    "bad_date": _bad_date,
    "non_numeric_quantity": _non_numeric_quantity,
    "non_positive_quantity": _negative_or("0", 5),
    "non_positive_price": _negative_or("0.00", 6),
    "unknown_country": _unknown_country,
    "unknown_product": _unknown_product,
    "noise": _noise,
    "duplicate": _unchanged,
    "late_correction": _late_correction,
}


def defect_lines(
    rows: pa.Table, plan: DefectPlan, reference: Reference, rng: np.random.Generator
) -> pa.Array:
    """The CSV line (with its newline) of every defect row in ``plan``, in ``plan.positions`` order.

    ``rows`` holds, for each defect row, the clean order it is made from: the row itself, or for duplicate /
    late_correction the source row. Each kind changes only its own rows (one vectorised pass per kind)."""
    rows = rows.combine_chunks()
    text = [_strings(column.combine_chunks()) for column in rows.columns]
    pieces: list[pa.Array] = []
    order: list[np.ndarray] = []
    for code, kind in enumerate(DEFECT_KINDS):
        index = np.flatnonzero(plan.kinds == code)
        if index.size == 0:
            continue
        take = pa.array(index)
        fields = [column.take(take) for column in text]
        MUTATORS[kind](fields, rows.take(take), reference, rng)
        line = pc.binary_join_element_wise(*fields, ",", null_handling="skip")
        pieces.append(pc.binary_join_element_wise(line, "", "\n"))
        order.append(index)
    inverse = np.empty(len(plan), dtype=np.int64)
    inverse[np.concatenate(order)] = np.arange(len(plan))
    return pa.concat_arrays(pieces).take(pa.array(inverse))
