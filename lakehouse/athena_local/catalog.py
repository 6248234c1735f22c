"""The catalog side of the stand-in: moto's Glue and S3 as Athena reads and writes them.

Types map between Glue (Hive names) and DuckDB; a table Athena creates is recorded in Glue with the table type,
location, columns and parameters Athena would give it (`hive_table_input`, `iceberg_table_input`, a view's
`/* Presto View */` text). An Iceberg table is modelled by the stand-in's metadata objects, each a snapshot: its
time, its schema, its partition spec, the data files it lists and the previous metadata object.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from lakehouse.athena_local.outcome import AthenaQueryError

PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
CSV_SERDE = "org.apache.hadoop.hive.serde2.OpenCSVSerde"

_GLUE_TO_DUCKDB = {
    "string": "VARCHAR",
    "varchar": "VARCHAR",
    "char": "VARCHAR",
    "int": "INTEGER",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "smallint": "SMALLINT",
    "tinyint": "TINYINT",
    "double": "DOUBLE",
    "float": "FLOAT",
    "real": "FLOAT",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "binary": "BLOB",
    "varbinary": "BLOB",
}
_DUCKDB_TO_GLUE = {
    "VARCHAR": "string",
    "INTEGER": "int",
    "BIGINT": "bigint",
    # DuckDB sums bigints into HUGEINT; Trino keeps bigint
    "HUGEINT": "bigint",
    "SMALLINT": "smallint",
    "TINYINT": "tinyint",
    "DOUBLE": "double",
    "FLOAT": "float",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "BLOB": "binary",
}
_TABLE_INPUT_KEYS = (
    "Name",
    "Description",
    "TableType",
    "Parameters",
    "StorageDescriptor",
    "PartitionKeys",
    "ViewOriginalText",
    "ViewExpandedText",
    "Owner",
    "Retention",
)


def glue_to_duckdb(glue_type: str) -> str:
    """The DuckDB type a column of this Glue type is read as."""
    t = glue_type.strip().lower()
    if t.startswith("decimal"):
        return t.upper()
    return _GLUE_TO_DUCKDB[re.sub(r"\(.*\)$", "", t)]


def duckdb_to_glue(duck_type: str) -> str:
    """The Hive type Athena records in Glue for a column of this DuckDB type."""
    t = duck_type.upper()
    if t.startswith("DECIMAL"):
        return t.lower().replace(" ", "")
    if t.startswith("TIMESTAMP"):
        return "timestamp"
    if t not in _DUCKDB_TO_GLUE:
        raise AthenaQueryError(f"NOT_SUPPORTED: Unsupported Hive type: {duck_type}")
    return _DUCKDB_TO_GLUE[t]


def duckdb_to_trino(duck_type: str) -> tuple[str, int, int]:
    """(type name, precision, scale) of a result column, as Athena's ColumnInfo reports it."""
    t = duck_type.upper()
    if t.startswith("DECIMAL"):
        precision, scale = (int(x) for x in re.findall(r"\d+", t))
        return "decimal", precision, scale
    if t.startswith("TIMESTAMP"):
        return "timestamp", 0, 0
    mapping = {
        "VARCHAR": "varchar",
        "INTEGER": "integer",
        "HUGEINT": "bigint",
        "FLOAT": "real",
        "BLOB": "varbinary",
    }
    return mapping.get(t, t.lower()), 0, 0


def split_s3(uri: str) -> tuple[str, str]:
    """(bucket, key) of an s3:// URI; anything else is refused as Athena refuses a non-S3 location."""
    if not uri.startswith("s3://"):
        raise AthenaQueryError(f"INVALID_TABLE_PROPERTY: '{uri}' is not an S3 location")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def as_prefix(uri: str) -> str:
    """The URI as a folder: with one trailing slash."""
    return uri.rstrip("/") + "/"


def is_iceberg(table: dict[str, Any]) -> bool:
    """Whether a Glue table is an Iceberg table (Athena's `table_type` parameter)."""
    return str(table.get("Parameters", {}).get("table_type", "")).upper() == "ICEBERG"


def table_input_of(table: dict[str, Any]) -> dict[str, Any]:
    """The TableInput of a GetTable answer: what UpdateTable and CreateTable take back."""
    return {k: table[k] for k in _TABLE_INPUT_KEYS if k in table}


def glue_columns(columns: list[tuple[str, str]]) -> list[dict[str, str]]:
    """Glue columns from (name, DuckDB type) pairs."""
    return [{"Name": n, "Type": duckdb_to_glue(t)} for n, t in columns]


def hive_table_input(
    name: str, location: str, columns: list[tuple[str, str]], partitioned_by: list[str]
) -> dict[str, Any]:
    """A Hive Parquet table as a CTAS records it, partition columns last as PartitionKeys."""
    keys = [p.lower() for p in partitioned_by]
    return {
        "Name": name,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"EXTERNAL": "TRUE", "classification": "parquet", "has_encrypted_data": "false"},
        "PartitionKeys": glue_columns([(n, t) for n, t in columns if n in keys]),
        "StorageDescriptor": {
            "Columns": glue_columns([(n, t) for n, t in columns if n not in keys]),
            "Location": location,
            "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
            "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
            "SerdeInfo": {"SerializationLibrary": PARQUET_SERDE},
        },
    }


def iceberg_table_input(
    name: str, location: str, columns: list[tuple[str, str]], metadata_location: str
) -> dict[str, Any]:
    """An Iceberg table as Athena registers it in Glue: its type and its current metadata object."""
    return {
        "Name": name,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"table_type": "ICEBERG", "metadata_location": metadata_location},
        "StorageDescriptor": {"Columns": glue_columns(columns), "Location": location},
    }


def view_table_input(
    name: str, database: str, original: str, columns: list[tuple[str, str]]
) -> dict[str, Any]:
    """A view as Athena records it: its SQL and columns base64-encoded in a `/* Presto View */` comment."""
    encoded = base64.b64encode(
        json.dumps(
            {
                "originalSql": original,
                "catalog": "awsdatacatalog",
                "schema": database,
                "columns": [{"name": n, "type": duckdb_to_trino(t)[0]} for n, t in columns],
            }
        ).encode()
    ).decode()
    return {
        "Name": name,
        "TableType": "VIRTUAL_VIEW",
        "Parameters": {"presto_view": "true", "comment": "Presto View"},
        "ViewOriginalText": f"/* Presto View: {encoded} */",
        "ViewExpandedText": "/* Presto View */",
        # as Athena records a view: an empty location (dbt-athena reads it when it expires table versions)
        "StorageDescriptor": {"Columns": glue_columns(columns), "Location": "", "SerdeInfo": {}},
    }


def view_sql(table: dict[str, Any]) -> str:
    """The SQL of an Athena view, from its `/* Presto View */` text."""
    text = table.get("ViewOriginalText", "")
    match = re.fullmatch(r"/\* Presto View: (.*) \*/", text.strip())
    if not match:
        raise AthenaQueryError(f"HIVE_VIEW_TRANSLATION_ERROR: {table['Name']} is not an Athena view")
    return str(json.loads(base64.b64decode(match.group(1)))["originalSql"])


def _projection_bound(text: str, fmt: str) -> dt.date:
    match = re.fullmatch(r"NOW(?:([+-]\d+)(DAYS?|MONTHS?|YEARS?))?", text.upper())
    if not match:
        return dt.datetime.strptime(text, fmt).date()
    amount, unit = int(match.group(1) or 0), (match.group(2) or "DAYS")
    if not unit.startswith("DAY"):
        raise AthenaQueryError(f"NOT_SUPPORTED: projection range unit {unit}")
    return dt.datetime.now(dt.UTC).date() + dt.timedelta(days=amount)


def partition_filter(table: dict[str, Any]) -> Callable[[dict[str, str]], bool]:
    """Which partitions Athena sees: with projection, the values the projection enumerates (date type)."""
    params = table.get("Parameters", {})
    if params.get("projection.enabled", "").lower() != "true":
        return lambda values: True
    checks = []
    for key in table.get("PartitionKeys", []):
        name = key["Name"].lower()
        kind = params.get(f"projection.{name}.type", "")
        if kind != "date":
            raise AthenaQueryError(f"NOT_SUPPORTED: the stand-in projects date partitions only, not {kind}")
        low, high = (bound.strip() for bound in params[f"projection.{name}.range"].split(","))
        fmt = (
            params[f"projection.{name}.format"].replace("yyyy", "%Y").replace("MM", "%m").replace("dd", "%d")
        )
        lower, upper = _projection_bound(low, fmt), _projection_bound(high, fmt)

        def check(
            values: dict[str, str], name: str = name, fmt: str = fmt, lo: dt.date = lower, hi: dt.date = upper
        ) -> bool:
            try:
                day = dt.datetime.strptime(values[name], fmt).date()
            except ValueError:
                return False
            return lo <= day <= hi

        checks.append(check)
    return lambda values: all(check(values) for check in checks)


class Catalog:
    """moto's Glue and S3 as the engine sees them. `reads`, when given, answers reads of the catalog and of S3
    (table, objects, read) without an HTTP round trip, as Athena reads Glue and S3 from inside AWS; writes
    always go through the `s3` and `glue` clients. `now` is the clock snapshots are stamped with."""

    def __init__(self, s3: Any, glue: Any, reads: Any, now: Callable[[], float]) -> None:
        self.s3, self.glue, self.reads, self.now = s3, glue, reads, now

    # ---- Glue

    def table(self, database: str, name: str) -> dict[str, Any] | None:
        """GetTable, or None when the table does not exist."""
        if self.reads is not None:
            return self.reads.table(database, name)  # type: ignore[no-any-return]
        try:
            return self.glue.get_table(DatabaseName=database, Name=name)["Table"]  # type: ignore[no-any-return]
        except self.glue.exceptions.EntityNotFoundException:
            return None

    def require_table(self, database: str, name: str) -> dict[str, Any]:
        """GetTable, or Athena's TABLE_NOT_FOUND."""
        table = self.table(database, name)
        if table is None:
            raise AthenaQueryError(f"TABLE_NOT_FOUND: Table awsdatacatalog.{database}.{name} does not exist")
        return table

    def require_database(self, database: str) -> None:
        """GetDatabase, or Athena's SCHEMA_NOT_FOUND."""
        try:
            self.glue.get_database(Name=database)
        except self.glue.exceptions.EntityNotFoundException:
            raise AthenaQueryError(f"SCHEMA_NOT_FOUND: Schema {database} does not exist") from None

    def put_table(self, database: str, table_input: dict[str, Any]) -> None:
        """CreateTable in a database that must exist."""
        self.require_database(database)
        self.glue.create_table(DatabaseName=database, TableInput=table_input)

    def update_table(self, database: str, table_input: dict[str, Any]) -> None:
        """UpdateTable."""
        self.glue.update_table(DatabaseName=database, TableInput=table_input)

    # ---- S3

    def objects(self, uri: str) -> Iterator[dict[str, Any]]:
        """Every object under a location (Bucket, Key, ETag)."""
        bucket, prefix = split_s3(as_prefix(uri))
        if self.reads is not None:
            yield from self.reads.objects(bucket, prefix)
            return
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                obj["Bucket"] = bucket
                yield obj

    def is_empty(self, location: str) -> bool:
        """Whether no object lies under a location."""
        return next(self.objects(location), None) is None

    def get(self, bucket: str, key: str) -> bytes:
        """An object's bytes."""
        if self.reads is not None:
            return self.reads.read(bucket, key)  # type: ignore[no-any-return]
        return bytes(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read())

    def put(self, uri: str, body: bytes) -> None:
        """PutObject at a URI."""
        bucket, key = split_s3(uri)
        self.s3.put_object(Bucket=bucket, Key=key, Body=body)

    def delete(self, uri: str) -> None:
        """DeleteObject at a URI."""
        bucket, key = split_s3(uri)
        self.s3.delete_object(Bucket=bucket, Key=key)

    # ---- Iceberg metadata

    def iceberg_metadata(self, table: dict[str, Any]) -> dict[str, Any]:
        """The table's current metadata object, or Athena's ICEBERG_INVALID_METADATA."""
        location = table.get("Parameters", {}).get("metadata_location", "")
        try:
            return dict(json.loads(self.get(*split_s3(location))))
        except (self.s3.exceptions.NoSuchKey, KeyError, AthenaQueryError):
            raise AthenaQueryError(
                f"ICEBERG_INVALID_METADATA: Metadata not found in metadata location for table {table['Name']}",
                error_type=233,
            ) from None

    def write_iceberg_metadata(
        self,
        location: str,
        data_files: list[str],
        columns: list[tuple[str, str]],
        spec: list[str],
        previous: str | None = None,
    ) -> str:
        """A new metadata object (a snapshot) under the table's location; its URI."""
        metadata = {
            "format-version": 2,
            "location": location,
            "schema": [[n, duckdb_to_glue(t)] for n, t in columns],
            "partition-spec": spec,
            "data-files": data_files,
            "timestamp-ms": int(self.now() * 1000),
            "previous-metadata": previous,
        }
        uri = f"{as_prefix(location)}metadata/{uuid.uuid4()}.metadata.json"
        self.put(uri, json.dumps(metadata).encode())
        return uri

    def commit_iceberg(
        self,
        table: dict[str, Any],
        database: str,
        files: list[str],
        columns: list[tuple[str, str]],
        spec: list[str],
        glue: list[dict[str, str]] | None = None,
    ) -> None:
        """A new snapshot of the table listing `files`, made current in Glue (columns replaced when given)."""
        location = table["StorageDescriptor"]["Location"]
        previous = table["Parameters"].get("metadata_location") or None
        metadata_location = self.write_iceberg_metadata(location, files, columns, spec, previous)
        updated = table_input_of(table)
        updated["Parameters"] = {
            **updated["Parameters"],
            "metadata_location": metadata_location,
            "previous_metadata_location": table["Parameters"].get("metadata_location", ""),
        }
        if glue is not None:
            updated["StorageDescriptor"] = {**updated["StorageDescriptor"], "Columns": glue}
        self.update_table(database, updated)

    def snapshots(self, table: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """(metadata URI, metadata) of the table's snapshots, newest first, as far back as their objects exist."""
        chain, uri = [], table.get("Parameters", {}).get("metadata_location")
        while uri:
            try:
                metadata = json.loads(self.get(*split_s3(uri)))
            except (self.s3.exceptions.NoSuchKey, KeyError):
                break
            chain.append((uri, metadata))
            uri = metadata.get("previous-metadata")
        return chain
