"""Bronze CSV files: find the new ones, read their headers, and load them by column *name*.

Spark's CSV reader with an explicit schema maps columns by position, so each file's header is read first (a
few bytes, in parallel) and files are grouped by header: one ``spark.read.csv`` per distinct header, each with an
all-string schema in that header's order. Reordered and extra columns therefore load correctly; a file whose
header lacks a required column is loaded too, but every row of it is quarantined as ``missing_column``."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from glue_jobs.storage import FileInfo, Storage

BRONZE_COLUMNS = ("order_id", "order_date", "customer_id", "country", "product", "quantity", "unit_price")
CORRUPT = "_corrupt_record"
FILE_TIME = re.compile(r"orders_lambda_(\d{8}_\d{6})_")
HEADER_BYTES = 64 * 1024


@dataclass(frozen=True)
class BronzeFile:
    path: str
    size: int
    header: tuple[str, ...]

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(c for c in BRONZE_COLUMNS if c not in self.header)


def parse_header(head: bytes) -> tuple[str, ...]:
    """The normalised column names of a CSV header line (trimmed, lower-case, BOM removed)."""
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    line = text.splitlines()[0] if text else ""
    row = next(csv.reader(io.StringIO(line)), [])
    return tuple(name.strip().lower() for name in row)


def file_ingested_at(name: str) -> dt.datetime | None:
    match = FILE_TIME.search(name)
    return dt.datetime.strptime(match.group(1), "%Y%m%d_%H%M%S") if match else None


def read_headers(storage: Storage, files: list[FileInfo], threads: int = 16) -> list[BronzeFile]:
    def one(info: FileInfo) -> BronzeFile:
        head = storage.read_bytes(info.path, HEADER_BYTES) or b""
        return BronzeFile(info.path, info.size, parse_header(head))

    if len(files) <= 4:
        return [one(f) for f in files]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(one, files))


def group_by_header(files: list[BronzeFile]) -> dict[tuple[str, ...], list[str]]:
    groups: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for f in files:
        groups[f.header].append(f.path)
    return dict(sorted(groups.items()))


def read_bronze(spark: SparkSession, groups: dict[tuple[str, ...], list[str]]) -> DataFrame | None:
    """All rows of the given files, one DataFrame with the raw bronze columns as strings plus:

    ``_corrupt_record`` (the raw line when Spark could not parse it into the header's fields),
    ``_missing_column`` (the file lacks a required column), ``source_file`` (file name), ``ingested_at``
    (from the file name), ``ingest_date`` (the bronze folder) and ``_line`` (increasing with the line's
    position within its file, for the deterministic tie-break)."""
    frames = []
    for header, paths in groups.items():
        if not header:  # an empty file: no header, no rows
            continue
        # Name the fields after the header where possible (Spark then has nothing to warn about); the schema is
        # in the header's order, which is what matters: with enforceSchema Spark maps fields by position.
        seen: set[str] = set()
        positional = []
        for i, name in enumerate(header):
            ok = name and name not in seen and name.isidentifier() and not name.startswith("_")
            positional.append(name if ok else f"_c{i}")
            seen.add(name)
        schema = T.StructType(
            [T.StructField(name, T.StringType()) for name in positional]
            + [T.StructField(CORRUPT, T.StringType())]
        )
        raw = spark.read.csv(
            paths,
            schema=schema,
            header=True,
            enforceSchema=True,
            mode="PERMISSIVE",
            columnNameOfCorruptRecord=CORRUPT,
            multiLine=False,
            encoding="UTF-8",
        )
        index = {}
        for i, name in enumerate(header):
            index.setdefault(name, i)
        cols: list[Column] = [
            (F.col(f"`{positional[index[c]]}`") if c in index else F.lit(None).cast("string")).alias(c)
            for c in BRONZE_COLUMNS
        ]
        missing = any(c not in index for c in BRONZE_COLUMNS)
        frames.append(
            raw.select(
                *cols,
                F.col(CORRUPT),
                F.lit(missing).alias("_missing_column"),
                F.col("_metadata.file_name").alias("source_file"),
                F.col("_metadata.file_path").alias("_file_path"),
                F.monotonically_increasing_id().alias("_line"),
            )
        )
    if not frames:
        return None
    df = frames[0]
    for frame in frames[1:]:
        df = df.unionByName(frame)
    folder_date = F.regexp_extract("_file_path", r"ingest_date=(\d{4}-\d{2}-\d{2})", 1)
    name_ts = F.to_timestamp_ntz(
        F.regexp_extract("source_file", FILE_TIME.pattern, 1), F.lit("yyyyMMdd_HHmmss")
    )
    folder_ts = F.to_timestamp_ntz(F.when(folder_date != "", folder_date), F.lit("yyyy-MM-dd"))
    ingested_at = F.coalesce(name_ts, folder_ts, F.lit("1970-01-01 00:00:00").cast("timestamp_ntz"))
    return (
        df.withColumn("ingested_at", ingested_at)
        .withColumn(
            "ingest_date",
            F.coalesce(F.to_date(F.when(folder_date != "", folder_date)), F.to_date("ingested_at")),
        )
        .drop("_file_path")
    )
