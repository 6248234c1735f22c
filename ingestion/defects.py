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
    before = np.searchsorted(clean, positions[needs])  # clean rows earlier than each defect row
    pending = needs[before > 0]
    pending_before = before[before > 0]
    taken = np.empty(0, dtype=np.int64)
    for _ in range(_SOURCE_ROUNDS):  # rounds of re-drawing collisions, not a loop over rows
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


def defect_lines(
    table: pa.Table, plan: DefectPlan, reference: Reference, rng: np.random.Generator
) -> pa.Array:
    """The CSV line (with its newline) of every defect row in ``plan``, in ``plan.positions`` order.

    Duplicates are left to the caller (they must be the byte-exact source line); their entries here are the
    re-rendered source row."""
    k = len(plan)
    gather = np.where(plan.sources >= 0, plan.sources, plan.positions)
    sub = table.take(pa.array(gather))
    cols = [_strings(sub.column(i).combine_chunks()) for i in range(sub.num_columns)]
    order_id, order_date, customer, country, product, quantity, price = range(7)
    kinds = plan.kinds

    def where(kind: str, values: pa.Array | pa.Scalar, column: int, extra: np.ndarray | None = None) -> None:
        mask = kinds == KIND[kind]
        if extra is not None:
            mask &= extra
        if mask.any():
            cols[column] = pc.if_else(pa.array(mask), values, cols[column])

    dates = sub.column(order_date).combine_chunks()
    year, month_day = (
        pc.utf8_slice_codeunits(cols[order_date], 0, 4),
        pc.utf8_slice_codeunits(cols[order_date], 4, 7),
    )
    day = pc.utf8_slice_codeunits(cols[order_date], 8, 10)
    bad_dates = pc.choose(
        pa.array(rng.integers(0, 5, k), type=pa.int8()),
        pc.strftime(dates, format="%d/%m/%Y"),
        pc.binary_join_element_wise(year, "-13-", day, ""),
        pc.binary_join_element_wise(year, month_day, "-32", ""),
        pc.binary_join_element_wise(year, "-02-30", ""),
        pa.array(["not a date"] * k, type=pa.string()),
    )
    where("bad_date", bad_dates, order_date)
    where("non_numeric_quantity", _choice(rng, NON_NUMERIC_QUANTITIES, k), quantity)
    zero = rng.random(k) < 0.5
    where("non_positive_quantity", pa.scalar("0"), quantity, zero)
    where("non_positive_quantity", pc.binary_join_element_wise("-", cols[quantity], ""), quantity, ~zero)
    where("non_positive_price", pa.scalar("0.00"), price, zero)
    where("non_positive_price", pc.binary_join_element_wise("-", cols[price], ""), price, ~zero)
    where("unknown_country", _choice(rng, _unknown(UNKNOWN_COUNTRIES, reference.country_codes), k), country)
    where("unknown_product", _choice(rng, _unknown(UNKNOWN_PRODUCTS, reference.product_codes), k), product)
    bump = pa.array(rng.integers(1, 4, k), type=pa.int32())
    new_quantity = pc.cast(pc.add(sub.column(quantity).combine_chunks(), bump), pa.string())
    where("late_correction", new_quantity, quantity)

    # noise: every noise row gets at least one recoverable change (lower-case codes and/or stray spaces).
    variant = rng.integers(0, 6, k)
    pad = pc.binary_join_element_wise
    where("noise", pc.utf8_lower(cols[country]), country, np.isin(variant, [0, 2]))
    where("noise", pc.utf8_lower(cols[product]), product, np.isin(variant, [1, 2]))
    where("noise", pad(" ", cols[customer], " ", ""), customer, variant == 3)
    where("noise", pad(cols[product], "  ", ""), product, variant == 4)
    where("noise", pad(" ", cols[country], ""), country, variant == 4)
    where("noise", pad(" ", cols[quantity], ""), quantity, variant == 5)
    where("noise", pad(cols[price], " ", ""), price, variant == 5)
    where("noise", pad(" ", cols[order_id], ""), order_id, variant == 5)

    # Field-count defects last, on the already rendered strings: a null field is skipped by the join.
    drop = rng.integers(0, 7, k)
    for column in range(7):  # one pass per column, not per row
        where("missing_field", pa.nulls(k, pa.string()), column, drop == column)
    insert_at = rng.integers(0, 8, k)
    extra = _choice(rng, EXTRA_VALUES, k)
    for column in range(7):
        where("extra_field", pad(extra, cols[column], ","), column, insert_at == column)
    where("extra_field", pad(cols[price], extra, ","), price, insert_at == 7)

    line = pc.binary_join_element_wise(*cols, ",", null_handling="skip")
    return pc.binary_join_element_wise(line, "", "\n")
