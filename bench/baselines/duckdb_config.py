"""DuckDB's resource limits for the baselines: the environment variables and defaults of the local dbt profile
(profiles/profiles.yml, `settings:`), so a baseline runs under the same memory budget as the stage it is
compared with.

    con = connect(temp_root=out_folder)            # an in-memory database
    con = connect("gold.duckdb", temp_root=...)    # a database file
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

DEFAULTS = {"memory_limit": "3GB", "threads": "2"}


def settings(temp_root: Path) -> dict[str, str]:
    """memory_limit, threads and temp_directory from DUCKDB_MEMORY_LIMIT, DUCKDB_THREADS, DUCKDB_TEMP_DIRECTORY."""
    return {
        "memory_limit": os.environ.get("DUCKDB_MEMORY_LIMIT", DEFAULTS["memory_limit"]),
        "threads": os.environ.get("DUCKDB_THREADS", DEFAULTS["threads"]),
        "temp_directory": os.environ.get("DUCKDB_TEMP_DIRECTORY", str(Path(temp_root) / "_tmp" / "duckdb")),
    }


def connect(database: str | Path = ":memory:", *, temp_root: Path) -> duckdb.DuckDBPyConnection:
    """A connection under the limits; its spill folder is created (DuckDB creates the last level only, so a
    baseline whose output folder had no ``_tmp`` yet failed the first time it spilled: the 10M silver floor)."""
    config = settings(temp_root)
    Path(config["temp_directory"]).mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(database), config=config)
