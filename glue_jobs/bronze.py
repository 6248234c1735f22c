"""Bronze CSV files: load them by column *name*, as RFC 4180, whatever a single row holds.

Spark's CSV reader with an explicit schema maps columns by position, so each file's header is read first (by
:mod:`glue_jobs.inventory`) and files are grouped by header: one ``spark.read.csv`` per distinct header, each with
an all-string schema in that header's order. Reordered and extra columns therefore load correctly. A file with a
double quote is read with ``multiLine`` (a quoted field may span lines) and ``escape='"'`` (``""`` is a quote), as
Python's ``csv`` module reads it; the parser is sized for the group's widest record, so a row of 25,001 fields is
a malformed row to quarantine rather than an ``ArrayIndexOutOfBoundsException`` that stops the run.

A file quarantined whole is not parsed by Spark: it is split into records here, in plain Python, and every record
becomes a rejected row that keeps its raw text (base64 of its bytes when the file is not UTF-8):

- ``not_utf8``: the file is not valid UTF-8 (its values are decoded as Latin-1, every byte kept);
- ``missing_header``: its first record names none of the order columns: it is no header but a row (or the file
  is in an encoding such as UTF-16 that hides the names), and no row is lost to it;
- ``missing_column``: its header lacks a required column."""

from __future__ import annotations

import base64
import csv
import io
import re
import zlib
from collections import defaultdict
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from glue_jobs.inventory import BronzeFile, iter_records
from glue_jobs.storage import storage_for

BRONZE_COLUMNS = ("order_id", "order_date", "customer_id", "country", "product", "quantity", "unit_price")
CORRUPT = "_corrupt_record"
# the CSV parser's default width, kept unless a file has a wider record
SPARK_MAX_COLUMNS = 20480
FILE_TIME = re.compile(r"orders_lambda_(\d{8}_\d{6})_")
GLOB_CHARS = re.compile(r"([\\\[\]{}*?])")


@dataclass(frozen=True, order=True)
class Group:
    """Files read alike: by one ``spark.read.csv`` (``whole_file`` ""), or quarantined whole for that reason."""

    header: tuple[str, ...]
    whole_file: str = ""
    quoted: bool = False
    max_columns: int = SPARK_MAX_COLUMNS


def missing_columns(header: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(c for c in BRONZE_COLUMNS if c not in header)


def spark_path(path: str) -> str:
    """``path`` for Spark's readers, which expand glob patterns: ``[1]`` in a folder name must stay literal."""
    return GLOB_CHARS.sub(r"\\\1", path)


def has_header(header: tuple[str, ...]) -> bool:
    """Whether a file's first record is a header: it names at least one of the order columns."""
    return any(c in header for c in BRONZE_COLUMNS)


def whole_file_reason(f: BronzeFile) -> str:
    """Why every row of ``f`` is quarantined ("" when its rows are validated one by one)."""
    if not f.utf8:
        return "not_utf8"
    if not has_header(f.header):
        return "missing_header"
    return "missing_column" if missing_columns(f.header) else ""


def rows_expected(f: BronzeFile) -> int:
    """The rows a file yields: its records after the header, or all of them when its first one is no header."""
    return f.records + (1 if f.header and not has_header(f.header) else 0)


def group_files(files: list[BronzeFile]) -> dict[Group, list[BronzeFile]]:
    """Files by how they are read: each Spark group is one ``spark.read.csv`` with the header's column order."""
    groups: dict[Group, list[BronzeFile]] = defaultdict(list)
    for f in files:
        # (a file without a header is empty: no rows)
        if not f.header:
            continue
        reason = whole_file_reason(f)
        if reason:
            groups[Group(f.header, reason)].append(f)
        else:
            width = max(SPARK_MAX_COLUMNS, f.max_fields + 1)
            groups[Group(f.header, "", f.quoted, width)].append(f)
    return dict(sorted(groups.items()))


def read_bronze(spark: SparkSession, groups: dict[Group, list[BronzeFile]]) -> DataFrame | None:
    """All rows of the given files, one DataFrame with the raw bronze columns as strings plus:

    ``_corrupt_record`` (the raw record when Spark could not parse it into the header's fields; every record of
    a file quarantined whole), ``_file_reason`` (why the whole file is
    quarantined, or null), ``source_file`` (file name), ``ingested_at`` (from the file name), ``ingest_date``
    (the bronze folder) and ``_line`` (increasing with the record's position within its file, for the
    deterministic tie-break)."""
    spark_groups = {g: files for g, files in groups.items() if not g.whole_file}
    frames = [_read_group(spark, g, [f.path for f in files]) for g, files in spark_groups.items()]
    whole = [(g.whole_file, f) for g, files in groups.items() if g.whole_file for f in files]
    if whole:
        frames.append(_read_whole_files(spark, whole))
    if not frames:
        return None
    df = frames[0]
    for frame in frames[1:]:
        df = df.unionByName(frame)
    return _with_ingest_stamps(df)


def _file_bytes(path: str) -> bytes:
    data = storage_for(path).read_bytes(path) or b""
    # (gzip members one after another, as Hadoop's codec reads them)
    return _gunzip_all(data) if path.endswith(".gz") else data


def _gunzip_all(data: bytes) -> bytes:
    out = []
    while data:
        inflate = zlib.decompressobj(wbits=31)
        out.append(inflate.decompress(data))
        data = inflate.unused_data
    return b"".join(out)


def _whole_file_rows(reason: str, f: BronzeFile) -> list[tuple[object, ...]]:
    """Every record of a file quarantined whole as a row: its values by header name where there is a header,
    and its raw text (base64 of its bytes when the file is not UTF-8)."""
    data = _file_bytes(f.path)
    encoding = "utf-8" if f.utf8 else "latin-1"
    records = iter_records(data, b'"' in data)
    index: dict[str, int] = {}
    if has_header(f.header):
        next(records, None)
        for i, name in enumerate(f.header):
            index.setdefault(name, i)
    name = f.path.rsplit("/", 1)[-1]
    rows = []
    for line, record in enumerate(records):
        text = record.decode(encoding, errors="replace").lstrip("\ufeff")
        try:
            fields = next(csv.reader(io.StringIO(text)), []) if index else []
        # a field beyond the csv module's size limit: the raw text is kept all the same
        except csv.Error:
            fields = []
        values = [fields[index[c]] if c in index and index[c] < len(fields) else None for c in BRONZE_COLUMNS]
        raw = text.rstrip("\r\n") if f.utf8 else base64.b64encode(record).decode("ascii")
        rows.append((*values, raw, reason, name, f.path, line))
    return rows


def _read_whole_files(spark: SparkSession, whole: list[tuple[str, BronzeFile]]) -> DataFrame:
    schema = T.StructType(
        [T.StructField(c, T.StringType()) for c in (*BRONZE_COLUMNS, CORRUPT)]
        + [
            T.StructField("_file_reason", T.StringType()),
            T.StructField("source_file", T.StringType()),
            T.StructField("_file_path", T.StringType()),
            T.StructField("_line", T.LongType()),
        ]
    )
    rows = [row for reason, f in whole for row in _whole_file_rows(reason, f)]
    return spark.createDataFrame(rows, schema)


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


def _read_group(spark: SparkSession, group: Group, paths: list[str]) -> DataFrame:
    """The files of one header (and reading), their columns selected by name into the bronze columns."""
    header = group.header
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
        multiLine=group.quoted,
        escape='"',
        maxColumns=group.max_columns,
        encoding="UTF-8",
    )
    index: dict[str, int] = {}
    for i, name in enumerate(header):
        index.setdefault(name, i)
    cols: list[Column] = [
        (F.col(f"`{positional[index[c]]}`") if c in index else F.lit(None).cast("string")).alias(c)
        for c in BRONZE_COLUMNS
    ]
    # Spark's file_name is URL-encoded ("a b.csv" is "a%20b.csv"): decoded back to the object's real name; a
    # literal "+" is kept ("%2B"), which URL decoding would otherwise turn into a space
    encoded = F.col("_metadata.file_name")
    name = F.when(encoded.contains("%"), F.url_decode(F.regexp_replace(encoded, r"\+", "%2B"))).otherwise(
        encoded
    )
    return raw.select(
        *cols,
        F.col(CORRUPT),
        F.lit(None).cast("string").alias("_file_reason"),
        name.alias("source_file"),
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
