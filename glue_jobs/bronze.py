"""Bronze CSV files: load them by column *name*.

Spark's CSV reader with an explicit schema maps columns by position, so each file's header is read first (by
:mod:`glue_jobs.inventory`) and files are grouped by header: one ``spark.read.csv`` per distinct header, each with
an all-string schema in that header's order. Reordered and extra columns therefore load correctly; a file whose
header lacks a required column is loaded too, but every row of it is quarantined as ``missing_column``. A file
that is not valid UTF-8 is read as Latin-1 (every byte kept) and all its rows are quarantined as ``not_utf8``."""

from __future__ import annotations

import re
from collections import defaultdict

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from glue_jobs.inventory import BronzeFile

BRONZE_COLUMNS = ("order_id", "order_date", "customer_id", "country", "product", "quantity", "unit_price")
CORRUPT = "_corrupt_record"
FILE_TIME = re.compile(r"orders_lambda_(\d{8}_\d{6})_")
GLOB_CHARS = re.compile(r"([\\\[\]{}*?])")
Group = tuple[tuple[str, ...], bool]  # (header, valid UTF-8)


def missing_columns(header: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(c for c in BRONZE_COLUMNS if c not in header)


def spark_path(path: str) -> str:
    """``path`` for Spark's readers, which expand glob patterns: ``[1]`` in a folder name must stay literal."""
    return GLOB_CHARS.sub(r"\\\1", path)


def group_files(files: list[BronzeFile]) -> dict[Group, list[str]]:
    """Files by (header, UTF-8 or not): each group is one ``spark.read.csv`` with the header's column order."""
    groups: dict[Group, list[str]] = defaultdict(list)
    for f in files:
        groups[(f.header, f.utf8)].append(f.path)
    return dict(sorted(groups.items()))


def read_bronze(spark: SparkSession, groups: dict[Group, list[str]]) -> DataFrame | None:
    """All rows of the given files, one DataFrame with the raw bronze columns as strings plus:

    ``_corrupt_record`` (the raw line when Spark could not parse it into the header's fields),
    ``_missing_column`` (the file lacks a required column), ``_not_utf8`` (the file is not valid UTF-8: read as
    Latin-1), ``source_file`` (file name), ``ingested_at`` (from the file name), ``ingest_date`` (the bronze
    folder) and ``_line`` (increasing with the line's position within its file, for the deterministic
    tie-break)."""
    frames = [_read_group(spark, header, utf8, paths) for (header, utf8), paths in groups.items() if header]
    if not frames:  # (a file without a header is empty: no rows)
        return None
    df = frames[0]
    for frame in frames[1:]:
        df = df.unionByName(frame)
    return _with_ingest_stamps(df)


def _field_names(header: tuple[str, ...]) -> list[str]:
    """Spark field names in the header's order: the header's own where usable (Spark then has nothing to warn
    about), ``_c<i>`` otherwise. The order is what matters: with enforceSchema Spark maps fields by position."""
    seen: set[str] = set()
    names = []
    for i, name in enumerate(header):
        ok = name and name not in seen and name.isidentifier() and not name.startswith("_")
        names.append(name if ok else f"_c{i}")
        seen.add(name)
    return names


def _read_group(spark: SparkSession, header: tuple[str, ...], utf8: bool, paths: list[str]) -> DataFrame:
    """The files of one header (and encoding), their columns selected by name into the bronze columns."""
    positional = _field_names(header)
    schema = T.StructType(
        [T.StructField(name, T.StringType()) for name in positional]
        + [T.StructField(CORRUPT, T.StringType())]
    )
    raw = spark.read.csv(
        [spark_path(p) for p in paths],
        schema=schema,
        header=True,
        enforceSchema=True,
        mode="PERMISSIVE",
        columnNameOfCorruptRecord=CORRUPT,
        multiLine=False,
        encoding="UTF-8" if utf8 else "ISO-8859-1",
    )
    index: dict[str, int] = {}
    for i, name in enumerate(header):
        index.setdefault(name, i)
    cols: list[Column] = [
        (F.col(f"`{positional[index[c]]}`") if c in index else F.lit(None).cast("string")).alias(c)
        for c in BRONZE_COLUMNS
    ]
    return raw.select(
        *cols,
        F.col(CORRUPT),
        F.lit(bool(missing_columns(header))).alias("_missing_column"),
        F.lit(not utf8).alias("_not_utf8"),
        F.col("_metadata.file_name").alias("source_file"),
        F.col("_metadata.file_path").alias("_file_path"),
        F.monotonically_increasing_id().alias("_line"),
    )


def _with_ingest_stamps(df: DataFrame) -> DataFrame:
    """``ingested_at`` from the file name's stamp (else the folder's date), ``ingest_date`` from the folder."""
    folder_date = F.regexp_extract("_file_path", r"ingest_date=(\d{4}-\d{2}-\d{2})", 1)
    name_ts = F.to_timestamp_ntz(
        F.regexp_extract("source_file", FILE_TIME.pattern, 1), F.lit("yyyyMMdd_HHmmss")
    )
    folder_ts = F.to_timestamp_ntz(F.when(folder_date != "", folder_date), F.lit("yyyy-MM-dd"))
    ingested_at = F.coalesce(name_ts, folder_ts, F.lit("1970-01-01 00:00:00").cast("timestamp_ntz"))
    ingest_date = F.coalesce(F.to_date(F.when(folder_date != "", folder_date)), F.to_date("ingested_at"))
    return df.withColumn("ingested_at", ingested_at).withColumn("ingest_date", ingest_date).drop("_file_path")
