"""SQL translation: an Athena statement (Trino DML, Hive DDL) as DuckDB SQL with Trino's semantics.

sqlglot transpiles the athena dialect to duckdb; what the two engines do differently and this project depends
on is put back here: exact decimal division rounded half up (DuckDB divides through DOUBLE), integer division
truncating, `timestamp` = timestamp(3) (a cast rounds to milliseconds), a cast to `varchar(n)` truncating. Any
other difference (rounding functions, string and date functions, implicit casts) gives DuckDB's answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify

from lakehouse.athena_local.outcome import AthenaQueryError

# The column types of the DuckDB views a query reads, by view name: what typing a division needs.
Schema = dict[str, dict[str, str]]


def sql_literal(value: str) -> str:
    """A string as a SQL literal."""
    return "'" + value.replace("'", "''") + "'"


def decimal_scale(data_type: exp.DataType) -> int:
    """The scale of a decimal type (0 for any other type)."""
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
    """A property's value as Python: a list for an ARRAY[...] or a column list, else its text."""
    if isinstance(value, exp.Array | exp.Tuple | exp.Schema):
        return [property_value(v) for v in value.expressions]
    if isinstance(value, exp.Literal | exp.Identifier | exp.Var | exp.Column):
        return value.name
    if isinstance(value, exp.Boolean):
        return "true" if value.this else "false"
    return value.sql("athena") if value is not None else None


def _trino_casts(query: exp.Expression) -> None:
    for cast in list(query.find_all(exp.Cast)):
        to = cast.to
        if to.is_type(exp.DataType.Type.TIMESTAMP):
            precision = [e for e in to.expressions if isinstance(e, exp.DataTypeParam)]
            digits = int(precision[0].name) if precision else 3
            # Trino's `timestamp` is timestamp(3): it rounds
            if 0 < digits <= 3 or not precision:
                cast.replace(
                    exp.cast(
                        exp.cast(cast.this, exp.DataType.build("TIMESTAMP_MS", dialect="duckdb")), "TIMESTAMP"
                    )
                )
        elif to.is_type(exp.DataType.Type.VARCHAR) and to.expressions:
            # Trino truncates on a cast to a shorter varchar
            length = int(to.expressions[0].name)
            cast.replace(
                exp.Substring(
                    this=exp.cast(cast.this, "VARCHAR"),
                    start=exp.Literal.number(1),
                    length=exp.Literal.number(length),
                )
            )


def to_duckdb(query: exp.Expression, schema: Callable[[], Schema]) -> str:
    """DuckDB SQL with Trino's semantics for what the two engines do differently; `schema` gives the column
    types of the views the query reads (asked only when it divides)."""
    _trino_casts(query)
    if query.find(exp.Div):
        query = exact_division(query, schema())
    return query.sql("duckdb")


def exact_division(query: exp.Expression, schema: Schema) -> exp.Expression:
    """Trino divides decimals exactly and rounds half up; integers with truncation. DuckDB goes through
    DOUBLE: rewrite each division from the types sqlglot infers."""
    try:
        typed = annotate_types(qualify(query.copy(), schema=schema, dialect="duckdb"), schema=schema)
    except Exception as failure:
        raise AthenaQueryError(f"the stand-in could not type a division: {failure}") from failure
    inexact = exp.DataType.REAL_TYPES - {exp.DataType.Type.DECIMAL}
    for div in list(typed.find_all(exp.Div)):
        left, right = div.this.type, div.expression.type
        if left is None or right is None:
            continue
        if left.is_type(*inexact) or right.is_type(*inexact):
            continue
        if left.is_type(exp.DataType.Type.DECIMAL) or right.is_type(exp.DataType.Type.DECIMAL):
            scale = max(decimal_scale(left), decimal_scale(right))
            div.replace(decimal_division(div.this, div.expression, scale))
        elif div.args.get("typed") is not True:
            div.set("typed", True)
    return typed
