"""Trino's strict typing, where DuckDB is lenient: what Athena refuses at analysis and DuckDB would run.

* a comparison of a date or timestamp with a varchar (`order_date = '2026-01-01'`): Trino has no implicit cast
  from varchar, DuckDB casts the string;
* `||` of a varchar with anything but a varchar (`'id-' || 42`): Trino's concat takes varchars only;
* GROUP BY naming a select-list alias: Trino resolves GROUP BY against the FROM clause only.

Types come from sqlglot's type annotation over the statement's resolved tables (their DuckDB columns); a node
whose type sqlglot cannot tell is not judged, so a check can miss a case, never invent one.
"""

from __future__ import annotations

import logging

from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, traverse_scope
from sqlglot.schema import MappingSchema

from lakehouse.athena_local.outcome import AthenaQueryError
from lakehouse.athena_local.translate import Schema

LOG = logging.getLogger(__name__)
T = exp.DataType.Type
TEXT = {T.VARCHAR, T.CHAR, T.TEXT, T.NCHAR, T.NVARCHAR}
TEMPORAL = {T.DATE, T.DATETIME, T.TIMESTAMP, T.TIMESTAMPTZ, T.TIMESTAMP_MS, T.TIMESTAMP_NS, T.TIMESTAMP_S}
UNJUDGED = {T.UNKNOWN, T.NULL}
OPERATORS: dict[type, str] = {
    exp.EQ: "=",
    exp.NEQ: "<>",
    exp.GT: ">",
    exp.GTE: ">=",
    exp.LT: "<",
    exp.LTE: "<=",
}
COMPARISONS = tuple(OPERATORS)


def trino_type(node: exp.Expression) -> str:
    """The type of an expression as Trino names it in an error (a string literal is varchar(its length))."""
    if isinstance(node, exp.Literal) and node.is_string:
        return f"varchar({len(node.this)})"
    return node.type.sql("trino").lower() if node.type is not None else "unknown"


def _kind(node: exp.Expression) -> exp.DataType.Type:
    return node.type.this if node.type is not None else T.UNKNOWN


def require_trino_types(query: exp.Expression, schema: Schema) -> None:
    """Refuse what Trino's analyser refuses (module docstring), with Trino's error text."""
    _require_group_by_on_columns(query, schema)
    try:
        mapping = MappingSchema({name: dict(columns) for name, columns in schema.items()}, dialect="duckdb")
        typed = annotate_types(
            qualify(query.copy(), schema=mapping, dialect="athena", validate_qualify_columns=False),
            schema=mapping,
            dialect="athena",
        )
    # a construct sqlglot's optimizer cannot qualify is not judged
    except Exception as failure:
        LOG.debug("strict typing skipped: %s", failure)
        return
    for node in typed.find_all(*COMPARISONS):
        sides = {_kind(node.left), _kind(node.right)}
        if sides & TEMPORAL and sides & TEXT:
            raise AthenaQueryError(
                f"TYPE_MISMATCH: line 1:1: Cannot apply operator: {trino_type(node.left)} {OPERATORS[type(node)]}"
                f" {trino_type(node.right)}"
            )
    for node in typed.find_all(exp.DPipe):
        kinds = {_kind(node.left), _kind(node.right)}
        if kinds & TEXT and kinds - TEXT - UNJUDGED:
            raise AthenaQueryError(
                f"TYPE_MISMATCH: line 1:1: Unexpected parameters ({trino_type(node.left)},"
                f" {trino_type(node.right)}) for function concat. Expected: concat(varchar)"
            )


def _source_columns(scope: Scope, schema: Schema) -> set[str] | None:
    """The columns the FROM clause of a scope offers (None: a source whose columns are not known)."""
    columns: set[str] = set()
    for source in scope.sources.values():
        if isinstance(source, exp.Table):
            known = schema.get(source.name)
            if known is None:
                return None
            columns |= {c.lower() for c in known}
        elif isinstance(source, Scope) and isinstance(source.expression, exp.Query):
            columns |= {c.lower() for c in source.expression.named_selects}
        else:
            return None
    return columns


def _require_group_by_on_columns(query: exp.Expression, schema: Schema) -> None:
    for scope in traverse_scope(query):
        select = scope.expression
        group = select.args.get("group") if isinstance(select, exp.Select) else None
        if group is None:
            continue
        aliases = {e.alias.lower() for e in select.expressions if isinstance(e, exp.Alias)}
        available = _source_columns(scope, schema)
        if available is None:
            continue
        for key in group.expressions:
            if isinstance(key, exp.Column) and not key.table and key.name.lower() in aliases - available:
                raise AthenaQueryError(
                    f"COLUMN_NOT_FOUND: line 1:1: Column '{key.name}' cannot be resolved", error_type=1003
                )
