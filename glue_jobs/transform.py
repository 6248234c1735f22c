"""Validation, normalisation and deduplication as Spark column expressions (no Python UDFs)."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from glue_jobs.bounds import DEFAULT, DateBounds
from glue_jobs.bronze import BRONZE_COLUMNS, CORRUPT

# Stable reject reason codes, in the order they are checked (the first failing check is the row's reason).
REASONS = (
    # the file is not valid UTF-8 (raw_record: base64 of the row's bytes): the whole file is quarantined
    "not_utf8",
    # the file's first record names no order column: the whole file is quarantined, first row too
    "missing_header",
    # the file's header lacks a required column: the whole file is quarantined
    "missing_column",
    # the file's landing time is after the run's clock plus the skew (bounds.py)
    "ingested_at_out_of_range",
    # the record has more fields than any order could (MAX_FIELDS), e.g. 25,001
    "too_many_fields",
    # the record does not parse into the header's fields (wrong field count, broken quoting)
    "malformed_row",
    # a required value is empty
    "missing_required_field",
    # a value is longer than its column's bound (MAX_LENGTH), checked before any cast
    "value_too_long",
    # order_date is not a valid YYYY-MM-DD date
    "bad_date",
    # order_date before the earliest order date or after ingested_at plus the skew
    "date_out_of_range",
    # quantity is not an integer (or does not fit in int)
    "bad_quantity",
    # quantity <= 0
    "non_positive_quantity",
    # unit_price is not a decimal with at most 2 places that fits decimal(10,2)
    "bad_price",
    # unit_price <= 0
    "non_positive_price",
    # quantity * unit_price does not fit decimal(12,2)
    "revenue_overflow",
    # not a seeds/countries.csv country_code (after trim + upper-case)
    "unknown_country",
    # not a seeds/products.csv product_code (after trim + upper-case)
    "unknown_product",
)

# The silver_orders contract, declared once: the job writes it, reads it back with it, and the Glue table in
# infra/ must match it (tests/infra checks). order_date, last, is the partition column.
SILVER_SCHEMA = T.StructType(
    [
        T.StructField("order_id", T.StringType()),
        T.StructField("customer_id", T.StringType()),
        T.StructField("country", T.StringType()),
        T.StructField("product", T.StringType()),
        T.StructField("quantity", T.IntegerType()),
        T.StructField("unit_price", T.DecimalType(10, 2)),
        T.StructField("revenue", T.DecimalType(12, 2)),
        T.StructField("source_file", T.StringType()),
        T.StructField("ingested_at", T.TimestampNTZType()),
        T.StructField("order_date", T.DateType()),
    ]
)
SILVER_COLUMNS = tuple(SILVER_SCHEMA.fieldNames())
REJECTED_COLUMNS = (
    *BRONZE_COLUMNS,
    "raw_record",
    "reject_reason",
    "source_file",
    "ingested_at",
    "ingest_date",
)
INT_RE = r"^[+-]?[0-9]+$"
PRICE_RE = r"^[+-]?[0-9]+(\.[0-9]{1,2})?$"
DATE_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
MAX_REVENUE = 9_999_999_999.99
# Fields a record may have before it is quarantined as too_many_fields rather than malformed_row: Spark's default
# CSV parser width, far above any header (the parser itself is sized for the widest record, bronze.Group).
MAX_FIELDS = 20_480
# Characters (after trimming) a value may have. Every value is bounded *before* it is parsed: casting a price of
# three million digits to decimal takes Spark minutes; these bounds are far above any valid value.
MAX_LENGTH = {
    "order_id": 64,
    "order_date": 32,
    "customer_id": 64,
    "country": 16,
    "product": 32,
    "quantity": 20,
    "unit_price": 40,
}


def validate(
    df: DataFrame,
    countries: set[str],
    products: set[str],
    bounds: DateBounds = DEFAULT,
    now: dt.datetime | None = None,
) -> DataFrame:
    """Add the normalised, typed columns and ``reject_reason`` (null for a valid row) to raw bronze rows.
    ``now`` (naive UTC, default: the clock) bounds the landing times with ``bounds``."""
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    t = {c: F.trim(F.col(c)) for c in BRONZE_COLUMNS}
    fits = {c: F.length(t[c]) <= MAX_LENGTH[c] for c in BRONZE_COLUMNS}
    country, product = F.upper(t["country"]), F.upper(t["product"])
    qty_ok = fits["quantity"] & t["quantity"].rlike(INT_RE)
    price_ok = fits["unit_price"] & t["unit_price"].rlike(PRICE_RE)
    date_ok = fits["order_date"] & t["order_date"].rlike(DATE_RE)
    order_date = F.when(date_ok, F.expr("try_cast(trim(order_date) AS date)"))
    quantity = F.when(qty_ok, F.expr("try_cast(trim(quantity) AS int)"))
    unit_price = F.when(price_ok, F.expr("try_cast(trim(unit_price) AS decimal(10,2))"))
    revenue_raw = quantity.cast("decimal(10,0)") * unit_price
    earliest = F.lit(bounds.earliest_order_date)
    latest = F.to_date(F.col("ingested_at") + F.expr(f"INTERVAL {bounds.max_skew_hours} HOURS"))
    late_landing = F.col("ingested_at") > F.lit(bounds.latest_ingested_at(now)).cast("timestamp_ntz")
    # fields of a malformed record, counted outside quoted sections ("..." holds no separator that counts)
    fields = F.size(F.split(F.regexp_replace(F.col(CORRUPT), '"[^"]*"', ""), ",", -1))
    missing_any, too_long = F.lit(False), F.lit(False)
    for c in BRONZE_COLUMNS:
        missing_any = missing_any | t[c].isNull() | (t[c] == "")
        too_long = too_long | ~fits[c]
    reason = (
        F.when(F.col("_file_reason").isNotNull(), F.col("_file_reason"))
        .when(late_landing, "ingested_at_out_of_range")
        .when(F.col(CORRUPT).isNotNull() & (fields > MAX_FIELDS), "too_many_fields")
        .when(F.col(CORRUPT).isNotNull(), "malformed_row")
        .when(missing_any, "missing_required_field")
        .when(too_long, "value_too_long")
        .when(order_date.isNull(), "bad_date")
        .when((order_date < earliest) | (order_date > latest), "date_out_of_range")
        .when(quantity.isNull(), "bad_quantity")
        .when(quantity <= 0, "non_positive_quantity")
        .when(unit_price.isNull(), "bad_price")
        .when(unit_price <= 0, "non_positive_price")
        .when(revenue_raw > F.lit(MAX_REVENUE).cast("decimal(12,2)"), "revenue_overflow")
        .when(~country.isin(sorted(countries)), "unknown_country")
        .when(~product.isin(sorted(products)), "unknown_product")
    )
    return df.select(
        *BRONZE_COLUMNS,
        F.col(CORRUPT).alias("raw_record"),
        "source_file",
        "ingested_at",
        "ingest_date",
        "_line",
        reason.alias("reject_reason"),
        t["order_id"].alias("v_order_id"),
        t["customer_id"].alias("v_customer_id"),
        country.alias("v_country"),
        product.alias("v_product"),
        quantity.alias("v_quantity"),
        unit_price.alias("v_unit_price"),
        order_date.alias("v_order_date"),
    )


def for_staging(validated: DataFrame) -> DataFrame:
    """:func:`validate`'s output with what no later step reads set to null (cheap in Parquet): the raw values of
    a valid row, the typed values of a rejected one. :func:`rejected_rows` and :func:`valid_rows` read it as
    they read :func:`validate`'s output."""
    valid = F.col("reject_reason").isNull()

    def kept(name: str) -> Column:
        if name in (*BRONZE_COLUMNS, "raw_record"):
            return F.when(~valid, F.col(name)).alias(name)
        return F.when(valid, F.col(name)).alias(name) if name.startswith("v_") else F.col(name)

    return validated.select(*[kept(c) for c in validated.columns])


def rejected_rows(validated: DataFrame) -> DataFrame:
    return validated.where(F.col("reject_reason").isNotNull()).select(*REJECTED_COLUMNS)


def valid_rows(validated: DataFrame) -> DataFrame:
    """Valid rows in the silver schema plus ``_line`` and ``_is_new`` (true: from this run's bronze)."""
    return validated.where(F.col("reject_reason").isNull()).select(
        F.col("v_order_id").alias("order_id"),
        F.col("v_customer_id").alias("customer_id"),
        F.col("v_country").alias("country"),
        F.col("v_product").alias("product"),
        F.col("v_quantity").alias("quantity"),
        F.col("v_unit_price").alias("unit_price"),
        (F.col("v_quantity").cast("decimal(10,0)") * F.col("v_unit_price"))
        .cast("decimal(12,2)")
        .alias("revenue"),
        "source_file",
        "ingested_at",
        F.col("v_order_date").alias("order_date"),
        "_line",
        F.lit(True).alias("_is_new"),
    )


def as_candidates(existing: DataFrame) -> DataFrame:
    """Rows already in silver, shaped like :func:`valid_rows` output (``_line`` -1, ``_is_new`` false)."""
    return existing.select(
        *SILVER_COLUMNS, F.lit(-1).cast("long").alias("_line"), F.lit(False).alias("_is_new")
    )


def rank_latest(candidates: DataFrame) -> DataFrame:
    """``_rank`` 1 for the row that wins its order_id: latest ``ingested_at``, then greatest ``source_file``
    name, then the later line in the file."""
    window = Window.partitionBy("order_id").orderBy(
        F.col("ingested_at").desc(), F.col("source_file").desc(), F.col("_line").desc()
    )
    return candidates.withColumn("_rank", F.row_number().over(window))


def to_silver(ranked: DataFrame) -> DataFrame:
    return ranked.where(F.col("_rank") == 1).select(*SILVER_COLUMNS)
