"""Query gold from Python with the same SQL on either engine: the local DuckDB warehouse or Athena (PyAthena).

    wh = open_warehouse("local", lake=Path("lake"))
    wh.query("select * from {gold_orders} limit 5")        # {name} -> the relation dbt built for that model

A query never spells a schema or a Glue database: locally each name is looked up in the warehouse's catalog
(`"gold"."gold_orders"`); on Athena dbt itself says where it builds each model (`dbt parse --target athena`:
`"awsdatacatalog"."lakehouse_<env>_gold"."gold_orders"`), from the same DBT_ATHENA_* variables as dbt's athena
target (docs/runbook.md, "Deploying to AWS").
"""

from __future__ import annotations

import decimal
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from lakehouse.dbt import REPO, DbtError, cause, run_dbt

ENGINES = ("local", "athena")
ATHENA_TARGET_VARS = ("DBT_ATHENA_REGION", "DBT_ATHENA_S3_STAGING_DIR", "DBT_ATHENA_S3_DATA_DIR")


class WarehouseError(RuntimeError):
    """The warehouse cannot be queried; the message is one line naming the cause and the fix."""


# DuckDB's words for a file another process holds (its OS lock), and for a file it cannot read as a database.
LOCKED = ("Could not set lock", "Conflicting lock")
DAMAGED = ("not a valid DuckDB database file", "Could not read enough bytes", "Corrupt database file")


def open_problem(warehouse: Path, error: BaseException, then: str) -> str:
    """One line for a warehouse DuckDB could not open or read: in use (only when DuckDB names a lock), damaged, or
    DuckDB's own first line. ``then``: what to do once a lock is released, e.g. "run `lakehouse summary` again"."""
    text = str(error)
    first = cause(text).replace(f' "{warehouse}"', "")
    if any(word in text for word in LOCKED):
        holder = (
            cause(text.split("Conflicting lock is held in", 1)[1]).rstrip(".") if "held in" in text else ""
        )
        return (
            f"the warehouse {warehouse} is in use by another process{' (' + holder + ')' if holder else ''} "
            f"(`lakehouse gold` or dbt running?): wait for it to finish, then {then}"
        )
    if any(word in text for word in DAMAGED):
        return (
            f"the warehouse {warehouse} is damaged ({first}): delete it (and {warehouse.name}.wal if there is one), "
            "then run `lakehouse gold`, which rebuilds it from silver"
        )
    return f"cannot open the warehouse {warehouse}: {first}"


def check_readable(warehouse: Path, then: str) -> None:
    """Open the warehouse read-only and read its catalog, so that a damaged or locked file is one line
    (`open_problem`) before anything else uses it. Nothing to check when there is no file yet."""
    import duckdb

    if not warehouse.exists():
        return
    try:
        with duckdb.connect(str(warehouse), read_only=True) as connection:
            connection.execute("select count(*) from duckdb_tables()").fetchall()
    except duckdb.Error as error:
        raise WarehouseError(open_problem(warehouse, error, then)) from None


def default_lake() -> Path:
    """$LAKEHOUSE_LAKE, else the repository's ./lake (a notebook's working directory is notebooks/)."""
    return Path(os.environ.get("LAKEHOUSE_LAKE") or REPO / "lake").resolve()


def relation_names(manifest: Any) -> dict[str, str]:
    """Model name -> relation, and source table name -> relation, from a parsed dbt manifest."""
    names = {
        node.name: node.relation_name
        for node in manifest.nodes.values()
        if node.resource_type == "model" and node.relation_name
    }
    names.update({source.name: source.relation_name for source in manifest.sources.values()})
    return names


def dbt_relations(lake: Path, target: str) -> dict[str, str]:
    """Parse the project for `target` (no connection needed: a few seconds) and return its relation names."""
    with tempfile.TemporaryDirectory(prefix="lakehouse-parse-") as work:
        try:
            result = run_dbt(
                ["parse", "--quiet", "--target-path", work, "--log-path", work], lake, target=target
            )
        except DbtError as error:
            raise WarehouseError(f"cannot resolve the gold tables for target {target}: {error}") from None
    return relation_names(result.result)


def to_frame(columns: list[str], rows: list[tuple]) -> pd.DataFrame:
    """Rows as a DataFrame; decimal money becomes float, so pandas and matplotlib can do arithmetic on it."""
    frame = pd.DataFrame.from_records(rows, columns=columns)
    for column in frame.columns:
        if frame[column].map(lambda v: isinstance(v, decimal.Decimal)).any():
            frame[column] = frame[column].astype(float)
    return frame


@dataclass
class Warehouse:
    engine: str
    relations: Mapping[str, str]
    cursor: Callable[[], Any]

    def sql(self, text: str) -> str:
        """The SQL with each {model} placeholder replaced by that model's relation."""
        try:
            return text.format_map(self.relations)
        except KeyError as missing:
            raise WarehouseError(f"no model or source named {missing} in the dbt project") from None

    def query(self, text: str) -> pd.DataFrame:
        cursor = self.cursor()
        cursor.execute(self.sql(text))
        return to_frame([d[0] for d in cursor.description], cursor.fetchall())


def _local_cursor(lake: Path) -> Callable[[], Any]:
    import duckdb

    warehouse = lake / "warehouse.duckdb"
    if not warehouse.is_file():
        raise WarehouseError(
            f"no warehouse at {warehouse}: run `make demo` first (or point `lake` at a built lake)"
        )
    try:
        connection = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error as error:
        raise WarehouseError(open_problem(warehouse, error, "open it again")) from None
    return connection.cursor


def _athena_cursor() -> Callable[[], Any]:
    missing = [name for name in ATHENA_TARGET_VARS if not os.environ.get(name)]
    if missing:
        raise WarehouseError(
            f"engine athena needs {', '.join(missing)}: `source build/infra/<env>/dbt-athena.env` after make deploy"
        )
    from pyathena import connect

    connection = connect(
        s3_staging_dir=os.environ["DBT_ATHENA_S3_STAGING_DIR"],
        region_name=os.environ["DBT_ATHENA_REGION"],
        work_group=os.environ.get("DBT_ATHENA_WORKGROUP", "primary"),
    )
    return connection.cursor


def catalog_relations(cursor: Any) -> dict[str, str]:
    """Table or view name -> "schema"."name" in a DuckDB warehouse (gold first when a name is in two schemas)."""
    cursor.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_schema in ('gold', 'staging', 'silver', 'reference') "
        "order by table_schema = 'gold' desc, table_schema"
    )
    names: dict[str, str] = {}
    for schema, name in cursor.fetchall():
        names.setdefault(name, f'"{schema}"."{name}"')
    return names


def open_warehouse(engine: str = "local", lake: Path | str | None = None) -> Warehouse:
    """The warehouse of `engine`: "local" (DuckDB file in `lake`) or "athena" (the deployed gold database)."""
    if engine not in ENGINES:
        raise WarehouseError(f"engine is {engine!r}; use one of {', '.join(ENGINES)}")
    lake = Path(lake).resolve() if lake else default_lake()
    if engine == "local":
        cursor = _local_cursor(lake)
        return Warehouse(engine, catalog_relations(cursor()), cursor)
    # first: it names any missing setting, which dbt parse would only fail on
    cursor = _athena_cursor()
    return Warehouse(engine, dbt_relations(lake, "athena"), cursor)
