"""What a query's simple predicates let Athena skip: the row groups, data files and partitions whose statistics
say no row can match.

Athena (Trino) pushes a WHERE clause's conjuncts on a table's columns into its reader: Hive partitions whose
value fails them are not listed, Iceberg data files whose manifest min/max fail them are not opened, and Parquet
row groups whose column statistics fail them are not read. The stand-in counts its scanned bytes the same way,
for the predicates it can judge exactly, and counts everything otherwise, so its figure is never below what
Athena could scan:

- a conjunct of a SELECT's WHERE (the terms of its top-level `and`): `column op literal` with op one of
  =, <, <=, >, >=, `column between literal and literal`, `column in (literal, ...)`, the literal on either side;
  an `or`, a `not`, a function or cast of the column, a subquery: no bound (the conjunct is left to DuckDB);
- the column is the table's: qualified with the table's alias, or unqualified in a SELECT reading that table
  alone; the table is in the SELECT's FROM or an inner or cross join, and no RIGHT or FULL join can make it the
  null-supplying side;
- the literal has the column's type family: an integer or decimal column and a plain decimal number, a `string`
  or bare `varchar` column and a string, a `date` column and `date '...'`, a `timestamp` column and
  `timestamp '...'` (its statistics widened by a millisecond: Athena reads timestamps rounded to milliseconds);
  floating point, `varchar(n)` (a cast truncates), `char`, booleans and nested types are never pruned;
- a row group's statistics count only when they have the bound's family (a file whose column was written as
  another type is read whole); no statistics, no pruning.

A bound only decides what is counted: every file is still read and every predicate evaluated by DuckDB, so a
query's rows never depend on this module.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlglot import exp

# a column's min and max in one row group (or a partition's value, as both)
Stats = dict[str, tuple[Any, Any]]

INTEGERS = {"tinyint", "smallint", "int", "integer", "bigint"}
PLAIN_NUMBER = re.compile(r"\d+(\.\d+)?")
TIMESTAMP = re.compile(r"timestamp(\(\d\))?")
# Athena reads a timestamp as timestamp(3): a value may round up or down to the next millisecond
MILLISECOND = timedelta(milliseconds=1)
COMPARISONS: dict[type[exp.Expression], str] = {
    exp.EQ: "=",
    exp.LT: "<",
    exp.LTE: "<=",
    exp.GT: ">",
    exp.GTE: ">=",
}
# the comparison seen from the other side: `5 < n` is `n > 5`
MIRRORED = {"=": "=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


@dataclass(frozen=True)
class Bound:
    """One predicate on a column that statistics can judge: `column op value`, or `column in values` (op "in")."""

    column: str
    family: str
    op: str
    values: tuple[Any, ...]

    def excludes(self, low: Any, high: Any) -> bool:
        """Whether no value between `low` and `high` (a row group's min and max) can satisfy the predicate."""
        if not all(_of_family(self.family, v) for v in (low, high)):
            return False
        if self.family == "timestamp":
            low, high = low - MILLISECOND, high + MILLISECOND
        if self.op == "in":
            return all(value < low or value > high for value in self.values)
        (value,) = self.values
        checks = {
            "<": lambda: low >= value,
            "<=": lambda: low > value,
            ">": lambda: high <= value,
            ">=": lambda: high < value,
        }
        return bool(checks[self.op]())


def family(glue_type: str) -> str | None:
    """The type family a column of this Glue type is pruned as (None: never pruned)."""
    name = glue_type.lower().strip()
    if name in INTEGERS or name.startswith("decimal"):
        return "number"
    if name in ("string", "varchar"):
        return "string"
    if name == "date":
        return "date"
    return "timestamp" if TIMESTAMP.fullmatch(name) else None


def glue_types(table: dict[str, Any]) -> dict[str, str]:
    """Each column's Glue type (partition keys included), by lower-case name."""
    columns = list(table.get("StorageDescriptor", {}).get("Columns", [])) + list(
        table.get("PartitionKeys", [])
    )
    return {c["Name"].lower(): c["Type"] for c in columns}


def _of_family(name: str, value: Any) -> bool:
    if name == "number":
        return isinstance(value, int | Decimal) and not isinstance(value, bool)
    if name == "string":
        return isinstance(value, str)
    if name == "date":
        return isinstance(value, date) and not isinstance(value, datetime)
    return isinstance(value, datetime) and value.tzinfo is None


def _literal(node: exp.Expression, name: str) -> Any:
    """The value of a literal of the family `name`, or None when it is not one."""
    sign = 1
    if name == "number" and isinstance(node, exp.Neg):
        node, sign = node.this, -1
    if name == "number" and isinstance(node, exp.Literal) and not node.is_string:
        return sign * Decimal(node.name) if PLAIN_NUMBER.fullmatch(node.name) else None
    if name == "string":
        return node.name if isinstance(node, exp.Literal) and node.is_string else None
    wanted = {"date": {exp.DataType.Type.DATE}, "timestamp": {exp.DataType.Type.TIMESTAMP}}.get(name, set())
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal) and node.to.this in wanted:
        return from_text(name, node.this.name)
    return None


def from_text(name: str, text: str) -> Any:
    """A value of the family `name` written as text (a partition folder's value), or None when it is not one."""
    try:
        if name == "number":
            return Decimal(text) if PLAIN_NUMBER.fullmatch(text.lstrip("-")) else None
        if name == "date":
            return date.fromisoformat(text)
        # a zone makes it a timestamp with time zone: another type, never pruned
        if name == "timestamp":
            value = datetime.fromisoformat(text)
            return value if value.tzinfo is None else None
    except ValueError:
        return None
    return text if name == "string" else None


def _conjuncts(node: exp.Expression) -> Iterator[exp.Expression]:
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.And):
        yield from _conjuncts(node.left)
        yield from _conjuncts(node.right)
    else:
        yield node


def _scope(table: exp.Table) -> exp.Select | None:
    """The SELECT whose WHERE filters the table's rows before anything else meets them, if there is one."""
    holder = table.parent
    select = holder.parent if isinstance(holder, exp.From | exp.Join) else None
    if not isinstance(select, exp.Select):
        return None
    joins = select.args.get("joins") or []
    # a RIGHT or FULL join can keep rows the WHERE would have to see as nulls of this table
    if any((join.side or "").upper() in ("RIGHT", "FULL") for join in joins):
        return None
    if isinstance(holder, exp.Join) and (holder.side or holder.args.get("method")):
        return None
    if isinstance(holder, exp.Join) and (holder.kind or "").upper() not in ("", "INNER", "CROSS"):
        return None
    return select


def _bounds(
    conjunct: exp.Expression, owns: Callable[[exp.Column], bool], types: dict[str, str]
) -> list[Bound]:
    """The bounds one conjunct puts on the table's columns (`owns`: whether a column reference is the table's)."""
    # BETWEEN SYMMETRIC accepts its ends in either order: not judged
    if isinstance(conjunct, exp.Between) and not conjunct.args.get("symmetric"):
        low = exp.GTE(this=conjunct.this.copy(), expression=conjunct.args["low"].copy())
        high = exp.LTE(this=conjunct.this.copy(), expression=conjunct.args["high"].copy())
        return _bounds(low, owns, types) + _bounds(high, owns, types)
    if isinstance(conjunct, exp.In):
        items: Sequence[exp.Expression] = conjunct.expressions
        column, op = conjunct.this, "in"
        if conjunct.args.get("query") or conjunct.args.get("unnest") or not items:
            return []
    elif type(conjunct) in COMPARISONS:
        column, other = conjunct.this, conjunct.expression
        op = COMPARISONS[type(conjunct)]
        if isinstance(other, exp.Column) and not isinstance(column, exp.Column):
            column, other, op = other, column, MIRRORED[op]
        items = [other]
    else:
        return []
    if not isinstance(column, exp.Column) or not owns(column):
        return []
    name = family(types.get(column.name.lower(), ""))
    values = tuple(_literal(item, name) for item in items) if name is not None else (None,)
    if name is None or any(value is None for value in values):
        return []
    return [Bound(column.name.lower(), name, "in" if op == "=" else op, values)]


def bounds_for(table: exp.Table, types: dict[str, str]) -> tuple[Bound, ...]:
    """The bounds a query's WHERE puts on this table reference's columns (`types`: the table's Glue types)."""
    select = _scope(table)
    where = select.args.get("where") if select is not None else None
    if select is None or where is None:
        return ()
    alias = (table.alias or table.name).lower()
    alone = not select.args.get("joins")

    def owns(column: exp.Column) -> bool:
        if column.args.get("db") or column.args.get("catalog"):
            return False
        qualifier = column.table.lower()
        return column.name.lower() in types and (qualifier == alias if qualifier else alone)

    return tuple(bound for conjunct in _conjuncts(where.this) for bound in _bounds(conjunct, owns, types))


def excluded(stats: Stats, bounds: Sequence[Bound]) -> bool:
    """Whether the statistics (a row group's, or a partition's values) rule out every row for the bounds."""
    return any(b.column in stats and b.excludes(*stats[b.column]) for b in bounds)


def partition_stats(values: dict[str, str], bounds: Sequence[Bound]) -> Stats:
    """A Hive partition's folder values as statistics (each value its own min and max), typed as the bounds are."""
    stats: Stats = {}
    for bound in bounds:
        value = from_text(bound.family, values[bound.column]) if bound.column in values else None
        if value is not None:
            stats[bound.column] = (value, value)
    return stats
