"""CSV bytes from order columns, without a Python loop per row and without a CSV writer.

Every field is either fixed-width (order id, date, customer) or one of a few values (country, product,
quantity, price), whose text comes from a small table. A block of rows is laid out as a byte matrix with each
field left-aligned in a slot as wide as its longest value; a mask of the bytes in use, gathered from the same
tables, squeezes the padding out in one ``matrix[mask]``. Defect lines are then spliced in with Arrow."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.defects import KIND, DefectPlan
from ingestion.generator import COLUMNS, MAX_QUANTITY, ORDER_ID_HEX, OrderColumns, digits8, tables
from ingestion.reference import Reference

HEADER = (",".join(COLUMNS) + "\n").encode("ascii")
# a block's matrix stays in cache (about 2 MB)
BLOCK_ROWS = 32_768
_COMMA, _NEWLINE = ord(","), ord("\n")


@dataclass(frozen=True)
class TextTable:
    """The text of a small domain of values: (k, width) ASCII, (k, width) in-use mask, (k,) lengths."""

    text: np.ndarray
    used: np.ndarray
    length: np.ndarray

    @classmethod
    def of(cls, values: list[str]) -> TextTable:
        encoded = [v.encode("ascii") for v in values]
        width = max(len(v) for v in encoded)
        text = np.zeros((len(encoded), width), dtype=np.uint8)
        length = np.array([len(v) for v in encoded], dtype=np.int64)
        # one per distinct value, not per row
        for i, value in enumerate(encoded):
            text[i, : len(value)] = np.frombuffer(value, dtype=np.uint8)
        return cls(text, np.arange(width)[None, :] < length[:, None], length)

    @property
    def width(self) -> int:
        return self.text.shape[1]


@dataclass(frozen=True, eq=False)
class RowTables:
    """Text of ``country,product`` (index country * products + product) and ``quantity,unit_price``
    (index quantity * prices + price): two variable-width slots per row instead of four."""

    place: TextTable
    amount: TextTable
    products: int
    prices: int


@functools.lru_cache(maxsize=8)
def row_tables(reference: Reference) -> RowTables:
    prices = [f"{c // 100}.{c % 100:02d}" for c in tables(reference).price_cents.tolist()]
    return RowTables(
        place=TextTable.of([f"{c},{p}" for c in reference.country_codes for p in reference.product_codes]),
        amount=TextTable.of([f"{q},{price}" for q in range(MAX_QUANTITY + 1) for price in prices]),
        products=len(reference.product_codes),
        prices=len(prices),
    )


@functools.lru_cache(maxsize=32)
def date_text(start_date: dt.date, days: int) -> np.ndarray:
    """(days + 1, 10) ASCII ISO dates from ``start_date``."""
    first = np.datetime64(start_date.isoformat(), "D")
    iso = np.datetime_as_string(first + np.arange(days + 1), unit="D").astype("S10")
    return np.frombuffer(iso.tobytes(), dtype=np.uint8).reshape(-1, 10)


def render_rows(columns: OrderColumns, reference: Reference) -> tuple[np.ndarray, np.ndarray]:
    """(CSV data lines as uint8, length of each line including its newline)."""
    n = len(columns)
    text = row_tables(reference)
    dates = date_text(columns.start_date, int(columns.day.max(initial=0)) + 1)
    place = columns.country.astype(np.int64) * text.products + columns.product
    amount = columns.quantity.astype(np.int64) * text.prices + columns.price
    # slots: id , date , C+digits , country,product , quantity,price \n
    slots = [ORDER_ID_HEX, 10, 9, text.place.width, text.amount.width]
    starts = np.concatenate([[0], np.cumsum(np.array(slots) + 1)])[:-1].tolist()
    width = sum(slots) + len(slots)
    # fixed-width fields plus every separator
    fixed = ORDER_ID_HEX + 10 + 9 + len(slots)
    lengths = fixed + text.place.length[place] + text.amount.length[amount]
    out = np.empty(int(lengths.sum()), dtype=np.uint8)

    matrix = np.zeros((min(n, BLOCK_ROWS), width), dtype=np.uint8)
    used = np.zeros(matrix.shape, dtype=bool)
    # separators and the fixed-width slots never change
    for slot, start in enumerate(starts):
        end = start + slots[slot]
        matrix[:, end] = _NEWLINE if slot == len(slots) - 1 else _COMMA
        used[:, end] = True
        if slot < 3:
            used[:, start:end] = True
    matrix[:, starts[2]] = ord("C")
    variable = [(starts[3], text.place, place), (starts[4], text.amount, amount)]
    position = 0
    # one pass per block of rows
    for first in range(0, n, BLOCK_ROWS):
        last = min(first + BLOCK_ROWS, n)
        m, u = matrix[: last - first], used[: last - first]
        m[:, starts[0] : starts[0] + ORDER_ID_HEX] = columns.order_id[first:last]
        m[:, starts[1] : starts[1] + 10] = np.take(dates, columns.day[first:last], axis=0)
        m[:, starts[2] + 1 : starts[2] + 9] = digits8(columns.customer[first:last])
        for start, table, index in variable:
            block = index[first:last]
            # faster than text[block]
            m[:, start : start + table.width] = np.take(table.text, block, axis=0)
            u[:, start : start + table.width] = np.take(table.used, block, axis=0)
        packed = m[u]
        out[position : position + len(packed)] = packed
        position += len(packed)
    return out, lengths


def lines_array(data: np.ndarray, lengths: np.ndarray) -> pa.Array:
    """The rendered rows as an Arrow string array of lines (each with its newline), sharing ``data``."""
    large = len(data) >= 2**31
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64 if large else np.int32)
    np.cumsum(lengths, out=offsets[1:])
    kind = pa.LargeStringArray if large else pa.StringArray
    return kind.from_buffers(len(lengths), pa.py_buffer(offsets), pa.py_buffer(data))


def _data(lines: pa.Array) -> pa.Buffer:
    offsets = np.frombuffer(
        lines.buffers()[1], dtype=np.int64 if pa.types.is_large_string(lines.type) else np.int32
    )
    first, last = int(offsets[lines.offset]), int(offsets[lines.offset + len(lines)])
    return lines.buffers()[2][first:last]


def splice(data: np.ndarray, lengths: np.ndarray, plan: DefectPlan, replacement: pa.Array) -> memoryview:
    """The lines with those at ``plan.positions`` replaced; duplicates copy their source line byte for byte."""
    if len(plan) == 0:
        return memoryview(data)
    lines = lines_array(data, lengths)
    replacement = replacement.cast(lines.type)
    duplicates = plan.kinds == KIND["duplicate"]
    if duplicates.any():
        exact = lines.take(pa.array(np.where(duplicates, plan.sources, 0)))
        replacement = pc.if_else(pa.array(duplicates), exact, replacement)
    mask = np.zeros(len(lengths), dtype=bool)
    mask[plan.positions] = True
    return memoryview(_data(pc.replace_with_mask(lines, pa.array(mask), replacement)))
