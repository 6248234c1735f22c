"""Vectorised order generator: one numpy/pyarrow pass per file, no Python loop per row.

Shape of the data:
- volume per day follows a weekday pattern, a seasonal curve (November/December peak, Black Friday and Cyber
  Monday spikes, a January/February dip) and a gentle growth trend; whole-run day counts are fixed first, so
  the files of a run together cover the date range exactly;
- customers come from a pool that grows over the run (new customers appear over time) and are drawn with a
  power law, so a few customers buy very often and most rarely; a customer always lives in the same country
  (countries weighted by ``order_weight`` over customers);
- products are weighted by ``popularity_weight``; ``unit_price`` is the list price less an occasional
  discount, in whole cents; cheap products sell in larger quantities.
"""

from __future__ import annotations

import datetime as dt
import functools

import numpy as np
import pyarrow as pa

from ingestion.plan import RunPlan
from ingestion.reference import Reference

COLUMNS = ("order_id", "order_date", "customer_id", "country", "product", "quantity", "unit_price")
ORDER_ID_HEX = 20  # 80 bits: unique within a run by construction, ~1e-6 collision odds across 1e9 orders
CUSTOMER_DIGITS = 8
MAX_CUSTOMERS = 10**CUSTOMER_DIGITS - 1
CUSTOMER_SKEW = 2.0  # customer index = pool * u**skew: the larger, the more orders go to the top customers
MAX_QUANTITY = 20
DISCOUNT_PERCENT = np.array([0, 5, 10, 15, 20, 30], dtype=np.int64)
DISCOUNT_PROBABILITY = np.array([0.64, 0.12, 0.11, 0.06, 0.05, 0.02])
WEEKDAY_FACTOR = np.array([0.96, 0.93, 0.94, 0.97, 1.04, 1.10, 1.06])  # Monday .. Sunday
MONTH_FACTOR = np.array([0.82, 0.80, 0.92, 0.95, 0.98, 0.94, 0.91, 0.95, 0.98, 1.04, 1.28, 1.42])
_COUNTRY_SALT = 0x5EED_C0DE_C0FF_EE11  # fixed, so a customer keeps its country across runs and seeds
_EPOCH = dt.date(1970, 1, 1)
# Four hex characters for every 16-bit value, one uint32 per entry: a whole order id is 5 table look-ups.
_HEX4 = np.frombuffer(b"".join(f"{i:04x}".encode() for i in range(65536)), dtype=np.uint32)

SCHEMA = pa.schema(
    [
        ("order_id", pa.string()),
        ("order_date", pa.date32()),
        ("customer_id", pa.string()),
        ("country", pa.dictionary(pa.int8(), pa.string())),
        ("product", pa.dictionary(pa.int8(), pa.string())),
        ("quantity", pa.int32()),
        ("unit_price", pa.decimal128(10, 2)),
    ]
)


def mix64(values: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser: a bijection on uint64, so distinct inputs give distinct outputs."""
    z = values.astype(np.uint64, copy=True)
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
    month = dates.astype("datetime64[M]").astype(np.int64) % 12  # 0 = January
    day_of_month = (dates - dates.astype("datetime64[M]")).astype(np.int64) + 1
    weekday = (ordinals + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    weight = WEEKDAY_FACTOR[weekday] * MONTH_FACTOR[month]
    black_friday = (month == 10) & (weekday == 4) & (day_of_month >= 23) & (day_of_month <= 29)
    cyber_monday = (weekday == 0) & (
        ((month == 10) & (day_of_month >= 26)) | ((month == 11) & (day_of_month <= 2))
    )
    weight = weight * np.where(black_friday, 2.6, 1.0) * np.where(cyber_monday, 1.9, 1.0)
    return weight * (1.0 + 0.15 * np.arange(days) / max(days - 1, 1))


@functools.lru_cache(maxsize=32)
def _day_ends(rows: int, start_date: dt.date, days: int) -> np.ndarray:
    """Cumulative row counts per day for a whole run (largest-remainder rounding, so they sum to ``rows``)."""
    share = day_weights(start_date, days)
    exact = rows * share / share.sum()
    counts = np.floor(exact).astype(np.int64)
    short = rows - int(counts.sum())
    if short:
        order = np.argsort(-(exact - counts), kind="stable")
        counts[order[:short]] += 1
    ends = np.cumsum(counts)
    ends.setflags(write=False)
    return ends


def customer_pool(rows: int) -> int:
    """Customers known by the end of a run: about one per two orders."""
    return int(min(max(rows // 2, 50), MAX_CUSTOMERS))


def _fixed_width_strings(matrix: np.ndarray) -> pa.StringArray:
    """An (n, width) uint8 matrix of ASCII characters as an Arrow string array, without a per-row loop."""
    n, width = matrix.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    data = np.ascontiguousarray(matrix)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


def order_ids(plan: RunPlan, first_row: int, count: int) -> pa.StringArray:
    """20 lower-case hex characters from (seed, start date, days, rows) and the global row index.

    The first 16 characters are a bijection of the row index for a given run, so ids never repeat within a
    run; different seeds or dates give unrelated ids."""
    key1, key2 = np.random.SeedSequence([*plan.entropy(), 0x0D1D]).generate_state(2, dtype=np.uint64)
    index = np.arange(first_row, first_row + count, dtype=np.uint64)
    quads = np.empty((count, ORDER_ID_HEX // 4), dtype=np.uint16)
    quads[:, :4] = mix64(index + key1).astype("<u8").view("<u2").reshape(count, 4)[:, ::-1]
    quads[:, 4] = mix64(index ^ key2) >> np.uint64(48)
    return _fixed_width_strings(_HEX4[quads].view(np.uint8))


def customer_ids(numbers: np.ndarray) -> pa.StringArray:
    """``C`` + 8 zero-padded digits."""
    matrix = np.empty((len(numbers), CUSTOMER_DIGITS + 1), dtype=np.uint8)
    matrix[:, 0] = ord("C")
    rest = numbers.astype(np.int64, copy=True)
    for position in range(CUSTOMER_DIGITS, 0, -1):  # one pass per digit, not per row
        matrix[:, position] = rest % 10 + ord("0")
        rest //= 10
    return _fixed_width_strings(matrix)


def customer_countries(customers: np.ndarray, reference: Reference) -> np.ndarray:
    """A customer's country: fixed per customer number, weighted by ``order_weight``."""
    unit = (mix64(customers.astype(np.uint64) ^ np.uint64(_COUNTRY_SALT)) >> np.uint64(11)) * 2.0**-53
    return _pick(np.cumsum(reference.country_weights), unit)


def _pick(cdf: np.ndarray, unit: np.ndarray) -> np.ndarray:
    return np.minimum(np.searchsorted(cdf, unit, side="right"), len(cdf) - 1).astype(np.int8)


def decimal_cents(cents: np.ndarray) -> pa.Array:
    """Integer cents as decimal128(10, 2) without a float round trip (so prices always have 2 exact places)."""
    words = np.empty((len(cents), 2), dtype=np.int64)
    words[:, 0] = cents
    words[:, 1] = cents >> 63  # sign extension into the high 64 bits
    return pa.Array.from_buffers(pa.decimal128(10, 2), len(cents), [None, pa.py_buffer(words)])


def _codes(indices: np.ndarray, codes: tuple[str, ...]) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(
        pa.array(indices, type=pa.int8()), pa.array(codes, type=pa.string())
    )


def generate_orders(plan: RunPlan, chunk_index: int, reference: Reference) -> pa.Table:
    """The clean orders of file ``chunk_index`` of ``plan``, as a typed Arrow table (columns `COLUMNS`)."""
    first, count = plan.chunk(chunk_index)
    rng, _ = plan.chunk_rngs(chunk_index)
    ends = _day_ends(plan.rows, plan.start_date, plan.days)
    day = np.searchsorted(ends, np.arange(first, first + count, dtype=np.int64), side="right")

    # Customers: the pool grows from 60% to 100% over the run; power-law draw -> many repeat buyers.
    progress = (day + 0.5) / plan.days
    pool = customer_pool(plan.rows)
    available = np.maximum((pool * (0.6 + 0.4 * progress)).astype(np.int64), 1)
    customers = (available * rng.random(count) ** CUSTOMER_SKEW).astype(np.int64) + 1

    product = _pick(np.cumsum(reference.product_weights), rng.random(count))
    list_cents = reference.list_price_cents[product]
    # Cheap things sell by several, expensive things one at a time.
    stop = np.clip(0.45 + reference.list_price_cents / 40_000.0, 0.45, 0.92)[product]
    quantity = np.minimum(rng.geometric(stop), MAX_QUANTITY).astype(np.int32)
    discount = DISCOUNT_PERCENT[_pick(np.cumsum(DISCOUNT_PROBABILITY), rng.random(count))]
    cents = (list_cents * (100 - discount) + 50) // 100

    date_days = (day + (plan.start_date - _EPOCH).days).astype(np.int32)
    return pa.Table.from_arrays(
        [
            order_ids(plan, first, count),
            pa.Array.from_buffers(pa.date32(), count, [None, pa.py_buffer(date_days)]),
            customer_ids(customers),
            _codes(customer_countries(customers, reference), reference.country_codes),
            _codes(product, reference.product_codes),
            pa.array(quantity, type=pa.int32()),
            decimal_cents(cents),
        ],
        schema=SCHEMA,
    )
