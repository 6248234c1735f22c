"""DML and Iceberg upkeep: INSERT, MERGE, UPDATE, DELETE, OPTIMIZE and VACUUM, as Athena runs them.

INSERT appends a data file (a new snapshot on Iceberg; a new object under a Hive table's location). MERGE,
UPDATE and DELETE (Iceberg only) rewrite the table: its rows are loaded into DuckDB, the statement runs there,
and the result is one data file of a new snapshot.

`OPTIMIZE t REWRITE DATA USING BIN_PACK [WHERE p]` rewrites the data files holding rows that match `p` (every file
without it) into one, when there are at least two, as a new snapshot; `VACUUM t` expires the snapshots older than
the table's `vacuum_max_snapshot_age_seconds` (Athena's default 432000) beyond the newest
`vacuum_min_snapshots_to_keep` (default 1) and deletes their metadata and the data files no kept snapshot names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlglot
from sqlglot import exp

from lakehouse.athena_local import rules
from lakehouse.athena_local.catalog import as_prefix, is_iceberg
from lakehouse.athena_local.outcome import AthenaQueryError, Context, Outcome
from lakehouse.athena_local.strict import require_trino_types
from lakehouse.athena_local.translate import partition_expression, to_duckdb

if TYPE_CHECKING:
    from lakehouse.athena_local.engine import Engine

# Athena's defaults for the Iceberg table properties VACUUM reads.
DEFAULT_SNAPSHOT_AGE_SECONDS = 432000
DEFAULT_MIN_SNAPSHOTS = 1


def insert(engine: Engine, statement: exp.Insert, context: Context) -> Outcome:
    """INSERT INTO [(columns)] query: the table's columns in its order, the missing ones null."""
    target = statement.this.this if isinstance(statement.this, exp.Schema) else statement.this
    database, name = engine.name(target, context)
    table = engine.catalog.require_table(database, name)
    columns = [c["Name"].lower() for c in table["StorageDescriptor"]["Columns"]]
    named = (
        [c.name.lower() for c in statement.this.expressions]
        if isinstance(statement.this, exp.Schema)
        else columns
    )
    source = engine.duckdb_sql(statement.expression, context)
    ordered = ", ".join(f'"{c}"' if c in named else f'null as "{c}"' for c in columns)
    renamed = f"select * from ({source}) as __src({', '.join(chr(34) + c + chr(34) for c in named)})"
    relation_sql = f"select {ordered} from ({renamed})"
    location = table["StorageDescriptor"]["Location"]
    if not is_iceberg(table):
        if table.get("PartitionKeys"):
            raise AthenaQueryError("NOT_SUPPORTED: the stand-in inserts into unpartitioned Hive tables only")
        _, rows, _ = engine.tables.write_parquet(relation_sql, location)
        return Outcome("DML", "insert", update_count=rows)
    metadata = engine.catalog.iceberg_metadata(table)
    spec = metadata["partition-spec"]
    opened = engine.tables.partition_count(relation_sql, [partition_expression(p) for p in spec])
    rules.check_open_partitions(opened, True)
    uri, rows, cols = engine.tables.write_parquet(relation_sql, f"{as_prefix(location)}data")
    engine.catalog.commit_iceberg(table, database, [*metadata["data-files"], uri], cols, spec)
    return Outcome("DML", "insert", update_count=rows)


def _rewrite(engine: Engine, statement: exp.Expression, context: Context, what: str, kind: str) -> Outcome:
    """Run MERGE / UPDATE / DELETE on a DuckDB copy of an Iceberg table; commit the result as one data file."""
    target = statement.this
    database, name = engine.name(target, context)
    table = engine.catalog.require_table(database, name)
    rules.require_iceberg(table, what)
    metadata = engine.catalog.iceberg_metadata(table)
    con = engine.tables.con
    con.execute(
        f'create or replace temp table __dml_target as select * from "{engine.tables.read_table(table)}"'
    )
    spec = metadata["partition-spec"]
    try:
        alias = target.alias or name
        target.replace(exp.table_("__dml_target", alias=exp.to_identifier(alias, quoted=True)))
        resolved = engine.resolve(statement, context)
        require_trino_types(resolved, engine.tables.schema())
        if isinstance(resolved, exp.Merge):
            matched = _matched(resolved, alias)
            _require_one_match_per_target_row(engine, matched, alias)
            con.execute("create or replace temp table __dml_before as select * from __dml_target")
            matched_sql = to_duckdb(matched.select(f'"{alias}".*', append=False), engine.tables.schema)
            con.execute(f"create or replace temp table __dml_matched as {matched_sql}")
        changed = con.execute(to_duckdb(resolved, engine.tables.schema)).fetchall()
        rows = int(changed[0][0]) if changed and changed[0] else 0
        if isinstance(resolved, exp.Merge):
            # the partitions a MERGE writes: those of the target rows it matches (a delete file each, and the
            # updated rows' new data file, whether or not a value changed) and of the rows it adds
            written = (
                "(select * from __dml_matched) union all"
                " (select * from __dml_target except all select * from __dml_before)"
            )
            opened = engine.tables.partition_count(written, [partition_expression(p) for p in spec])
            rules.check_open_partitions(opened, True)
        location = table["StorageDescriptor"]["Location"]
        uri, _, cols = engine.tables.write_parquet("select * from __dml_target", f"{as_prefix(location)}data")
    finally:
        con.execute("drop table if exists __dml_target")
        con.execute("drop table if exists __dml_before")
        con.execute("drop table if exists __dml_matched")
    engine.catalog.commit_iceberg(table, database, [uri], cols, spec)
    return Outcome("DML", kind, update_count=rows)


def _matched(merge: exp.Merge, alias: str) -> exp.Select:
    """The target rows a MERGE's source matches (a row once per source row matching it)."""
    target = exp.table_("__dml_target", alias=exp.to_identifier(alias, quoted=True))
    return exp.select("1").from_(target).join(merge.args["using"].copy(), on=merge.args["on"].copy())


def _require_one_match_per_target_row(engine: Engine, matched: exp.Select, alias: str) -> None:
    """Trino refuses a MERGE in which one target row matches more than one source row (which update would win
    is undefined); DuckDB applies one of them."""
    rowid = exp.column("rowid", table=exp.to_identifier(alias, quoted=True))
    check = matched.copy().group_by(rowid).having("count(*) > 1").limit(1)
    if engine.tables.con.execute(to_duckdb(check, engine.tables.schema)).fetchall():
        raise AthenaQueryError(
            "MERGE_TARGET_ROW_MULTIPLE_MATCHES: One MERGE target table row matched more than one source row"
        )


def merge(engine: Engine, statement: exp.Merge, context: Context) -> Outcome:
    """MERGE INTO an Iceberg table."""
    return _rewrite(engine, statement, context, "MERGE INTO", "merge")


def update(engine: Engine, statement: exp.Update, context: Context) -> Outcome:
    """UPDATE an Iceberg table."""
    return _rewrite(engine, statement, context, "UPDATE", "update")


def delete(engine: Engine, statement: exp.Delete, context: Context) -> Outcome:
    """DELETE FROM an Iceberg table."""
    return _rewrite(engine, statement, context, "DELETE", "delete")


def upkeep(engine: Engine, sql: str, context: Context) -> Outcome:
    """OPTIMIZE ... REWRITE DATA USING BIN_PACK or VACUUM, on an Iceberg table."""
    match = rules.OPTIMIZE.match(sql) or rules.VACUUM.match(sql)
    kind = sql.strip().split(None, 1)[0].lower()
    if match is None:
        raise AthenaQueryError(f"SYNTAX_ERROR: line 1:1: {kind.upper()} statement not recognised: {sql[:80]}")
    database, name = engine.name(exp.to_table(match["table"], dialect=rules.ATHENA), context)
    table = engine.catalog.require_table(database, name)
    rules.require_iceberg(table, kind.upper())
    if kind == "optimize":
        return _optimize(engine, table, database, match["where"])
    return _vacuum(engine, table)


def _optimize(engine: Engine, table: dict[str, Any], database: str, where: str | None) -> Outcome:
    metadata = engine.catalog.iceberg_metadata(table)
    columns = list(table["StorageDescriptor"]["Columns"]) + list(table.get("PartitionKeys", []))
    condition = sqlglot.condition(where, dialect=rules.ATHENA).sql("duckdb") if where else "true"
    touched, kept = [], []
    for key in metadata["data-files"]:
        view = engine.tables.data_file(key, columns)
        ((matches,),) = engine.tables.con.execute(
            f'select count(*) from "{view}" where {condition}'
        ).fetchall()
        (touched if matches else kept).append((key, view))
    # nothing to bin-pack: Athena commits no snapshot
    if len(touched) < 2:
        return Outcome("DML", "optimize", update_count=0)
    location = table["StorageDescriptor"]["Location"]
    union = " union all ".join(f'select * from "{view}"' for _, view in touched)
    uri, rows, cols = engine.tables.write_parquet(union, f"{as_prefix(location)}data")
    files = [key for key, _ in kept] + [uri]
    engine.catalog.commit_iceberg(table, database, files, cols, metadata["partition-spec"])
    return Outcome("DML", "optimize", update_count=rows)


def _vacuum(engine: Engine, table: dict[str, Any]) -> Outcome:
    params = table.get("Parameters", {})
    max_age_ms = 1000 * int(params.get("vacuum_max_snapshot_age_seconds", DEFAULT_SNAPSHOT_AGE_SECONDS))
    keep_newest = int(params.get("vacuum_min_snapshots_to_keep", DEFAULT_MIN_SNAPSHOTS))
    now_ms = int(engine.clock() * 1000)
    chain = engine.catalog.snapshots(table)
    kept = [
        (uri, metadata)
        for i, (uri, metadata) in enumerate(chain)
        if i < keep_newest or now_ms - int(metadata.get("timestamp-ms", now_ms)) <= max_age_ms
    ]
    named = {uri for uri, _ in kept} | {key for _, metadata in kept for key in metadata["data-files"]}
    expired = [(uri, metadata) for uri, metadata in chain if uri not in named]
    doomed = {uri for uri, _ in expired} | {key for _, metadata in expired for key in metadata["data-files"]}
    for uri in sorted(doomed - named):
        engine.catalog.delete(uri)
    return Outcome("DML", "vacuum", update_count=len(doomed - named))
