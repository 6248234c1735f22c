"""Vectorised order generator: numpy arrays per file, no Python loop per row.

Shape of the data:
- volume per day follows a weekday pattern, a seasonal curve (November/December peak, Black Friday and Cyber
  Monday spikes, a January/February dip) and a gentle growth trend; whole-run day counts are fixed first, so
  the files of a run together cover the date range exactly, in date order;
- customers come from a pool that grows over the run (new customers appear over time) and are drawn with a
  power law, so a few customers buy very often and most rarely; a customer always lives in the same country
  (countries weighted by ``order_weight`` over customers);
- products are weighted by ``popularity_weight``; ``unit_price`` is the list price less an occasional
  discount, in whole cents; cheap products sell in larger quantities.

Weighted draws use 16-bit look-up tables (probabilities exact to 1/65536), all fed by one raw 64-bit draw per
row, which is several times faster than ``Generator.choice``.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ingestion.plan import RunPlan
from ingestion.reference import Reference

COLUMNS = ("order_id", "order_date", "customer_id", "country", "product", "quantity", "unit_price")
# 80 bits: unique within a run by construction, ~1e-6 collision odds across 1e9 orders
ORDER_ID_HEX = 20
CUSTOMER_DIGITS = 8
MAX_CUSTOMERS = 10**CUSTOMER_DIGITS - 1
# customer index = pool * u**skew: the larger, the more orders go to the top customers
CUSTOMER_SKEW = 2.0
MAX_QUANTITY = 20
DISCOUNT_PERCENT = np.array([0, 5, 10, 15, 20, 30], dtype=np.int64)
DISCOUNT_PROBABILITY = np.array([0.64, 0.12, 0.11, 0.06, 0.05, 0.02])
# Monday .. Sunday
WEEKDAY_FACTOR = np.array([0.96, 0.93, 0.94, 0.97, 1.04, 1.10, 1.06])
MONTH_FACTOR = np.array([0.82, 0.80, 0.92, 0.95, 0.98, 0.94, 0.91, 0.95, 0.98, 1.04, 1.28, 1.42])
# fixed, so a customer keeps its country across runs and seeds
_COUNTRY_SALT = 0x5EED_C0DE_C0FF_EE11
_EPOCH = dt.date(1970, 1, 1)
_LUT_BITS = 16
# Four characters for every 16-bit value (hex) / 4-digit number (decimal), one uint32 per entry.
_HEX4 = np.frombuffer(b"".join(f"{i:04x}".encode() for i in range(65536)), dtype=np.uint32)
_DEC4 = np.frombuffer(b"".join(f"{i:04d}".encode() for i in range(10000)), dtype=np.uint32)

SCHEMA = pa.schema(
    [
        ("order_id", pa.string()),
        ("order_date", pa.date32()),
        ("customer_id", pa.string()),
        ("country", pa.dictionary(pa.int16(), pa.string())),
        ("product", pa.dictionary(pa.int16(), pa.string())),
        ("quantity", pa.int32()),
        ("unit_price", pa.decimal128(10, 2)),
    ]
)


def mix64(values: np.ndarray, *, inplace: bool = False) -> np.ndarray:
    """SplitMix64 finaliser: a bijection on uint64, so distinct inputs give distinct outputs.

    ``inplace`` reuses ``values`` (a uint64 array the caller no longer needs) instead of copying it."""
    z = values if inplace and values.dtype == np.uint64 else values.astype(np.uint64)
    z += np.uint64(0x9E3779B97F4A7C15)
    z ^= z >> np.uint64(30)
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(27)
    z *= np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return z


def day_weights(start_date: dt.date, days: int) -> np.ndarray:
    """Relative order volume of each day: weekday x season x holiday spikes x growth trend."""
    ordinals = np.arange(days, dtype=np.int64) + (start_date - _EPOCH).days
    dates = ordinals.astype("datetime64[D]")
    # 0 = January
    month = dates.astype("datetime64[M]").astype(np.int64) % 12
    day_of_month = (dates - dates.astype("datetime64[M]")).astype(np.int64) + 1
    # 1970-01-01 was a Thursday; 0 = Monday
    weekday = (ordinals + 3) % 7
    weight = WEEKDAY_FACTOR[weekday] * MONTH_FACTOR[month]
    black_friday = (month == 10) & (weekday == 4) & (day_of_month >= 23) & (day_of_month <= 29)
    cyber_monday = (weekday == 0) & (
        ((month == 10) & (day_of_month >= 26)) | ((month == 11) & (day_of_month <= 2))
    )
    weight = weight * np.where(black_friday, 2.6, 1.0) * np.where(cyber_monday, 1.9, 1.0)
    return weight * (1.0 + 0.15 * np.arange(days) / max(days - 1, 1))


def _largest_remainder(weights: np.ndarray, total: int, *, at_least_one: bool = False) -> np.ndarray:
    """Integer counts proportional to ``weights`` summing exactly to ``total`` (ties broken by position)."""
    exact = total * weights / weights.sum()
    counts = np.floor(exact).astype(np.int64)
    if at_least_one:
        counts = np.maximum(counts, (weights > 0).astype(np.int64))
    short = total - int(counts.sum())
    if short > 0:
        counts[np.argsort(-(exact - counts), kind="stable")[:short]] += 1
    # only with at_least_one: take the excess from the largest counts
    elif short < 0:
        counts[np.argsort(-counts, kind="stable")[:-short]] -= 1
    return counts


@functools.lru_cache(maxsize=32)
def _day_ends(rows: int, start_date: dt.date, days: int) -> np.ndarray:
    """Cumulative row counts per day for a whole run, summing to ``rows``."""
    ends = np.cumsum(_largest_remainder(day_weights(start_date, days), rows))
    ends.setflags(write=False)
    return ends


def customer_pool(rows: int) -> int:
    """Customers known by the end of a run: about one per two orders."""
    return int(min(max(rows // 2, 50), MAX_CUSTOMERS))


def _lut(weights: np.ndarray) -> np.ndarray:
    """A 65536-entry table of category indices: indexing it with 16 random bits is a weighted draw."""
    if len(weights) > 1 << 14:
        raise ValueError(f"{len(weights)} categories: a 16-bit draw table supports at most {1 << 14}")
    counts = _largest_remainder(np.asarray(weights, dtype=np.float64), 1 << _LUT_BITS, at_least_one=True)
    return np.repeat(np.arange(len(counts), dtype=np.int16), counts)


@dataclass(frozen=True, eq=False)
class Tables:
    """Everything derived once per reference: draw tables and the text of every small-domain value."""

    # (65536,) int16
    product: np.ndarray
    # (65536,) int16
    discount: np.ndarray
    # (65536,) int16
    country: np.ndarray
    # (products, 65536) int8, geometric quantiles per product
    quantity: np.ndarray
    # (products * discounts,) int64
    price_cents: np.ndarray


@functools.lru_cache(maxsize=8)
def tables(reference: Reference) -> Tables:
    u = (np.arange(1 << _LUT_BITS) + 0.5) / (1 << _LUT_BITS)
    # Cheap things sell by several, expensive things one at a time: geometric with a per-product stop chance.
    stop = np.clip(0.45 + reference.list_price_cents / 40_000.0, 0.45, 0.92)
    quantity = 1 + np.floor(np.log1p(-u)[None, :] / np.log1p(-stop)[:, None])
    price = (reference.list_price_cents[:, None] * (100 - DISCOUNT_PERCENT)[None, :] + 50) // 100
    return Tables(
        product=_lut(reference.product_weights),
        discount=_lut(DISCOUNT_PROBABILITY),
        country=_lut(reference.country_weights),
        quantity=np.minimum(quantity, MAX_QUANTITY).astype(np.int8),
        price_cents=price.reshape(-1).astype(np.int64),
    )


@dataclass(frozen=True)
class OrderColumns:
    """The orders of one file as numpy arrays (indices into the reference, whole cents, day offsets)."""

    start_date: dt.date
    # (n, 20) uint8, ASCII hex
    order_id: np.ndarray
    # int64, days since start_date
    day: np.ndarray
    # int64, customer number (C + 8 digits)
    customer: np.ndarray
    # int16, index into reference.country_codes
    country: np.ndarray
    # int16, index into reference.product_codes
    product: np.ndarray
    # int8
    quantity: np.ndarray
    # int64, index into Tables.price_cents (product * discounts + discount)
    price: np.ndarray

    def __len__(self) -> int:
        return len(self.day)

    def take(self, rows: np.ndarray) -> OrderColumns:
        return OrderColumns(
            self.start_date,
            self.order_id[rows],
            self.day[rows],
            self.customer[rows],
            self.country[rows],
            self.product[rows],
            self.quantity[rows],
            self.price[rows],
        )

    def to_table(self, reference: Reference) -> pa.Table:
        """A typed Arrow table (`SCHEMA`)."""
        n = len(self)
        date_days = (self.day + (self.start_date - _EPOCH).days).astype(np.int32)
        cents = tables(reference).price_cents[self.price]
        return pa.Table.from_arrays(
            [
                _fixed_width_strings(self.order_id),
                pa.Array.from_buffers(pa.date32(), n, [None, pa.py_buffer(date_days)]),
                _fixed_width_strings(customer_text(self.customer)),
                _codes(self.country, reference.country_codes),
                _codes(self.product, reference.product_codes),
                pa.array(self.quantity.astype(np.int32), type=pa.int32()),
                decimal_cents(cents),
            ],
            schema=SCHEMA,
        )


def _fixed_width_strings(matrix: np.ndarray) -> pa.StringArray:
    """An (n, width) uint8 matrix of ASCII characters as an Arrow string array, without a per-row loop."""
    n, width = matrix.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(matrix)))


def _codes(indices: np.ndarray, codes: tuple[str, ...]) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(
        pa.array(indices, type=pa.int16()), pa.array(codes, type=pa.string())
    )


def decimal_cents(cents: np.ndarray) -> pa.Array:
    """Integer cents as decimal128(10, 2) without a float round trip (so prices always have 2 exact places)."""
    words = np.empty((len(cents), 2), dtype=np.int64)
    words[:, 0] = cents
    # sign extension into the high 64 bits
    words[:, 1] = cents >> 63
    return pa.Array.from_buffers(pa.decimal128(10, 2), len(cents), [None, pa.py_buffer(words)])


def order_id_text(plan: RunPlan, first_row: int, count: int) -> np.ndarray:
    """(count, 20) ASCII: lower-case hex from (seed, start date, days, rows) and the global row index.

    The first 16 characters are a bijection of the row index for a given run, so ids never repeat within a
    run; different seeds or dates give unrelated ids."""
    key1, key2 = np.random.SeedSequence([*plan.entropy(), 0x0D1D]).generate_state(2, dtype=np.uint64)
    index = np.arange(first_row, first_row + count, dtype=np.uint64)
    quads = np.empty((count, ORDER_ID_HEX // 4), dtype=np.uint16)
    quads[:, :4] = (
        mix64(index + key1, inplace=True).astype("<u8", copy=False).view("<u2").reshape(count, 4)[:, ::-1]
    )
    quads[:, 4] = mix64(index ^ key2, inplace=True) >> np.uint64(48)
    return _HEX4[quads].view(np.uint8)


def customer_text(numbers: np.ndarray) -> np.ndarray:
    """(n, 9) ASCII: ``C`` + 8 zero-padded digits."""
    out = np.empty((len(numbers), CUSTOMER_DIGITS + 1), dtype=np.uint8)
    out[:, 0] = ord("C")
    out[:, 1:] = digits8(numbers)
    return out


def digits8(numbers: np.ndarray) -> np.ndarray:
    """(n, 8) ASCII zero-padded decimal digits of numbers below 10**8."""
    halves = np.empty((len(numbers), 2), dtype=np.uint32)
    halves[:, 0] = _DEC4[numbers // 10000]
    halves[:, 1] = _DEC4[numbers % 10000]
    return halves.view(np.uint8)


def customer_countries(customers: np.ndarray, reference: Reference) -> np.ndarray:
    """A customer's country: fixed per customer number, weighted by ``order_weight``."""
    bits = mix64(customers.astype(np.uint64) ^ np.uint64(_COUNTRY_SALT)) >> np.uint64(64 - _LUT_BITS)
    return tables(reference).country[bits]


def _days(plan: RunPlan, first: int, count: int) -> np.ndarray:
    """Day offset of global rows ``first .. first+count-1``."""
    ends = _day_ends(plan.rows, plan.start_date, plan.days)
    d0 = int(np.searchsorted(ends, first, side="right"))
    d1 = int(np.searchsorted(ends, first + count - 1, side="right"))
    starts = np.concatenate([[0], ends[:-1]])[d0 : d1 + 1]
    per_day = np.minimum(ends[d0 : d1 + 1], first + count) - np.maximum(starts, first)
    return np.repeat(np.arange(d0, d1 + 1, dtype=np.int64), per_day)


def generate_columns(plan: RunPlan, chunk_index: int, reference: Reference) -> OrderColumns:
    """The clean orders of file ``chunk_index`` of ``plan``."""
    first, count = plan.chunk(chunk_index)
    rng, _ = plan.chunk_rngs(chunk_index)
    lut = tables(reference)
    day = _days(plan, first, count)

    # Customers: the pool grows from 60% to 100% over the run; power-law draw -> many repeat buyers.
    pool = customer_pool(plan.rows)
    available = np.maximum((pool * (0.6 + 0.4 * (day + 0.5) / plan.days)).astype(np.int64), 1)
    u = rng.random(count)
    customer = (available * u**CUSTOMER_SKEW).astype(np.int64) + 1

    # 16 bits each: product, quantity, discount
    bits = rng.bit_generator.random_raw(count)
    mask = np.uint64(0xFFFF)
    product = lut.product[bits & mask]
    quantity = lut.quantity[product, (bits >> np.uint64(16)) & mask]
    discount = lut.discount[(bits >> np.uint64(32)) & mask]
    return OrderColumns(
        start_date=plan.start_date,
        order_id=order_id_text(plan, first, count),
        day=day,
        customer=customer,
        country=customer_countries(customer, reference),
        product=product,
        quantity=quantity,
        price=product.astype(np.int64) * len(DISCOUNT_PERCENT) + discount,
    )


def generate_orders(plan: RunPlan, chunk_index: int, reference: Reference) -> pa.Table:
    """The clean orders of file ``chunk_index`` of ``plan``, as a typed Arrow table (columns `COLUMNS`)."""
    return generate_columns(plan, chunk_index, reference).to_table(reference)
