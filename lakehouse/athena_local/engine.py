"""Execution: what Athena does with one statement, on DuckDB, its effect mirrored into moto's Glue and S3.

A statement is parsed and checked against Athena's rules (`rules`), every catalog table it reads is replaced by
a DuckDB view of its data read back from S3 at that moment (`tables`), views are inlined from their Glue text,
and the query runs on DuckDB after translation (`translate`). Data lands where Athena keeps it: Parquet under
the table's location (CTAS, INSERT, MERGE, UPDATE), recorded in Glue with the type, location and columns Athena
would record (`catalog`). DDL is here; DML and Iceberg upkeep are in `dml`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import duckdb
from sqlglot import exp
from sqlglot.errors import ParseError

from lakehouse.athena_local import dml, rules
from lakehouse.athena_local.catalog import (
    PARQUET_SERDE,
    Catalog,
    as_prefix,
    glue_to_duckdb,
    hive_table_input,
    iceberg_table_input,
    is_iceberg,
    table_input_of,
    view_sql,
    view_table_input,
)
from lakehouse.athena_local.outcome import AthenaQueryError, Context, Outcome
from lakehouse.athena_local.prune import bounds_for, glue_types
from lakehouse.athena_local.scan import columns_read
from lakehouse.athena_local.strict import require_trino_types
from lakehouse.athena_local.tables import Tables
from lakehouse.athena_local.translate import partition_expression, properties, to_duckdb


class Engine:
    """Executes statements; `s3` and `glue` are boto3 clients of the stand-in's moto server. `reads`, when
    given, answers the engine's reads of Glue and S3 in process (see `catalog.Catalog`). `clock` stamps
    Iceberg snapshots and ages them for VACUUM: a test can replace it to age snapshots without waiting."""

    def __init__(
        self, s3: Any, glue: Any, log: Callable[[str, str, str, int], None] | None = None, reads: Any = None
    ) -> None:
        self.catalog = Catalog(s3, glue, reads, lambda: self.clock())
        self.tables = Tables(self.catalog)
        self._log = log or (lambda kind, outcome, sql, scanned: None)
        self.clock: Callable[[], float] = time.time

    def glue_table(self, database: str, name: str) -> dict[str, Any] | None:
        """The Glue table, or None."""
        return self.catalog.table(database, name)

    # ---- entry point

    def execute(self, sql: str, context: Context) -> Outcome:
        """Run one statement; its outcome, or AthenaQueryError with Athena's error text."""
        meter = self.tables.meter
        meter.begin(context.bytes_cutoff)
        try:
            outcome = self._execute(sql, context)
        except AthenaQueryError as failure:
            failure.scanned_bytes = meter.scanned
            self._log("failed", str(failure), sql, meter.scanned)
            raise
        # a query Athena would also reject at run time
        except (duckdb.Error, ParseError) as failure:
            message = str(failure).splitlines()[0]
            self._log("failed", message, sql, meter.scanned)
            error = AthenaQueryError(f"GENERIC_USER_ERROR: {message}")
            error.scanned_bytes = meter.scanned
            raise error from failure
        finally:
            self.tables.release()
        outcome.scanned_bytes = meter.scanned
        self._log(outcome.kind, "ok", sql, outcome.scanned_bytes)
        return outcome

    def _execute(self, sql: str, context: Context) -> Outcome:
        # sqlglot keeps them as a bare Command
        if rules.UPKEEP.match(sql):
            return dml.upkeep(self, sql, context)
        if rules.SHOW_COLUMNS.match(sql):
            return self._show_columns(sql, context)
        statement = rules.parse(sql)
        if isinstance(statement, exp.Create):
            return self._create(statement, context)
        handlers: dict[type, Callable[[Any, Context], Outcome]] = {
            exp.Drop: self._drop,
            exp.Alter: self._alter,
            exp.Insert: lambda s, c: dml.insert(self, s, c),
            exp.Merge: lambda s, c: dml.merge(self, s, c),
            exp.Update: lambda s, c: dml.update(self, s, c),
            exp.Delete: lambda s, c: dml.delete(self, s, c),
        }
        for kind, handler in handlers.items():
            if isinstance(statement, kind):
                return handler(statement, context)
        if isinstance(statement, exp.Query):
            columns, rows = self._select(statement, context)
            return Outcome("DML", "select", columns, rows)
        raise AthenaQueryError(
            f"NOT_SUPPORTED: the stand-in does not model {type(statement).__name__} statements"
        )

    def _create(self, statement: exp.Create, context: Context) -> Outcome:
        kind = (statement.args.get("kind") or "").upper()
        if kind in ("SCHEMA", "DATABASE"):
            return self._create_database(statement)
        if kind == "VIEW":
            return self._create_view(statement, context)
        if kind == "TABLE" and statement.expression is not None:
            return self._ctas(statement, context)
        if kind == "TABLE":
            return self._create_external(statement, context)
        raise AthenaQueryError(f"NOT_SUPPORTED: the stand-in does not model CREATE {kind}")

    # ---- queries

    def name(self, table: exp.Table, context: Context) -> tuple[str, str]:
        """(database, table) a table reference names, in the query's default database."""
        return (table.db or context.database).lower(), table.name.lower()

    def resolve(self, query: exp.Expression, context: Context, depth: int = 0) -> exp.Expression:
        """Replace every catalog table of the query with the DuckDB view holding its data (views inlined)."""
        if depth > 20:
            raise AthenaQueryError("VIEW_IS_RECURSIVE: View is recursive")
        # the columns the statement (and each view it inlines) reads: what its scanned bytes count
        self.tables.meter.want(columns_read(query), add=depth > 0)
        ctes = {cte.alias_or_name.lower() for cte in query.find_all(exp.CTE)}
        for table in list(query.find_all(exp.Table)):
            # MERGE's, UPDATE's and DELETE's target: the caller replaces it
            if isinstance(table.parent, exp.Merge | exp.Update | exp.Delete) and table.arg_key == "this":
                continue
            if not table.db and table.name.lower() in ctes:
                continue
            if table.this is None or isinstance(table.this, exp.Func):
                continue
            # Trino accepts a parenthesised table, `from (db.t)` (dbt-athena's partition batching sends one);
            # DuckDB does not once the table has an alias
            if (
                isinstance(table.parent, exp.Subquery)
                and table.parent.this is table
                and not table.parent.alias
            ):
                table.parent.replace(table)
            database, name = self.name(table, context)
            glue_table = self.catalog.table(database, name)
            if glue_table is None:
                raise AthenaQueryError(
                    f"TABLE_NOT_FOUND: line 1:1: Table 'awsdatacatalog.{database}.{name}' does not exist",
                    error_type=1002,
                )
            alias = table.alias or name
            if glue_table.get("TableType") == "VIRTUAL_VIEW":
                inner_context = Context(glue_table["DatabaseName"], "", False, "")
                inner = self.resolve(rules.parse(view_sql(glue_table)), inner_context, depth + 1)
                table.replace(exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier(alias))))
            else:
                view = self.tables.read_table(glue_table, bounds_for(table, glue_types(glue_table)))
                table.replace(exp.table_(view, alias=exp.to_identifier(alias, quoted=True)))
        return query

    def duckdb_sql(self, query: exp.Expression, context: Context) -> str:
        """The query resolved against the catalog, as DuckDB SQL with Trino's semantics."""
        resolved = self.resolve(query, context)
        require_trino_types(resolved, self.tables.schema())
        return to_duckdb(resolved, self.tables.schema)

    def _select(
        self, query: exp.Expression, context: Context
    ) -> tuple[list[tuple[str, str]], list[tuple[Any, ...]]]:
        relation = self.tables.con.sql(self.duckdb_sql(query, context))
        columns = [(name, str(t)) for name, t in zip(relation.columns, relation.types, strict=True)]
        return columns, relation.fetchall()

    def _show_columns(self, sql: str, context: Context) -> Outcome:
        match = rules.SHOW_COLUMNS.match(sql)
        assert match is not None
        database, name = self.name(exp.to_table(match["table"], dialect=rules.ATHENA), context)
        table = self.catalog.require_table(database, name)
        columns = list(table["StorageDescriptor"]["Columns"]) + list(table.get("PartitionKeys", []))
        return Outcome("UTILITY", "show_columns", [("field", "VARCHAR")], [(c["Name"],) for c in columns])

    # ---- DDL

    def _create_database(self, statement: exp.Create) -> Outcome:
        # sqlglot keeps a schema's name as `db`
        name = (statement.this.name or statement.this.db).lower()
        try:
            self.catalog.glue.create_database(DatabaseInput={"Name": name})
        except self.catalog.glue.exceptions.AlreadyExistsException:
            if not statement.args.get("exists"):
                raise AthenaQueryError(f"Database {name} already exists") from None
        return Outcome("DDL", "create_database")

    def _ctas(self, statement: exp.Create, context: Context) -> Outcome:
        target = statement.this if isinstance(statement.this, exp.Table) else statement.this.this
        database, name = self.name(target, context)
        self.catalog.require_database(database)
        if self.catalog.table(database, name) is not None:
            if statement.args.get("exists"):
                return Outcome("DDL", "ctas_skipped")
            raise AthenaQueryError(f"Table awsdatacatalog.{database}.{name} already exists")
        iceberg, location, spec = rules.ctas_location(properties(statement), context)
        if iceberg:
            rules.require_iceberg_timestamps(statement.expression)
        rules.require_empty_location(self.catalog.is_empty(location), database, name, location)
        query_sql = self.duckdb_sql(statement.expression, context)
        opened = self.tables.partition_count(query_sql, [partition_expression(p) for p in spec])
        rules.check_open_partitions(opened, iceberg)
        if iceberg:
            data_uri, rows, columns = self.tables.write_parquet(query_sql, f"{as_prefix(location)}data")
            metadata_location = self.catalog.write_iceberg_metadata(location, [data_uri], columns, spec)
            self.catalog.put_table(database, iceberg_table_input(name, location, columns, metadata_location))
        else:
            _, rows, columns = self.tables.write_parquet(query_sql, location)
            self.catalog.put_table(database, hive_table_input(name, location, columns, spec))
        return Outcome("DDL", "ctas_iceberg" if iceberg else "ctas_hive", update_count=rows)

    def _create_external(self, statement: exp.Create, context: Context) -> Outcome:
        schema = statement.this
        database, name = self.name(schema.this, context)
        if self.catalog.table(database, name) is not None:
            if statement.args.get("exists"):
                return Outcome("DDL", "create_external_skipped")
            raise AthenaQueryError(f"Table {name} already exists")
        props = properties(statement)
        location = props.get("location")
        if not location:
            raise AthenaQueryError("SYNTAX_ERROR: an external table needs a LOCATION")
        parameters = {k: v for k, v in props.items() if "." in k or k == "classification"}
        parameters["EXTERNAL"] = "TRUE"
        storage = {
            "Columns": column_defs(schema),
            "Location": location,
            "SerdeInfo": {"SerializationLibrary": props.get("serde", PARQUET_SERDE)},
        }
        table_input = {"Name": name, "TableType": "EXTERNAL_TABLE", "Parameters": parameters}
        self.catalog.put_table(database, {**table_input, "StorageDescriptor": storage})
        return Outcome("DDL", "create_external_table")

    def _create_view(self, statement: exp.Create, context: Context) -> Outcome:
        database, name = self.name(statement.this, context)
        body = statement.expression
        original = body.sql("athena")
        # Athena analyses the view when it is created, reading no data: the stand-in's read is not billed
        self.tables.meter.begin(None)
        relation = self.tables.con.sql(self.duckdb_sql(body.copy(), context))
        self.tables.meter.begin(None)
        columns = [(n, str(t)) for n, t in zip(relation.columns, relation.types, strict=True)]
        existing = self.catalog.table(database, name)
        if existing is not None and not statement.args.get("replace"):
            raise AthenaQueryError(f"View already exists: '{database}.{name}'")
        table_input = view_table_input(name, database, original, columns)
        if existing is None:
            self.catalog.put_table(database, table_input)
        else:
            self.catalog.update_table(database, table_input)
        return Outcome("DDL", "create_view")

    def _drop_database(self, statement: exp.Drop, target: exp.Table) -> Outcome:
        # sqlglot keeps a schema's name as `db` (with the catalog, when named, as `catalog`)
        name = (target.db or target.name).lower()
        glue = self.catalog.glue
        try:
            tables = glue.get_tables(DatabaseName=name)["TableList"]
        except glue.exceptions.EntityNotFoundException:
            if statement.args.get("exists"):
                return Outcome("DDL", "drop_database")
            raise AthenaQueryError(f"SCHEMA_NOT_FOUND: Schema {name} does not exist") from None
        if tables and not statement.args.get("cascade"):
            raise AthenaQueryError(f"SCHEMA_NOT_EMPTY: Cannot drop non-empty schema '{name}'")
        glue.delete_database(Name=name)
        return Outcome("DDL", "drop_database")

    def _drop(self, statement: exp.Drop, context: Context) -> Outcome:
        kind = (statement.args.get("kind") or "").upper()
        target = statement.this or (statement.args.get("tables") or [None])[0]
        if kind in ("SCHEMA", "DATABASE"):
            return self._drop_database(statement, target)
        database, name = self.name(target, context)
        table = self.catalog.table(database, name)
        if table is None:
            if statement.args.get("exists"):
                return Outcome("DDL", f"drop_{kind.lower()}")
            raise AthenaQueryError(f"Table {database}.{name} does not exist")
        if (table.get("TableType") == "VIRTUAL_VIEW") != (kind == "VIEW"):
            raise AthenaQueryError(f"NOT_SUPPORTED: cannot drop {name} with DROP {kind}")
        # an Iceberg DROP TABLE deletes the data too
        if is_iceberg(table):
            for obj in list(self.catalog.objects(table["StorageDescriptor"]["Location"])):
                self.catalog.s3.delete_object(Bucket=obj["Bucket"], Key=obj["Key"])
        self.catalog.glue.delete_table(DatabaseName=database, Name=name)
        return Outcome("DDL", f"drop_{kind.lower()}")

    def _alter(self, statement: exp.Alter, context: Context) -> Outcome:
        database, name = self.name(statement.this, context)
        table = self.catalog.require_table(database, name)
        (action,) = statement.args.get("actions") or [None]
        if isinstance(action, exp.AlterRename):
            target = action.this
            new_database, new_name = (target.db or database).lower(), target.name.lower()
            rules.require_iceberg(table, "ALTER TABLE RENAME")
            if self.catalog.table(new_database, new_name) is not None:
                raise AthenaQueryError(f"Table {new_database}.{new_name} already exists")
            self.catalog.put_table(new_database, {**table_input_of(table), "Name": new_name})
            self.catalog.glue.delete_table(DatabaseName=database, Name=name)
            return Outcome("DDL", "rename")
        if isinstance(action, exp.AlterSet):
            updated = table_input_of(table)
            updated["Parameters"] = {**updated.get("Parameters", {}), **properties(action)}
            self.catalog.update_table(database, updated)
            return Outcome("DDL", "set_tblproperties")
        if isinstance(action, exp.AlterColumn) and action.args.get("rename_to") is not None:
            return self._change_column(table, database, action)
        columns = rules.altered_columns(table, action, column_defs)
        if columns is None:
            raise AthenaQueryError(
                f"NOT_SUPPORTED: the stand-in does not model {statement.sql('athena')[:60]}"
            )
        updated = table_input_of(table)
        updated["StorageDescriptor"] = {**updated["StorageDescriptor"], "Columns": columns}
        self.catalog.update_table(database, updated)
        return Outcome("DDL", "alter_columns")

    def _change_column(self, table: dict[str, Any], database: str, action: exp.AlterColumn) -> Outcome:
        """CHANGE COLUMN: a Hive table's metadata only; an Iceberg table keeps the column's values (Iceberg tracks
        columns by id; the stand-in, reading by name, rewrites the data under the new name and type)."""
        old, new = action.this.name.lower(), action.args["rename_to"].name.lower()
        glue_type = action.args["dtype"].sql("hive").lower()
        current = list(table["StorageDescriptor"]["Columns"])
        if old not in {c["Name"].lower() for c in current}:
            raise AthenaQueryError(f"COLUMN_NOT_FOUND: Column '{old}' does not exist")
        columns = [{"Name": new, "Type": glue_type} if c["Name"].lower() == old else c for c in current]
        if not is_iceberg(table):
            updated = table_input_of(table)
            updated["StorageDescriptor"] = {**updated["StorageDescriptor"], "Columns": columns}
            self.catalog.update_table(database, updated)
            return Outcome("DDL", "change_column")
        view = self.tables.read_iceberg(table)
        select = ", ".join(
            f'cast("{old}" as {glue_to_duckdb(glue_type)}) as "{new}"'
            if c["Name"].lower() == old
            else f'"{c["Name"]}"'
            for c in current + list(table.get("PartitionKeys", []))
        )
        location = table["StorageDescriptor"]["Location"]
        uri, _, written = self.tables.write_parquet(
            f'select {select} from "{view}"', f"{as_prefix(location)}data"
        )
        spec = self.catalog.iceberg_metadata(table)["partition-spec"]
        self.catalog.commit_iceberg(table, database, [uri], written, spec, glue=columns)
        return Outcome("DDL", "change_column")


def column_defs(schema: exp.Expression) -> list[dict[str, str]]:
    """The Glue columns of a column list (`(a int, b string)`) as a DDL statement writes them."""
    return [
        {"Name": c.name.lower(), "Type": c.args["kind"].sql("hive").lower()}
        for c in schema.expressions
        if isinstance(c, exp.ColumnDef)
    ]
