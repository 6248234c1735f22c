"""A dbt-duckdb plugin (profiles.yml, target `local`) that creates the lake folder the warehouse lives in.

Without it, `dbt build` or `sqlfluff lint` run on a fresh clone, before `make demo`, died with a DuckDB traceback
("Cannot open file lake/warehouse.duckdb"). With it they start; silver then has no Parquet yet, and the
on-run-start hook says so in one line (run `make demo`). `make` and `lakehouse.dbt.run_dbt` create the folder
themselves too; this is for dbt and sqlfluff run by hand. It also creates the parents of DuckDB's spill folder
(`temp_directory`), which DuckDB does not: on a lake without `_tmp/`, the first spill failed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dbt.adapters.duckdb.credentials import DuckDBCredentials
from dbt.adapters.duckdb.plugins import BasePlugin


def warehouse_folder(database_path: str) -> Path | None:
    """The folder a DuckDB database file needs, or None for an in-memory or remote database."""
    if database_path in ("", ":memory:") or ":" in database_path.split("/", 1)[0]:
        return None
    return Path(database_path).parent


class Plugin(BasePlugin):
    def update_connection_config(self, creds: DuckDBCredentials, config: dict[str, Any]) -> None:
        folder = warehouse_folder(creds.path)
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
        spill = config.get("temp_directory")
        # DuckDB creates the spill folder itself, but not its parents: a first spill would fail
        if spill:
            Path(spill).parent.mkdir(parents=True, exist_ok=True)
