"""The query engine of the Athena stand-in: what Athena does with one statement, on DuckDB.

A statement is parsed with sqlglot's `athena` dialect (Hive DDL and Trino DML, as Athena routes them); one that
does not parse, or that uses what Athena does not have (a `::` cast, a function Trino does not know), fails as
Athena would. The rest runs on an in-memory DuckDB after sqlglot's athena -> duckdb transpilation, with the
Trino semantics DuckDB lacks put back (decimal division, `timestamp` = timestamp(3), `varchar(n)` truncation).

Data lives where Athena keeps it: in S3 (moto), as Parquet (CTAS, INSERT, MERGE) or the CSV dbt-athena uploads
for a seed, and every table a query reads is read back from its Glue location at that moment: a Hive table from
the files under its location (partition projection honoured), an Iceberg table from the data files its current
metadata object lists. The catalog is moto's Glue: CTAS, views, external tables, renames and drops are mirrored
there with the table type, location and columns Athena would record.

The Athena rules that bite in real accounts fail the query with Athena's own error text:
CTAS into a non-empty location, `external_location` on a Hive CTAS in a workgroup that enforces its settings
(without it, the data lands under `<results location>/tables/<query-id>/`, as in Athena), more than 100
partitions written by one CTAS or INSERT, an Iceberg table without a location, MERGE, OPTIMIZE or VACUUM on a
non-Iceberg table.

Iceberg upkeep is modelled on the stand-in's metadata objects, each a snapshot (its time, its data files, the
previous metadata object): `OPTIMIZE t REWRITE DATA USING BIN_PACK [WHERE p]` rewrites the data files holding rows
that match `p` (every file without it) into one, when there are at least two, as a new snapshot; `VACUUM t` expires
the snapshots older than the table's `vacuum_max_snapshot_age_seconds` (Athena's default 432000) beyond the newest
`vacuum_min_snapshots_to_keep` (default 1) and deletes their metadata and the data files no kept snapshot names.
The clock is `Engine.clock` (time.time), so a test can age snapshots without waiting.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.tokens import TokenType

ATHENA = Dialect.get_or_raise("athena")
MAX_OPEN_PARTITIONS = 100
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
CSV_SERDE = "org.apache.hadoop.hive.serde2.OpenCSVSerde"
# Trino functions sqlglot's parser has no expression class for (it keeps them as Anonymous): known to Athena.
# Any other Anonymous function is one Athena does not have (FUNCTION_NOT_FOUND), e.g. DuckDB's strftime.
TRINO_ONLY_NAMES = frozenset({"date_parse", "from_iso8601_timestamp", "from_iso8601_date", "typeof", "try"})
# Iceberg upkeep statements, which sqlglot keeps as an unparsed Command: Athena's grammar for each.
OPTIMIZE = re.compile(
    r"^\s*optimize\s+(?P<table>\S+)\s+rewrite\s+data\s+using\s+bin_pack(?:\s+where\s+(?P<where>.+?))?\s*;?\s*$",
    re.IGNORECASE | re.DOTALL,
)
VACUUM = re.compile(r"^\s*vacuum\s+(?P<table>\S+)\s*;?\s*$", re.IGNORECASE | re.DOTALL)
# Athena's defaults for the Iceberg table properties VACUUM reads.
DEFAULT_SNAPSHOT_AGE_SECONDS = 432000
DEFAULT_MIN_SNAPSHOTS = 1


class AthenaQueryError(Exception):
    """The query FAILED; the message is Athena's error text (ErrorType/ErrorCategory as Athena reports them)."""

    def __init__(self, message: str, error_type: int = 1100, category: int = 2) -> None:
        super().__init__(message)
        self.error_type, self.category = error_type, category


@dataclass
class Outcome:
    """What Athena returns for one statement."""

    statement_type: str  # DDL | DML | UTILITY
    kind: str  # for the statement log: select, ctas_iceberg, ctas_hive, merge, insert, rename, view, ...
    columns: list[tuple[str, str]] = field(default_factory=list)  # (name, DuckDB type)
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    update_count: int | None = None


@dataclass
class Context:
    database: str
    output_location: str  # the results location in force (the workgroup's when it enforces its settings)
    enforced: bool
    query_id: str


# ------------------------------------------------------------------------------------------------ type mapping

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


def glue_to_duckdb(glue_type: str) -> str:
    t = glue_type.strip().lower()
    if t.startswith("decimal"):
        return t.upper()
    return _GLUE_TO_DUCKDB[re.sub(r"\(.*\)$", "", t)]


def duckdb_to_glue(duck_type: str) -> str:
    """The Hive type Athena records in Glue for a column of this DuckDB type."""
    t = duck_type.upper()
    if t.startswith("DECIMAL"):
        return t.lower().replace(" ", "")
    mapping = {
        "VARCHAR": "string",
        "INTEGER": "int",
        "BIGINT": "bigint",
        "HUGEINT": "bigint",  # DuckDB sums bigints into HUGEINT; Trino keeps bigint
        "SMALLINT": "smallint",
        "TINYINT": "tinyint",
        "DOUBLE": "double",
        "FLOAT": "float",
        "BOOLEAN": "boolean",
        "DATE": "date",
        "BLOB": "binary",
    }
    if t.startswith("TIMESTAMP"):
        return "timestamp"
    if t not in mapping:
        raise AthenaQueryError(f"NOT_SUPPORTED: Unsupported Hive type: {duck_type}")
    return mapping[t]


def duckdb_to_trino(duck_type: str) -> tuple[str, int, int]:
    """(type name, precision, scale) of a result column, as Athena's ColumnInfo reports it."""
    t = duck_type.upper()
    if t.startswith("DECIMAL"):
        precision, scale = (int(x) for x in re.findall(r"\d+", t))
        return "decimal", precision, scale
    mapping = {
        "VARCHAR": "varchar",
        "INTEGER": "integer",
        "HUGEINT": "bigint",
        "FLOAT": "real",
        "BLOB": "varbinary",
    }
    name = mapping.get(t, t.lower())
    if t.startswith("TIMESTAMP"):
        name = "timestamp"
    return name, 0, 0


def render_value(value: Any) -> str | None:
    """A cell as Athena's GetQueryResults writes it (VarCharValue)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if hasattr(value, "isoformat") and hasattr(value, "hour"):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


# ------------------------------------------------------------------------------------------------------ S3 paths


def split_s3(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise AthenaQueryError(f"INVALID_TABLE_PROPERTY: '{uri}' is not an S3 location")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def as_prefix(uri: str) -> str:
    return uri.rstrip("/") + "/"


# ------------------------------------------------------------------------------------------------------- engine


class Engine:
    """Executes statements; `s3` and `glue` are boto3 clients of the stand-in's moto server."""

    def __init__(
        self, s3: Any, glue: Any, log: Callable[[str, str, str], None] | None = None, reads: Any = None
    ) -> None:
        """`reads`, when given, answers the engine's reads of the catalog and of S3 (table, objects, read) without
        an HTTP round trip, as Athena reads Glue and S3 from inside AWS; writes always go through `s3` and `glue`."""
        self.s3, self.glue, self.reads = s3, glue, reads
        self._database = duckdb.connect()
        self._local = (
            threading.local()
        )  # dbt runs 4 threads: each has its own DuckDB connection and temp views
        self._log = log or (lambda kind, outcome, sql: None)
        self._files: dict[tuple[str, str, str], pa.Table] = {}
        self.clock: Callable[[], float] = time.time

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if not hasattr(self._local, "con"):
            self._local.con = self._database.cursor()
            self._local.registered, self._local.counter = [], 0
        return self._local.con

    @property
    def _registered(self) -> list[str]:
        self.con  # noqa: B018 - creates the thread's state
        return self._local.registered  # type: ignore[no-any-return]

    def _next(self) -> int:
        self.con  # noqa: B018
        self._local.counter += 1
        return self._local.counter  # type: ignore[no-any-return]

    # ---- entry point

    def execute(self, sql: str, context: Context) -> Outcome:
        try:
            outcome = self._execute(sql, context)
        except AthenaQueryError as failure:
            self._log("failed", str(failure), sql)
            raise
        except (duckdb.Error, ParseError) as failure:  # a query Athena would also reject at run time
            message = str(failure).splitlines()[0]
            self._log("failed", message, sql)
            raise AthenaQueryError(f"GENERIC_USER_ERROR: {message}") from failure
        finally:
            self._release()
        self._log(outcome.kind, "ok", sql)
        return outcome

    def _execute(self, sql: str, context: Context) -> Outcome:
        if re.match(r"\s*(optimize|vacuum)\s", sql, re.IGNORECASE):  # sqlglot keeps them as a bare Command
            return self._upkeep(sql, context)
        statement = self._parse(sql)
        if isinstance(statement, exp.Create):
            kind = (statement.args.get("kind") or "").upper()
            if kind in ("SCHEMA", "DATABASE"):
                return self._create_database(statement)
            if kind == "VIEW":
                return self._create_view(statement, context)
            if kind == "TABLE" and statement.expression is not None:
                return self._ctas(statement, context)
            if kind == "TABLE":
                return self._create_external(statement, context)
        if isinstance(statement, exp.Drop):
            return self._drop(statement, context)
        if isinstance(statement, exp.Alter):
            return self._alter(statement, context)
        if isinstance(statement, exp.Insert):
            return self._insert(statement, context)
        if isinstance(statement, exp.Merge):
            return self._merge(statement, context)
        if isinstance(statement, exp.Query):
            columns, rows = self._select(statement, context)
            return Outcome("DML", "select", columns, rows)
        raise AthenaQueryError(
            f"NOT_SUPPORTED: the stand-in does not model {type(statement).__name__} statements"
        )

    def _parse(self, sql: str) -> exp.Expression:
        try:
            tokens = ATHENA.tokenize(sql)
        except Exception as failure:  # sqlglot's TokenError
            raise AthenaQueryError(f"SYNTAX_ERROR: {failure}") from failure
        for token in tokens:
            if token.token_type == TokenType.DCOLON:
                raise AthenaQueryError(
                    f"SYNTAX_ERROR: line {token.line}:{token.col}: mismatched input '::'. Expecting: <expression>"
                )
        try:
            statements = [s for s in ATHENA.parser().parse(tokens, sql) if s is not None]
        except ParseError as failure:
            raise AthenaQueryError(f"SYNTAX_ERROR: {str(failure).splitlines()[0]}") from failure
        if len(statements) != 1:
            raise AthenaQueryError("INVALID_QUERY: Only one sql statement is allowed.")
        statement = statements[0]
        for function in statement.find_all(exp.Anonymous):
            name = function.name.lower()
            if name not in TRINO_ONLY_NAMES:
                raise AthenaQueryError(
                    f"FUNCTION_NOT_FOUND: line 1:1: Function '{name}' not registered", error_type=1006
                )
        return statement

    # ---- catalog helpers

    def _name(self, table: exp.Table, context: Context) -> tuple[str, str]:
        return (table.db or context.database).lower(), table.name.lower()

    def glue_table(self, database: str, name: str) -> dict[str, Any] | None:
        if self.reads is not None:
            return self.reads.table(database, name)  # type: ignore[no-any-return]
        try:
            return self.glue.get_table(DatabaseName=database, Name=name)["Table"]
        except self.glue.exceptions.EntityNotFoundException:
            return None

    def _require_database(self, database: str) -> None:
        try:
            self.glue.get_database(Name=database)
        except self.glue.exceptions.EntityNotFoundException:
            raise AthenaQueryError(f"SCHEMA_NOT_FOUND: Schema {database} does not exist") from None

    def _put_table(self, database: str, table_input: dict[str, Any]) -> None:
        self._require_database(database)
        self.glue.create_table(DatabaseName=database, TableInput=table_input)

    def _create_database(self, statement: exp.Create) -> Outcome:
        name = (statement.this.name or statement.this.db).lower()  # sqlglot keeps a schema's name as `db`
        try:
            self.glue.create_database(DatabaseInput={"Name": name})
        except self.glue.exceptions.AlreadyExistsException:
            if not statement.args.get("exists"):
                raise AthenaQueryError(f"Database {name} already exists") from None
        return Outcome("DDL", "create_database")

    # ---- reading tables

    def _objects(self, uri: str) -> Iterator[dict[str, Any]]:
        bucket, prefix = split_s3(as_prefix(uri))
        if self.reads is not None:
            yield from self.reads.objects(bucket, prefix)
            return
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                obj["Bucket"] = bucket
                yield obj

    def _get(self, bucket: str, key: str) -> bytes:
        if self.reads is not None:
            return self.reads.read(bucket, key)  # type: ignore[no-any-return]
        return bytes(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read())

    def _parquet(self, bucket: str, key: str, etag: str) -> pa.Table:
        cached = self._files.get((bucket, key, etag))
        if cached is None:
            cached = pq.read_table(pa.BufferReader(self._get(bucket, key)))
            self._files[(bucket, key, etag)] = cached
        return cached

    def _arrow(self, table: pa.Table) -> str:
        """Register an Arrow table with DuckDB for the statement; return its name."""
        name = f"__raw_{self._next()}"
        self.con.register(name, table)
        self._registered.append(name)
        return name

    def _view(self, select_sql: str) -> str:
        """A temporary view for the statement; return its name."""
        name = f"__tbl_{self._next()}"
        self.con.execute(f'create or replace temp view "{name}" as {select_sql}')
        self._registered.append(name)
        return name

    def _release(self) -> None:
        for name in reversed(self._registered):
            if name.startswith("__raw_"):
                self.con.unregister(name)
            else:
                self.con.execute(f'drop view if exists "{name}"')
        self._registered.clear()

    def _typed_select(
        self, columns: list[dict[str, Any]], source: str, partitions: dict[str, str] | None = None
    ) -> str:
        available = {c.lower() for c in self.con.sql(f'select * from "{source}" limit 0').columns}
        parts = []
        for column in columns:
            name, duck = column["Name"].lower(), glue_to_duckdb(column["Type"])
            if partitions is not None and name in partitions:
                value = partitions[name]
                parts.append(f'cast({sql_literal(value)} as {duck}) as "{name}"')
            elif name in available:
                parts.append(f'cast("{name}" as {duck}) as "{name}"')
            else:
                parts.append(f'cast(null as {duck}) as "{name}"')
        return f'select {", ".join(parts)} from "{source}"'

    def read_table(self, table: dict[str, Any]) -> str:
        """Register the table's current data; return the DuckDB view that holds it."""
        sd = table.get("StorageDescriptor", {})
        columns = list(sd.get("Columns", [])) + list(table.get("PartitionKeys", []))
        params = table.get("Parameters", {})
        if params.get("table_type", "").upper() == "ICEBERG":
            return self._read_iceberg(table, columns)
        location = sd.get("Location")
        if not location:
            raise AthenaQueryError(f"HIVE_METASTORE_ERROR: Table {table['Name']} has no location")
        serde = sd.get("SerdeInfo", {}).get("SerializationLibrary", PARQUET_SERDE)
        if serde == CSV_SERDE:
            return self._read_csv(location, columns, int(params.get("skip.header.line.count", "0")))
        if serde != PARQUET_SERDE:
            raise AthenaQueryError(
                f"NOT_SUPPORTED: the stand-in reads Parquet and OpenCSV tables, not {serde}"
            )
        return self._read_hive_parquet(table, location, columns)

    def _empty(self, columns: list[dict[str, Any]]) -> str:
        cols = ", ".join(
            f'cast(null as {glue_to_duckdb(c["Type"])}) as "{c["Name"].lower()}"' for c in columns
        )
        return self._view(f"select {cols} where false")

    def _union(self, parts: list[str]) -> str:
        return self._view(" union all ".join(f'select * from "{p}"' for p in parts))

    def _read_hive_parquet(self, table: dict[str, Any], location: str, columns: list[dict[str, Any]]) -> str:
        keys = [k["Name"].lower() for k in table.get("PartitionKeys", [])]
        visible = partition_filter(table)
        parts = []
        for obj in self._objects(location):
            relative = obj["Key"][len(split_s3(as_prefix(location))[1]) :]
            if relative.endswith("/") or relative.rsplit("/", 1)[-1].startswith(("_", ".")):
                continue
            values = dict(re.findall(r"([^/=]+)=([^/]+)/", relative))
            if keys and (set(keys) - set(values) or not visible(values)):
                continue
            raw = self._arrow(self._parquet(obj["Bucket"], obj["Key"], obj["ETag"]))
            parts.append(self._view(self._typed_select(columns, raw, {k: values[k] for k in keys})))
        return self._union(parts) if parts else self._empty(columns)

    def _read_csv(self, location: str, columns: list[dict[str, Any]], skip: int) -> str:
        names = [c["Name"].lower() for c in columns]
        rows: list[list[str]] = []
        for obj in self._objects(location):
            text = self._get(obj["Bucket"], obj["Key"]).decode()
            rows += [
                (r + [""] * len(names))[: len(names)] for r in list(csv.reader(io.StringIO(text)))[skip:]
            ]
        data = pa.table({n: pa.array([r[i] for r in rows], pa.string()) for i, n in enumerate(names)})
        return self._view(self._typed_select(columns, self._arrow(data)))

    def _read_iceberg(self, table: dict[str, Any], columns: list[dict[str, Any]]) -> str:
        metadata = self._iceberg_metadata(table)
        parts = []
        for key in metadata["data-files"]:  # Iceberg data files are immutable: cached by name
            raw = self._arrow(self._parquet(*split_s3(key), "iceberg"))
            parts.append(self._view(self._typed_select(columns, raw)))
        return self._union(parts) if parts else self._empty(columns)

    def _iceberg_metadata(self, table: dict[str, Any]) -> dict[str, Any]:
        location = table.get("Parameters", {}).get("metadata_location", "")
        try:
            return dict(json.loads(self._get(*split_s3(location))))
        except (self.s3.exceptions.NoSuchKey, KeyError, AthenaQueryError):
            raise AthenaQueryError(
                f"ICEBERG_INVALID_METADATA: Metadata not found in metadata location for table {table['Name']}",
                error_type=233,
            ) from None

    # ---- resolving a query against the catalog

    def resolve(self, query: exp.Expression, context: Context, depth: int = 0) -> exp.Expression:
        """Replace every catalog table of the query with the DuckDB view holding its data (views inlined)."""
        if depth > 20:
            raise AthenaQueryError("VIEW_IS_RECURSIVE: View is recursive")
        ctes = {cte.alias_or_name.lower() for cte in query.find_all(exp.CTE)}
        for table in list(query.find_all(exp.Table)):
            if isinstance(table.parent, exp.Merge) and table.arg_key == "this":
                continue  # MERGE's target: the caller replaces it
            if not table.db and table.name.lower() in ctes:
                continue
            if table.this is None or isinstance(table.this, exp.Func):
                continue
            database, name = self._name(table, context)
            glue_table = self.glue_table(database, name)
            if glue_table is None:
                raise AthenaQueryError(
                    f"TABLE_NOT_FOUND: line 1:1: Table 'awsdatacatalog.{database}.{name}' does not exist",
                    error_type=1002,
                )
            alias = table.alias or name
            if glue_table.get("TableType") == "VIRTUAL_VIEW":
                body = view_sql(glue_table)
                inner = self.resolve(
                    self._parse(body), Context(glue_table["DatabaseName"], "", False, ""), depth + 1
                )
                table.replace(exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier(alias))))
            else:
                view = self.read_table(glue_table)
                table.replace(exp.table_(view, alias=exp.to_identifier(alias, quoted=True)))
        return query

    def to_duckdb(self, query: exp.Expression) -> str:
        """DuckDB SQL with Trino's semantics for what the two engines do differently."""
        for cast in list(query.find_all(exp.Cast)):
            to = cast.to
            if to.is_type(exp.DataType.Type.TIMESTAMP):
                precision = [e for e in to.expressions if isinstance(e, exp.DataTypeParam)]
                digits = int(precision[0].name) if precision else 3
                if 0 < digits <= 3 or not precision:  # Trino's `timestamp` is timestamp(3): it rounds
                    cast.replace(
                        exp.cast(
                            exp.cast(cast.this, exp.DataType.build("TIMESTAMP_MS", dialect="duckdb")),
                            "TIMESTAMP",
                        )
                    )
            elif to.is_type(exp.DataType.Type.VARCHAR) and to.expressions:
                length = int(to.expressions[0].name)  # Trino truncates on a cast to a shorter varchar
                cast.replace(
                    exp.Substring(
                        this=exp.cast(cast.this, "VARCHAR"),
                        start=exp.Literal.number(1),
                        length=exp.Literal.number(length),
                    )
                )
        if query.find(exp.Div):
            query = self._exact_division(query)
        return query.sql("duckdb")

    def _exact_division(self, query: exp.Expression) -> exp.Expression:
        """Trino divides decimals exactly and rounds half up; integers with truncation. DuckDB goes through
        DOUBLE: rewrite each division from the types sqlglot infers."""
        schema = {}
        for name in self._registered:
            if name.startswith("__tbl_"):
                described = self.con.execute(f'describe "{name}"').fetchall()
                schema[name] = {row[0]: row[1] for row in described}
        try:
            typed = annotate_types(qualify(query.copy(), schema=schema, dialect="duckdb"), schema=schema)
        except Exception as failure:
            raise AthenaQueryError(f"the stand-in could not type a division: {failure}") from failure
        for div in list(typed.find_all(exp.Div)):
            left, right = div.this.type, div.expression.type
            if left is None or right is None:
                continue
            if left.is_type(*exp.DataType.REAL_TYPES - {exp.DataType.Type.DECIMAL}) or right.is_type(
                *exp.DataType.REAL_TYPES - {exp.DataType.Type.DECIMAL}
            ):
                continue
            if left.is_type(exp.DataType.Type.DECIMAL) or right.is_type(exp.DataType.Type.DECIMAL):
                scale = max(decimal_scale(left), decimal_scale(right))
                div.replace(decimal_division(div.this, div.expression, scale))
            elif div.args.get("typed") is not True:
                div.set("typed", True)
        return typed

    def _select(self, query: exp.Expression, context: Context) -> tuple[list[tuple[str, str]], list[tuple]]:
        sql = self.to_duckdb(self.resolve(query, context))
        relation = self.con.sql(sql)
        columns = [(name, str(t)) for name, t in zip(relation.columns, relation.types, strict=True)]
        return columns, relation.fetchall()

    # ---- writing tables

    def _write_parquet(self, relation_sql: str, location: str) -> tuple[str, int, list[tuple[str, str]]]:
        """Materialise a query as one Parquet object under `location`; return its URI, row count, columns."""
        self.con.execute(f"create or replace temp table __write as {relation_sql}")
        columns = [(r[0], r[1]) for r in self.con.execute("describe __write").fetchall()]
        data = self.con.sql("select * from __write").to_arrow_table()
        self.con.execute("drop table __write")
        buffer = io.BytesIO()
        pq.write_table(data, buffer)
        uri = f"{as_prefix(location)}{uuid.uuid4()}.parquet"
        bucket, key = split_s3(uri)
        self.s3.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())
        return uri, data.num_rows, columns

    def _check_partitions(self, relation_sql: str, expressions: list[str], iceberg: bool) -> None:
        if not expressions:
            return
        keys = ", ".join(expressions)
        count = self.con.execute(
            f"select count(*) from (select distinct {keys} from ({relation_sql}))"
        ).fetchall()[0][0]
        if count > MAX_OPEN_PARTITIONS:
            if iceberg:
                raise AthenaQueryError(
                    "ICEBERG_TOO_MANY_OPEN_PARTITIONS: Exceeded limit of 100 open writers for partitions",
                    error_type=233,
                )
            raise AthenaQueryError(
                "HIVE_TOO_MANY_OPEN_PARTITIONS: Exceeded limit of 100 open writers for partitions/buckets"
            )

    def _location_is_empty(self, location: str) -> bool:
        return next(self._objects(location), None) is None

    def _ctas(self, statement: exp.Create, context: Context) -> Outcome:
        target = statement.this if isinstance(statement.this, exp.Table) else statement.this.this
        database, name = self._name(target, context)
        self._require_database(database)
        if self.glue_table(database, name) is not None:
            if statement.args.get("exists"):
                return Outcome("DDL", "ctas_skipped")
            raise AthenaQueryError(f"Table awsdatacatalog.{database}.{name} already exists")
        props = properties(statement)
        iceberg = props.get("table_type", "hive").lower() == "iceberg"
        if iceberg:
            location = props.get("location")
            if not location:
                raise AthenaQueryError(
                    "INVALID_TABLE_PROPERTY: The location property must be set for Iceberg tables"
                )
            spec = [p for p in props.get("partitioning", [])]
        else:
            if "location" in props:
                raise AthenaQueryError("INVALID_TABLE_PROPERTY: Unknown table property 'location'")
            if props.get("external_location") and context.enforced:
                raise AthenaQueryError(
                    "The Create Table As Select query failed because it was submitted with an 'external_location'"
                    " property to an Athena Workgroup that enforces a centralized output location for all queries."
                    " Please remove the 'external_location' property and resubmit the query."
                )
            location = props.get("external_location") or (
                f"{as_prefix(context.output_location.rsplit('/', 1)[0])}tables/{context.query_id}"
            )
            spec = [p for p in props.get("partitioned_by", [])]
        if props.get("format", "parquet").lower() != "parquet":
            raise AthenaQueryError("NOT_SUPPORTED: the stand-in writes Parquet tables only")
        if not self._location_is_empty(location):
            raise AthenaQueryError(
                f"HIVE_PATH_ALREADY_EXISTS: Target directory for table '{database}.{name}' already exists:"
                f" {location}. You may need to manually clean the data at location '{location}' before"
                " retrying. Athena will not delete data in your account."
            )
        query_sql = self.to_duckdb(self.resolve(statement.expression, context))
        self._check_partitions(query_sql, [partition_expression(p) for p in spec], iceberg)
        if iceberg:
            data_uri, rows, columns = self._write_parquet(query_sql, f"{as_prefix(location)}data")
            metadata_location = self._write_iceberg_metadata(location, [data_uri], columns, spec)
            self._put_table(database, iceberg_table_input(name, location, columns, metadata_location))
        else:
            _, rows, columns = self._write_parquet(query_sql, location)
            self._put_table(database, hive_table_input(name, location, columns, spec))
        return Outcome("DDL", "ctas_iceberg" if iceberg else "ctas_hive", update_count=rows)

    def _write_iceberg_metadata(
        self,
        location: str,
        data_files: list[str],
        columns: list[tuple[str, str]],
        spec: list[str],
        previous: str | None = None,
    ) -> str:
        metadata = {
            "format-version": 2,
            "location": location,
            "schema": [[n, duckdb_to_glue(t)] for n, t in columns],
            "partition-spec": spec,
            "data-files": data_files,
            "timestamp-ms": int(self.clock() * 1000),
            "previous-metadata": previous,
        }
        uri = f"{as_prefix(location)}metadata/{uuid.uuid4()}.metadata.json"
        bucket, key = split_s3(uri)
        self.s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(metadata).encode())
        return uri

    def _create_external(self, statement: exp.Create, context: Context) -> Outcome:
        schema = statement.this
        database, name = self._name(schema.this, context)
        if self.glue_table(database, name) is not None:
            if statement.args.get("exists"):
                return Outcome("DDL", "create_external_skipped")
            raise AthenaQueryError(f"Table {name} already exists")
        columns = [
            {"Name": c.name.lower(), "Type": c.args["kind"].sql("hive").lower()}
            for c in schema.expressions
            if isinstance(c, exp.ColumnDef)
        ]
        props = properties(statement)
        location = props.get("location")
        if not location:
            raise AthenaQueryError("SYNTAX_ERROR: an external table needs a LOCATION")
        serde = props.get("serde", PARQUET_SERDE)
        parameters = {k: v for k, v in props.items() if "." in k or k == "classification"}
        parameters["EXTERNAL"] = "TRUE"
        self._put_table(
            database,
            {
                "Name": name,
                "TableType": "EXTERNAL_TABLE",
                "Parameters": parameters,
                "StorageDescriptor": {
                    "Columns": columns,
                    "Location": location,
                    "SerdeInfo": {"SerializationLibrary": serde},
                },
            },
        )
        return Outcome("DDL", "create_external_table")

    def _create_view(self, statement: exp.Create, context: Context) -> Outcome:
        database, name = self._name(statement.this, context)
        body = statement.expression
        original = body.sql("athena")
        probe = self.to_duckdb(
            self.resolve(body.copy(), context)
        )  # Athena analyses the view when it is created
        relation = self.con.sql(probe)
        columns = [(n, str(t)) for n, t in zip(relation.columns, relation.types, strict=True)]
        existing = self.glue_table(database, name)
        if existing is not None and not statement.args.get("replace"):
            raise AthenaQueryError(f"View already exists: '{database}.{name}'")
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
        table_input = {
            "Name": name,
            "TableType": "VIRTUAL_VIEW",
            "Parameters": {"presto_view": "true", "comment": "Presto View"},
            "ViewOriginalText": f"/* Presto View: {encoded} */",
            "ViewExpandedText": "/* Presto View */",
            # as Athena records a view: an empty location (dbt-athena reads it when it expires table versions)
            "StorageDescriptor": {
                "Columns": [{"Name": n, "Type": duckdb_to_glue(t)} for n, t in columns],
                "Location": "",
                "SerdeInfo": {},
            },
        }
        if existing is None:
            self._put_table(database, table_input)
        else:
            self.glue.update_table(DatabaseName=database, TableInput=table_input)
        return Outcome("DDL", "create_view")

    def _drop(self, statement: exp.Drop, context: Context) -> Outcome:
        kind = (statement.args.get("kind") or "").upper()
        target = statement.this or (statement.args.get("tables") or [None])[0]
        if kind in ("SCHEMA", "DATABASE"):
            self.glue.delete_database(Name=target.name.lower())
            return Outcome("DDL", "drop_database")
        database, name = self._name(target, context)
        table = self.glue_table(database, name)
        if table is None:
            if statement.args.get("exists"):
                return Outcome("DDL", f"drop_{kind.lower()}")
            raise AthenaQueryError(f"Table {database}.{name} does not exist")
        if (table.get("TableType") == "VIRTUAL_VIEW") != (kind == "VIEW"):
            raise AthenaQueryError(f"NOT_SUPPORTED: cannot drop {name} with DROP {kind}")
        if table.get("Parameters", {}).get("table_type", "").upper() == "ICEBERG":
            location = table["StorageDescriptor"]["Location"]  # an Iceberg DROP TABLE deletes the data too
            for obj in list(self._objects(location)):
                self.s3.delete_object(Bucket=obj["Bucket"], Key=obj["Key"])
        self.glue.delete_table(DatabaseName=database, Name=name)
        return Outcome("DDL", f"drop_{kind.lower()}")

    def _alter(self, statement: exp.Alter, context: Context) -> Outcome:
        database, name = self._name(statement.this, context)
        table = self.glue_table(database, name)
        if table is None:
            raise AthenaQueryError(f"TABLE_NOT_FOUND: Table awsdatacatalog.{database}.{name} does not exist")
        (action,) = statement.args.get("actions") or [None]
        if isinstance(action, exp.AlterRename):
            target = action.this
            new_database, new_name = (target.db or database).lower(), target.name.lower()
            if table.get("Parameters", {}).get("table_type", "").upper() != "ICEBERG":
                raise AthenaQueryError(
                    "NOT_SUPPORTED: ALTER TABLE RENAME is only supported for Iceberg tables"
                )
            if self.glue_table(new_database, new_name) is not None:
                raise AthenaQueryError(f"Table {new_database}.{new_name} already exists")
            self._put_table(new_database, {**table_input_of(table), "Name": new_name})
            self.glue.delete_table(DatabaseName=database, Name=name)
            return Outcome("DDL", "rename")
        if isinstance(action, exp.AlterSet):
            props = properties(action)
            updated = table_input_of(table)
            updated["Parameters"] = {**updated.get("Parameters", {}), **props}
            self.glue.update_table(DatabaseName=database, TableInput=updated)
            return Outcome("DDL", "set_tblproperties")
        raise AthenaQueryError(f"NOT_SUPPORTED: the stand-in does not model {statement.sql('athena')[:60]}")

    def _insert(self, statement: exp.Insert, context: Context) -> Outcome:
        target = statement.this.this if isinstance(statement.this, exp.Schema) else statement.this
        database, name = self._name(target, context)
        table = self.glue_table(database, name)
        if table is None:
            raise AthenaQueryError(f"TABLE_NOT_FOUND: Table awsdatacatalog.{database}.{name} does not exist")
        columns = [c["Name"].lower() for c in table["StorageDescriptor"]["Columns"]]
        named = (
            [c.name.lower() for c in statement.this.expressions]
            if isinstance(statement.this, exp.Schema)
            else columns
        )
        source = self.to_duckdb(self.resolve(statement.expression, context))
        ordered = ", ".join(f'"{c}"' if c in named else f'null as "{c}"' for c in columns)
        renamed = f"select * from ({source}) as __src({', '.join(chr(34) + c + chr(34) for c in named)})"
        relation_sql = f"select {ordered} from ({renamed})"
        iceberg = table.get("Parameters", {}).get("table_type", "").upper() == "ICEBERG"
        location = table["StorageDescriptor"]["Location"]
        if iceberg:
            metadata = self._iceberg_metadata(table)
            self._check_partitions(
                relation_sql, [partition_expression(p) for p in metadata["partition-spec"]], True
            )
            uri, rows, cols = self._write_parquet(relation_sql, f"{as_prefix(location)}data")
            self._commit_iceberg(
                table, database, [*metadata["data-files"], uri], cols, metadata["partition-spec"]
            )
        else:
            if table.get("PartitionKeys"):
                raise AthenaQueryError(
                    "NOT_SUPPORTED: the stand-in inserts into unpartitioned Hive tables only"
                )
            _, rows, _ = self._write_parquet(relation_sql, location)
        return Outcome("DML", "insert", update_count=rows)

    def _commit_iceberg(
        self,
        table: dict[str, Any],
        database: str,
        files: list[str],
        columns: list[tuple[str, str]],
        spec: list[str],
    ) -> None:
        location = table["StorageDescriptor"]["Location"]
        previous = table["Parameters"].get("metadata_location") or None
        metadata_location = self._write_iceberg_metadata(location, files, columns, spec, previous)
        updated = table_input_of(table)
        updated["Parameters"] = {
            **updated["Parameters"],
            "metadata_location": metadata_location,
            "previous_metadata_location": table["Parameters"].get("metadata_location", ""),
        }
        self.glue.update_table(DatabaseName=database, TableInput=updated)

    def _merge(self, statement: exp.Merge, context: Context) -> Outcome:
        target = statement.this
        database, name = self._name(target, context)
        table = self.glue_table(database, name)
        if table is None:
            raise AthenaQueryError(f"TABLE_NOT_FOUND: Table awsdatacatalog.{database}.{name} does not exist")
        if table.get("Parameters", {}).get("table_type", "").upper() != "ICEBERG":
            raise AthenaQueryError("NOT_SUPPORTED: MERGE INTO is only supported for Iceberg tables")
        metadata = self._iceberg_metadata(table)
        view = self.read_table(table)
        self.con.execute(f'create or replace temp table __merge_target as select * from "{view}"')
        alias = target.alias or name
        target.replace(exp.table_("__merge_target", alias=exp.to_identifier(alias, quoted=True)))
        merge_sql = self.to_duckdb(self.resolve(statement, context))
        changed = self.con.execute(merge_sql).fetchall()
        rows = int(changed[0][0]) if changed and changed[0] else 0
        location = table["StorageDescriptor"]["Location"]
        uri, _, cols = self._write_parquet("select * from __merge_target", f"{as_prefix(location)}data")
        self.con.execute("drop table __merge_target")
        self._commit_iceberg(table, database, [uri], cols, metadata["partition-spec"])
        return Outcome("DML", "merge", update_count=rows)

    # ---- Iceberg upkeep

    def _upkeep(self, sql: str, context: Context) -> Outcome:
        match = OPTIMIZE.match(sql) or VACUUM.match(sql)
        kind = sql.strip().split(None, 1)[0].lower()
        if match is None:
            raise AthenaQueryError(
                f"SYNTAX_ERROR: line 1:1: {kind.upper()} statement not recognised: {sql[:80]}"
            )
        database, name = self._name(exp.to_table(match["table"], dialect=ATHENA), context)
        table = self.glue_table(database, name)
        if table is None:
            raise AthenaQueryError(f"TABLE_NOT_FOUND: Table awsdatacatalog.{database}.{name} does not exist")
        if table.get("Parameters", {}).get("table_type", "").upper() != "ICEBERG":
            raise AthenaQueryError(f"NOT_SUPPORTED: {kind.upper()} is only supported for Iceberg tables")
        if kind == "optimize":
            return self._optimize(table, database, match["where"])
        return self._vacuum(table)

    def _optimize(self, table: dict[str, Any], database: str, where: str | None) -> Outcome:
        metadata = self._iceberg_metadata(table)
        columns = list(table["StorageDescriptor"]["Columns"]) + list(table.get("PartitionKeys", []))
        condition = sqlglot.condition(where, dialect=ATHENA).sql("duckdb") if where else "true"
        touched, kept = [], []
        for key in metadata["data-files"]:
            view = self._view(
                self._typed_select(columns, self._arrow(self._parquet(*split_s3(key), "iceberg")))
            )
            ((matches,),) = self.con.execute(f'select count(*) from "{view}" where {condition}').fetchall()
            (touched if matches else kept).append((key, view))
        if len(touched) < 2:  # nothing to bin-pack: Athena commits no snapshot
            return Outcome("DML", "optimize", update_count=0)
        location = table["StorageDescriptor"]["Location"]
        uri, rows, cols = self._write_parquet(
            " union all ".join(f'select * from "{view}"' for _, view in touched), f"{as_prefix(location)}data"
        )
        self._commit_iceberg(
            table, database, [key for key, _ in kept] + [uri], cols, metadata["partition-spec"]
        )
        return Outcome("DML", "optimize", update_count=rows)

    def _snapshots(self, table: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """(metadata URI, metadata) of the table's snapshots, newest first, as far back as their objects exist."""
        chain, uri = [], table.get("Parameters", {}).get("metadata_location")
        while uri:
            try:
                metadata = json.loads(self._get(*split_s3(uri)))
            except (self.s3.exceptions.NoSuchKey, KeyError):
                break
            chain.append((uri, metadata))
            uri = metadata.get("previous-metadata")
        return chain

    def _vacuum(self, table: dict[str, Any]) -> Outcome:
        params = table.get("Parameters", {})
        max_age_ms = 1000 * int(params.get("vacuum_max_snapshot_age_seconds", DEFAULT_SNAPSHOT_AGE_SECONDS))
        keep_newest = int(params.get("vacuum_min_snapshots_to_keep", DEFAULT_MIN_SNAPSHOTS))
        now_ms = int(self.clock() * 1000)
        chain = self._snapshots(table)
        kept = [
            (uri, metadata)
            for i, (uri, metadata) in enumerate(chain)
            if i < keep_newest or now_ms - int(metadata.get("timestamp-ms", now_ms)) <= max_age_ms
        ]
        named = {uri for uri, _ in kept} | {key for _, metadata in kept for key in metadata["data-files"]}
        expired = [(uri, metadata) for uri, metadata in chain if uri not in named]
        doomed = {uri for uri, _ in expired} | {
            key for _, metadata in expired for key in metadata["data-files"]
        }
        for uri in sorted(doomed - named):
            bucket, key = split_s3(uri)
            self.s3.delete_object(Bucket=bucket, Key=key)
        return Outcome("DML", "vacuum", update_count=len(doomed - named))


# --------------------------------------------------------------------------------------------------- helpers


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def decimal_scale(data_type: exp.DataType) -> int:
    if data_type.is_type(exp.DataType.Type.DECIMAL) and len(data_type.expressions) == 2:
        return int(data_type.expressions[1].name)
    return 0


def decimal_division(left: exp.Expression, right: exp.Expression, scale: int) -> exp.Expression:
    """left / right at `scale` decimals, rounded half up (away from zero), computed on 128-bit integers."""
    factor = 10**scale
    a = f"cast(({left.sql('duckdb')}) * {factor} as hugeint)"
    b = f"cast(({right.sql('duckdb')}) * {factor} as hugeint)"
    quotient = f"(sign({a}) * sign({b}) * ((2 * abs({a}) * {factor} + abs({b})) // (2 * abs({b}))))"
    unit = f"cast('{1 / factor:.{scale}f}' as decimal({scale}, {scale}))" if scale else "1"
    return sqlglot.parse_one(f"(cast({quotient} as decimal(36, 0)) * {unit})", read="duckdb")


def partition_expression(spec: str) -> str:
    """A partition transform (`month(order_date)`, `bucket(8, id)`, a column) as a DuckDB expression."""
    match = re.fullmatch(r"\s*(year|month|day|hour)\((\w+)\)\s*", spec, re.IGNORECASE)
    if match:
        return f"date_trunc('{match.group(1).lower()}', \"{match.group(2).lower()}\")"
    match = re.fullmatch(r"\s*bucket\((\d+),\s*(\w+)\)\s*", spec, re.IGNORECASE)
    if match:
        return f'hash("{match.group(2).lower()}") % {match.group(1)}'
    return f'"{spec.strip().lower()}"'


def properties(node: exp.Expression) -> dict[str, Any]:
    """The WITH (...) / TBLPROPERTIES / LOCATION / ROW FORMAT SERDE properties of a statement, by name."""
    result: dict[str, Any] = {}
    props = node.args.get("properties")
    items = props.expressions if props is not None else node.args.get("expressions", [])
    for prop in items:
        if isinstance(prop, exp.Properties):
            result.update(properties(prop))
        elif isinstance(prop, exp.LocationProperty):
            result["location"] = prop.this.name
        elif isinstance(prop, exp.RowFormatSerdeProperty):
            result["serde"] = prop.this.name
        elif isinstance(prop, exp.FileFormatProperty):
            result["format"] = prop.this.name
        elif isinstance(prop, exp.PartitionedByProperty):
            result["partitioned_by"] = property_value(prop.this)
        elif isinstance(prop, exp.Property):
            result[prop.name.lower()] = property_value(prop.args.get("value"))
    return result


def property_value(value: exp.Expression | None) -> Any:
    if isinstance(value, exp.Array | exp.Tuple | exp.Schema):
        return [property_value(v) for v in value.expressions]
    if isinstance(value, exp.Literal | exp.Identifier | exp.Var | exp.Column):
        return value.name
    if isinstance(value, exp.Boolean):
        return "true" if value.this else "false"
    return value.sql("athena") if value is not None else None


def partition_filter(table: dict[str, Any]) -> Callable[[dict[str, str]], bool]:
    """Which partitions Athena sees: with projection, the values the projection enumerates (date type)."""
    params = table.get("Parameters", {})
    if params.get("projection.enabled", "").lower() != "true":
        return lambda values: True
    import datetime as dt

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

        def bound(text: str, fmt: str = fmt) -> dt.date:
            match = re.fullmatch(r"NOW(?:([+-]\d+)(DAYS?|MONTHS?|YEARS?))?", text.upper())
            if not match:
                return dt.datetime.strptime(text, fmt).date()
            today = dt.datetime.now(dt.UTC).date()
            amount, unit = int(match.group(1) or 0), (match.group(2) or "DAYS")
            if not unit.startswith("DAY"):
                raise AthenaQueryError(f"NOT_SUPPORTED: projection range unit {unit}")
            return today + dt.timedelta(days=amount)

        lower, upper = bound(low), bound(high)

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


def view_sql(table: dict[str, Any]) -> str:
    text = table.get("ViewOriginalText", "")
    match = re.fullmatch(r"/\* Presto View: (.*) \*/", text.strip())
    if not match:
        raise AthenaQueryError(f"HIVE_VIEW_TRANSLATION_ERROR: {table['Name']} is not an Athena view")
    return str(json.loads(base64.b64decode(match.group(1)))["originalSql"])


def table_input_of(table: dict[str, Any]) -> dict[str, Any]:
    keys = (
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
    return {k: table[k] for k in keys if k in table}


def hive_table_input(
    name: str, location: str, columns: list[tuple[str, str]], partitioned_by: list[str]
) -> dict[str, Any]:
    keys = [p.lower() for p in partitioned_by]
    return {
        "Name": name,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"EXTERNAL": "TRUE", "classification": "parquet", "has_encrypted_data": "false"},
        "PartitionKeys": [{"Name": n, "Type": duckdb_to_glue(t)} for n, t in columns if n in keys],
        "StorageDescriptor": {
            "Columns": [{"Name": n, "Type": duckdb_to_glue(t)} for n, t in columns if n not in keys],
            "Location": location,
            "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
            "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
            "SerdeInfo": {"SerializationLibrary": PARQUET_SERDE},
        },
    }


def iceberg_table_input(
    name: str, location: str, columns: list[tuple[str, str]], metadata_location: str
) -> dict[str, Any]:
    return {
        "Name": name,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"table_type": "ICEBERG", "metadata_location": metadata_location},
        "StorageDescriptor": {
            "Columns": [{"Name": n, "Type": duckdb_to_glue(t)} for n, t in columns],
            "Location": location,
        },
    }
