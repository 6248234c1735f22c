"""Table data on DuckDB: what a query reads, read back from S3 at that moment, and what a write leaves there.

A Hive table is the files under its Glue location (partition values from the `key=value/` folders, partition
projection honoured; Parquet, or the OpenCSV files dbt-athena uploads for a seed); an Iceberg table is the data
files its current metadata object lists. Each is registered with DuckDB as a temporary view of the table's Glue
columns and types, for one statement. dbt runs 4 threads: each thread has its own DuckDB connection.
"""

from __future__ import annotations

import csv
import io
import re
import threading
import uuid
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from lakehouse.athena_local.catalog import (
    CSV_SERDE,
    PARQUET_SERDE,
    Catalog,
    as_prefix,
    glue_to_duckdb,
    is_iceberg,
    partition_filter,
    split_s3,
)
from lakehouse.athena_local.outcome import AthenaQueryError
from lakehouse.athena_local.prune import Bound, partition_stats
from lakehouse.athena_local.scan import Meter, RowGroup, parquet_row_groups
from lakehouse.athena_local.translate import Schema, sql_literal


class Tables:
    """One DuckDB database, a connection per thread, and the Parquet files read so far (cached by ETag)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._database = duckdb.connect()
        self._local = threading.local()
        self._files: dict[tuple[str, str, str], tuple[pa.Table, tuple[RowGroup, ...]]] = {}
        self.meter = Meter()

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """This thread's connection."""
        if not hasattr(self._local, "con"):
            self._local.con = self._database.cursor()
            self._local.registered, self._local.counter = [], 0
        return self._local.con  # type: ignore[no-any-return]

    @property
    def registered(self) -> list[str]:
        """The views and Arrow tables registered for this thread's statement."""
        self.con  # noqa: B018 - creates the thread's state
        return self._local.registered  # type: ignore[no-any-return]

    def _next(self) -> int:
        self.con  # noqa: B018
        self._local.counter += 1
        return self._local.counter  # type: ignore[no-any-return]

    def arrow(self, table: pa.Table) -> str:
        """Register an Arrow table with DuckDB for the statement; return its name."""
        name = f"__raw_{self._next()}"
        self.con.register(name, table)
        self.registered.append(name)
        return name

    def view(self, select_sql: str) -> str:
        """A temporary view for the statement; return its name."""
        name = f"__tbl_{self._next()}"
        self.con.execute(f'create or replace temp view "{name}" as {select_sql}')
        self.registered.append(name)
        return name

    def release(self) -> None:
        """Drop what the statement registered."""
        for name in reversed(self.registered):
            if name.startswith("__raw_"):
                self.con.unregister(name)
            else:
                self.con.execute(f'drop view if exists "{name}"')
        self.registered.clear()

    def schema(self) -> Schema:
        """The column types of the statement's table views (what typing a division needs)."""
        schema = {}
        for name in self.registered:
            if name.startswith("__tbl_"):
                described = self.con.execute(f'describe "{name}"').fetchall()
                schema[name] = {row[0]: row[1] for row in described}
        return schema

    def typed_select(
        self, columns: list[dict[str, Any]], source: str, partitions: dict[str, str] | None = None
    ) -> str:
        """A select of the Glue columns, cast to their types, from a registered source (missing ones null)."""
        available = {c.lower() for c in self.con.sql(f'select * from "{source}" limit 0').columns}
        parts = []
        for column in columns:
            name, duck = column["Name"].lower(), glue_to_duckdb(column["Type"])
            if partitions is not None and name in partitions:
                parts.append(f'cast({sql_literal(partitions[name])} as {duck}) as "{name}"')
            elif name in available:
                parts.append(f'cast("{name}" as {duck}) as "{name}"')
            else:
                parts.append(f'cast(null as {duck}) as "{name}"')
        return f'select {", ".join(parts)} from "{source}"'

    # ---- reading

    def parquet(
        self,
        bucket: str,
        key: str,
        etag: str,
        bounds: tuple[Bound, ...] = (),
        partition: dict[str, str] | None = None,
    ) -> pa.Table:
        """A Parquet object (read once per ETag), its scanned bytes counted for the statement: the row groups
        that the statement's `bounds` on the table, and the file's Hive `partition` values, cannot skip."""
        cached = self._files.get((bucket, key, etag))
        if cached is None:
            data = self.catalog.get(bucket, key)
            cached = pq.read_table(pa.BufferReader(data)), parquet_row_groups(data)
            self._files[(bucket, key, etag)] = cached
        self.meter.read_parquet(cached[1], bounds, partition_stats(partition or {}, bounds))
        return cached[0]

    def read_table(self, table: dict[str, Any], bounds: tuple[Bound, ...] = ()) -> str:
        """Register the table's current data; return the DuckDB view that holds it (`bounds`: what the
        statement's WHERE lets Athena skip of it, for the scanned bytes only: every row is still there)."""
        sd = table.get("StorageDescriptor", {})
        columns = list(sd.get("Columns", [])) + list(table.get("PartitionKeys", []))
        if is_iceberg(table):
            return self.read_iceberg(table, columns, bounds)
        location = sd.get("Location")
        if not location:
            raise AthenaQueryError(f"HIVE_METASTORE_ERROR: Table {table['Name']} has no location")
        serde = sd.get("SerdeInfo", {}).get("SerializationLibrary", PARQUET_SERDE)
        if serde == CSV_SERDE:
            skip = int(table.get("Parameters", {}).get("skip.header.line.count", "0"))
            return self._read_csv(location, columns, skip)
        if serde != PARQUET_SERDE:
            raise AthenaQueryError(
                f"NOT_SUPPORTED: the stand-in reads Parquet and OpenCSV tables, not {serde}"
            )
        return self._read_hive_parquet(table, location, columns, bounds)

    def _empty(self, columns: list[dict[str, Any]]) -> str:
        cols = ", ".join(
            f'cast(null as {glue_to_duckdb(c["Type"])}) as "{c["Name"].lower()}"' for c in columns
        )
        return self.view(f"select {cols} where false")

    def _union(self, parts: list[str], columns: list[dict[str, Any]]) -> str:
        if not parts:
            return self._empty(columns)
        return self.view(" union all ".join(f'select * from "{p}"' for p in parts))

    def _read_hive_parquet(
        self, table: dict[str, Any], location: str, columns: list[dict[str, Any]], bounds: tuple[Bound, ...]
    ) -> str:
        keys = [k["Name"].lower() for k in table.get("PartitionKeys", [])]
        visible = partition_filter(table)
        parts = []
        for obj in self.catalog.objects(location):
            relative = obj["Key"][len(split_s3(as_prefix(location))[1]) :]
            if relative.endswith("/") or relative.rsplit("/", 1)[-1].startswith(("_", ".")):
                continue
            values = dict(re.findall(r"([^/=]+)=([^/]+)/", relative))
            if keys and (set(keys) - set(values) or not visible(values)):
                continue
            partition = {k: values[k] for k in keys}
            raw = self.arrow(self.parquet(obj["Bucket"], obj["Key"], obj["ETag"], bounds, partition))
            parts.append(self.view(self.typed_select(columns, raw, partition)))
        return self._union(parts, columns)

    def _read_csv(self, location: str, columns: list[dict[str, Any]], skip: int) -> str:
        names = [c["Name"].lower() for c in columns]
        rows: list[list[str]] = []
        for obj in self.catalog.objects(location):
            raw = self.catalog.get(obj["Bucket"], obj["Key"])
            self.meter.read(len(raw))
            text = raw.decode()
            rows += [
                (r + [""] * len(names))[: len(names)] for r in list(csv.reader(io.StringIO(text)))[skip:]
            ]
        data = pa.table({n: pa.array([r[i] for r in rows], pa.string()) for i, n in enumerate(names)})
        return self.view(self.typed_select(columns, self.arrow(data)))

    def read_iceberg(
        self,
        table: dict[str, Any],
        columns: list[dict[str, Any]] | None = None,
        bounds: tuple[Bound, ...] = (),
    ) -> str:
        """The data files of the table's current snapshot, as one view (Glue's columns unless given; `bounds`
        as for `read_table`: a data file whose row groups all fail them counts nothing, as Athena skips a file
        by its manifest's min/max)."""
        if columns is None:
            columns = list(table["StorageDescriptor"]["Columns"]) + list(table.get("PartitionKeys", []))
        metadata = self.catalog.iceberg_metadata(table)
        # Iceberg data files are immutable: cached by name
        parts = [self.data_file(key, columns, bounds) for key in metadata["data-files"]]
        return self._union(parts, columns)

    def data_file(self, uri: str, columns: list[dict[str, Any]], bounds: tuple[Bound, ...] = ()) -> str:
        """One Iceberg data file as a view of the table's columns."""
        data = self.parquet(*split_s3(uri), "iceberg", bounds)
        return self.view(self.typed_select(columns, self.arrow(data)))

    # ---- writing

    def write_parquet(self, relation_sql: str, location: str) -> tuple[str, int, list[tuple[str, str]]]:
        """Materialise a query as one Parquet object under `location`; return its URI, row count, columns."""
        self.con.execute(f"create or replace temp table __write as {relation_sql}")
        columns = [(r[0], r[1]) for r in self.con.execute("describe __write").fetchall()]
        data = self.con.sql("select * from __write").to_arrow_table()
        self.con.execute("drop table __write")
        buffer = io.BytesIO()
        pq.write_table(data, buffer)
        uri = f"{as_prefix(location)}{uuid.uuid4()}.parquet"
        self.catalog.put(uri, buffer.getvalue())
        return uri, data.num_rows, columns

    def partition_count(self, relation_sql: str, expressions: list[str]) -> int:
        """How many partitions a write of the query opens (0 when unpartitioned)."""
        if not expressions:
            return 0
        keys = ", ".join(expressions)
        query = f"select count(*) from (select distinct {keys} from ({relation_sql}))"
        return int(self.con.execute(query).fetchall()[0][0])
