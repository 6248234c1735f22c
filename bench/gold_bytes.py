"""The bytes a gold run reads: the local stand-in for what Athena bills (scanned bytes, 5 USD per TB).

One `dbt build` (what `lakehouse gold` runs) with DuckDB profiling every query dbt sends (models, data tests,
hooks), then, per table scan in each query's profile:

- a file scan (silver's Parquet through the source and the staging views, a seed's CSV): the bytes DuckDB read;
- a scan of a warehouse table (the marts, the seeds): rows scanned (after zone-map pruning) x the Parquet bytes per
  row of each column it read, measured on the table written as Parquet (Athena's Iceberg tables are Parquet).

A scan of the same data twice counts twice, as on Athena (no cache between queries). Untimed: the bench runs it
apart from the timed runs.

    python -m bench.gold_bytes --lake LAKE [--full-refresh] --out bytes.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
import tempfile
import threading
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

# dbt's query comment names the node a query runs for (connection_name; node_id when the comment is configured so)
NODE_ID = re.compile(r'"(?:node_id|connection_name)":\s*"((?:model|test|seed|unit_test|snapshot)\.[^"]+)"')
IDENTIFIER = re.compile(r'"([^"]+)"|([A-Za-z_][A-Za-z0-9_]*)')
SAMPLE_ROWS = 1_000_000


@contextmanager
def profiled_queries(folder: Path) -> Iterator[list[dict[str, Any]]]:
    """While active, every query dbt-duckdb runs is profiled; yields the list their JSON profiles are added to."""
    from dbt.adapters.duckdb.environments import local

    profiles: list[dict[str, Any]] = []
    counter, lock = itertools.count(), threading.Lock()
    wrapper = local.DuckDBCursorWrapper
    original_init, original_execute = wrapper.__init__, wrapper.execute

    def collect(path: Path, node: str = "hooks") -> None:
        """A query's profile is written when its result is consumed: pick it up before the next query overwrites
        it, tagged with the dbt node whose SQL ran last on the cursor (a profile holds only the last statement of
        a multi-statement execute, without dbt's comment)."""
        if path.exists():
            with lock:
                profiles.append({**json.loads(path.read_text()), "dbt_node": node})
            path.unlink()

    def init(self: Any, cursor: Any) -> None:
        original_init(self, cursor)
        self._node = "hooks"
        with lock:
            self._profile_path = folder / f"query-{next(counter)}.json"
        escaped = str(self._profile_path).replace("'", "''")
        # (before the output file: it sets the file type)
        cursor.execute("set enable_profiling = 'json'")
        cursor.execute(f"set profiling_output = '{escaped}'")
        cursor.execute("set profiling_coverage = 'ALL'")
        self._profile_path.unlink(missing_ok=True)

    def execute(self: Any, sql: str, bindings: Any = None) -> Any:
        collect(self._profile_path, self._node)
        match = NODE_ID.search(sql[:500])
        self._node = match.group(1) if match else "hooks"
        try:
            return original_execute(self, sql, bindings)
        finally:
            collect(self._profile_path, self._node)

    def collecting(name: str) -> Any:
        """The cursor's own method `name` (fetchall, rollback, ...), picking up profiles before and after."""

        def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            collect(self._profile_path, self._node)
            try:
                return getattr(self._cursor, name)(*args, **kwargs)
            finally:
                collect(self._profile_path, self._node)

        return method

    forwarded = ("fetchall", "fetchone", "fetchmany", "rollback", "commit", "close")
    wrapper.__init__, wrapper.execute = init, execute
    for name in forwarded:
        setattr(wrapper, name, collecting(name))
    try:
        yield profiles
    finally:
        wrapper.__init__, wrapper.execute = original_init, original_execute
        for name in forwarded:
            delattr(wrapper, name)
        for path in sorted(folder.glob("query-*.json")):
            collect(path)


def scans(operator: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every table scan in a profile's operator tree."""
    if operator.get("type") == "TABLE_SCAN":
        yield operator
    for child in operator.get("children", []):
        yield from scans(child)


def _columns_read(extra: dict[str, Any], columns: set[str]) -> set[str]:
    """The table's columns a scan read: its projections and the columns its pushed-down filters test."""
    text = " ".join(
        "\n".join(v) if isinstance(v, list) else str(v)
        for k, v in extra.items()
        if k in ("Projections", "Filters")
    )
    names = {quoted or bare for quoted, bare in IDENTIFIER.findall(text)}
    return {c for c in columns if c in names}


def _table_key(name: str) -> tuple[str, str]:
    """(schema, table) of a scanned table named catalog.schema.table; dbt's temporary relations count as the table
    they stage (fct_orders__dbt_tmp is read like fct_orders)."""
    parts = name.split(".")
    return parts[-2], parts[-1].split("__dbt_tmp")[0]


def parquet_bytes_per_row(
    warehouse: Path, tables: set[tuple[str, str]]
) -> dict[tuple[str, str], dict[str, float]]:
    """For each table, each column's compressed Parquet bytes per row (on up to SAMPLE_ROWS rows)."""
    widths: dict[tuple[str, str], dict[str, float]] = {}
    with (
        tempfile.TemporaryDirectory(prefix="gold-bytes-") as scratch,
        duckdb.connect(str(warehouse), read_only=True) as con,
    ):
        existing = set(con.execute("select schema_name, table_name from duckdb_tables()").fetchall())
        named = {table: (schema, table) for schema, table in existing}
        for schema, table in sorted((tables & existing) | {named[t] for _, t in tables if t in named}):
            sample = Path(scratch) / f"{schema}.{table}.parquet"
            con.execute(
                f'copy (select * from "{schema}"."{table}" limit {SAMPLE_ROWS}) to \'{sample}\' (format parquet)'
            )
            rows = con.execute(f"select sum(num_rows) from parquet_file_metadata('{sample}')").fetchone()[0]
            sizes = con.execute(
                "select path_in_schema, sum(total_compressed_size) "
                f"from parquet_metadata('{sample}') group by path_in_schema"
            ).fetchall()
            widths[(schema, table)] = {str(col): size / rows for col, size in sizes} if rows else {}
    return widths


def bytes_read(profiles: list[dict[str, Any]], warehouse: Path) -> dict[str, Any]:
    """Bytes read per kind of dbt node (model, test, seed, unit_test; hooks for the rest), per node, and per node
    and warehouse table it read (``files`` for Parquet and CSV files: silver, seeds)."""
    native: list[tuple[str, tuple[str, str], dict[str, Any]]] = []
    by_node_table: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    files = 0.0
    for profile in profiles:
        node = profile["dbt_node"]
        for operator in profile.get("operator", []):
            for scan in scans(operator):
                if "bytes_scanned" in scan:
                    by_node_table[node]["files"] += scan["bytes_scanned"]
                    files += scan["bytes_scanned"]
                elif "Table" in scan.get("extra_info", {}):
                    native.append((node, _table_key(scan["extra_info"]["Table"]), scan))
    widths = parquet_bytes_per_row(warehouse, {key for _, key, _ in native})
    # dbt's staging copies live in schema temp.main
    by_name = {table: width for (_, table), width in widths.items()}
    tables = 0.0
    for node, key, scan in native:
        width = widths.get(key) or by_name.get(key[1], {})
        read = scan.get("rows_scanned", 0) * sum(
            width[c] for c in _columns_read(scan["extra_info"], set(width))
        )
        by_node_table[node][key[1]] += read
        tables += read
    by_node = {node: sum(read.values()) for node, read in by_node_table.items()}
    by_kind: dict[str, float] = defaultdict(float)
    for node, n in by_node.items():
        by_kind[node.split(".")[0]] += n
    return {
        "total_bytes": sum(round(n) for n in by_kind.values()),
        "file_bytes": round(files),
        "warehouse_table_bytes": round(tables),
        "by_kind": {kind: round(n) for kind, n in sorted(by_kind.items())},
        "by_node": {node: round(n) for node, n in sorted(by_node.items(), key=lambda kv: -kv[1])},
        "by_node_table": {
            node: {table: round(n) for table, n in sorted(read.items())}
            for node, read in sorted(by_node_table.items())
        },
        "queries": len(profiles),
    }


def measure(lake: Path, full_refresh: bool) -> dict[str, Any]:
    from lakehouse.dbt import run_dbt

    args = ["build", *(["--full-refresh"] if full_refresh else [])]
    with (
        tempfile.TemporaryDirectory(prefix="gold-profile-") as folder,
        profiled_queries(Path(folder)) as profiles,
    ):
        run_dbt(args, lake)
    return {"full_refresh": full_refresh, **bytes_read(profiles, lake / "warehouse.duckdb")}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.gold_bytes", description=__doc__)
    parser.add_argument("--lake", type=Path, required=True)
    parser.add_argument("--full-refresh", action="store_true")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    result = measure(args.lake.resolve(), args.full_refresh)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
