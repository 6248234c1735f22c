"""Athena's rules: what Athena refuses, with its own error text, before or while a statement runs.

* A statement must parse as Athena SQL, be one statement, use no `::` cast and no function Trino lacks.
* CTAS: no `location` on a Hive table (`external_location`, and not in a workgroup that enforces its settings;
  without it the data lands under `<results location>/tables/<query-id>/`), a location on every Iceberg table,
  an empty target location, Parquet only (the stand-in's own limit).
* Iceberg columns: timestamp(6) only; a timestamp(3) column (Trino's bare `timestamp`) is refused.
* At most 100 partitions written by one CTAS or INSERT.
* MERGE, UPDATE, DELETE, OPTIMIZE, VACUUM and ALTER TABLE RENAME on Iceberg tables only.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError
from sqlglot.tokens import TokenType

from lakehouse.athena_local.catalog import as_prefix, is_iceberg
from lakehouse.athena_local.outcome import AthenaQueryError, Context

ATHENA = Dialect.get_or_raise("athena")
MAX_OPEN_PARTITIONS = 100
# Trino functions sqlglot's parser has no expression class for (it keeps them as Anonymous): known to Athena.
# Any other Anonymous function is one Athena does not have (FUNCTION_NOT_FOUND), e.g. DuckDB's strftime.
TRINO_ONLY_NAMES = frozenset({"date_parse", "from_iso8601_timestamp", "from_iso8601_date", "typeof", "try"})


def parse(sql: str) -> exp.Expression:
    """One Athena statement, or the SYNTAX_ERROR / FUNCTION_NOT_FOUND Athena gives it."""
    try:
        tokens = ATHENA.tokenize(sql)
    # sqlglot's TokenError
    except Exception as failure:
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


def ctas_location(props: dict[str, Any], context: Context) -> tuple[bool, str, list[str]]:
    """(Iceberg?, location, partition spec) of a CTAS, or the error Athena gives its properties."""
    if props.get("format", "parquet").lower() != "parquet":
        raise AthenaQueryError("NOT_SUPPORTED: the stand-in writes Parquet tables only")
    if props.get("table_type", "hive").lower() == "iceberg":
        location = props.get("location")
        if not location:
            raise AthenaQueryError(
                "INVALID_TABLE_PROPERTY: The location property must be set for Iceberg tables"
            )
        return True, location, list(props.get("partitioning", []))
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
    return False, location, list(props.get("partitioned_by", []))


def require_empty_location(empty: bool, database: str, name: str, location: str) -> None:
    """A CTAS writes into an empty location only: Athena never deletes data in your account."""
    if not empty:
        raise AthenaQueryError(
            f"HIVE_PATH_ALREADY_EXISTS: Target directory for table '{database}.{name}' already exists:"
            f" {location}. You may need to manually clean the data at location '{location}' before"
            " retrying. Athena will not delete data in your account."
        )


def _millisecond_timestamp(node: exp.Expression) -> bool:
    """Whether an expression is a cast to Trino's bare `timestamp` (timestamp(3)) or to timestamp(1..3)."""
    while isinstance(node, exp.Alias | exp.Paren):
        node = node.this
    if not (isinstance(node, exp.Cast) and node.to.is_type(exp.DataType.Type.TIMESTAMP)):
        return False
    precision = [e for e in node.to.expressions if isinstance(e, exp.DataTypeParam)]
    return not precision or int(precision[0].name) <= 3


def require_iceberg_timestamps(query: exp.Expression) -> None:
    """Athena's Iceberg tables hold timestamp(6) only: a CTAS whose select list casts a column to timestamp(3)
    is refused with Trino's Iceberg connector's error."""
    select = query if isinstance(query, exp.Select) else query.find(exp.Select)
    for column in select.expressions if select is not None else []:
        if _millisecond_timestamp(column):
            raise AthenaQueryError(
                'NOT_SUPPORTED: Timestamp precision (3) not supported for Iceberg. Use "timestamp(6)" instead.'
            )


def check_open_partitions(count: int, iceberg: bool) -> None:
    """At most 100 partitions are written by one statement."""
    if count <= MAX_OPEN_PARTITIONS:
        return
    if iceberg:
        raise AthenaQueryError(
            "ICEBERG_TOO_MANY_OPEN_PARTITIONS: Exceeded limit of 100 open writers for partitions",
            error_type=233,
        )
    raise AthenaQueryError(
        "HIVE_TOO_MANY_OPEN_PARTITIONS: Exceeded limit of 100 open writers for partitions/buckets"
    )


def require_iceberg(table: dict[str, Any], what: str) -> None:
    """MERGE, UPDATE, DELETE, OPTIMIZE, VACUUM and RENAME run on Iceberg tables only."""
    if not is_iceberg(table):
        raise AthenaQueryError(f"NOT_SUPPORTED: {what} is only supported for Iceberg tables")


UPKEEP = re.compile(r"\s*(optimize|vacuum)\s", re.IGNORECASE)
# Iceberg upkeep statements, which sqlglot keeps as an unparsed Command: Athena's grammar for each.
OPTIMIZE = re.compile(
    r"^\s*optimize\s+(?P<table>\S+)\s+rewrite\s+data\s+using\s+bin_pack(?:\s+where\s+(?P<where>.+?))?\s*;?\s*$",
    re.IGNORECASE | re.DOTALL,
)
VACUUM = re.compile(r"^\s*vacuum\s+(?P<table>\S+)\s*;?\s*$", re.IGNORECASE | re.DOTALL)
SHOW_COLUMNS = re.compile(
    r"^\s*show\s+columns\s+(?:from|in)\s+(?P<table>\S+)\s*;?\s*$", re.IGNORECASE | re.DOTALL
)


def altered_columns(
    table: dict[str, Any],
    action: exp.Expression | None,
    column_defs: Callable[[exp.Expression], list[dict[str, str]]],
) -> list[dict[str, str]] | None:
    """The Glue columns after ALTER TABLE ADD COLUMNS, REPLACE COLUMNS (Hive only) or DROP COLUMN (Iceberg
    only), or Athena's refusal; None for any other action (not modelled)."""
    current = list(table["StorageDescriptor"]["Columns"])
    names = {c["Name"].lower() for c in current} | {k["Name"].lower() for k in table.get("PartitionKeys", [])}
    if isinstance(action, exp.Schema):
        added = column_defs(action)
        for column in added:
            if column["Name"] in names:
                raise AthenaQueryError(f"COLUMN_ALREADY_EXISTS: Column '{column['Name']}' already exists")
        return current + added
    if isinstance(action, exp.ReplaceColumns):
        if is_iceberg(table):
            raise AthenaQueryError("NOT_SUPPORTED: REPLACE COLUMNS is not supported for Iceberg tables")
        return column_defs(action)
    if isinstance(action, exp.Drop) and (action.args.get("kind") or "").upper() == "COLUMN":
        require_iceberg(table, "DROP COLUMN")
        dropped = {c.name.lower() for c in action.args.get("tables") or []}
        if dropped - names:
            raise AthenaQueryError(f"COLUMN_NOT_FOUND: Column '{sorted(dropped - names)[0]}' does not exist")
        return [c for c in current if c["Name"].lower() not in dropped]
    return None
