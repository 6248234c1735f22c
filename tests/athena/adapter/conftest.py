"""dbt-tests-adapter's fixtures, for this folder only, with the profile pointing at the Athena stand-in.

dbt-athena's own functional tests enable the fixtures with `pytest_plugins = ["dbt.tests.fixtures.project"]` in
their top conftest; pytest refuses `pytest_plugins` below the root conftest, and these fixtures (`project`,
`adapter`, `models`, `tests`, `environment`, ...) must not reach the other test folders: they are imported here,
so they exist for the tests of this folder alone.

One stand-in serves the whole folder (this folder is a package: the fixture ends with its last test, before any
other module of tests/athena starts a stand-in of its own). Every model, seed and snapshot is an Iceberg table,
as this project builds them on Athena: `+table_type: iceberg` (and the merge strategy) is added to every suite's
dbt_project.yml.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from dbt.tests.fixtures.project import *  # noqa: F403 - dbt-tests-adapter's fixtures, confined to this folder
from dbt.tests.util import write_file

from lakehouse.athena_local.standin import AthenaStandIn

# dbt-athena's default incremental strategy, insert_overwrite, is Hive's: Iceberg models merge.
DEFAULTS = {
    "models": {"+table_type": "iceberg", "+incremental_strategy": "merge"},
    "seeds": {"+table_type": "iceberg"},
    "snapshots": {"+table_type": "iceberg"},
}


@pytest.fixture(scope="package", autouse=True)
def suite_target_paths(dbt_output: Path) -> Iterator[None]:
    """dbt-tests-adapter reads run_results.json, manifest.json and catalog.json from `<project>/target`, and each
    suite's project is a folder of its own: the session's shared DBT_TARGET_PATH (tests/conftest.py) would send
    them elsewhere."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("DBT_TARGET_PATH", raising=False)
        patch.delenv("DBT_LOG_PATH", raising=False)
        yield


@pytest.fixture(scope="package")
def athena(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AthenaStandIn]:
    """The stand-in for every suite of the folder, with AWS pointed at it for in-process dbt runs."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    log = tmp_path_factory.mktemp("athena-adapter") / "statements.sql"
    with AthenaStandIn(statement_log=log) as standin, standin.environment():
        yield standin


@pytest.fixture(scope="class")
def dbt_profile_target(athena: AthenaStandIn) -> dict[str, Any]:
    """The athena target of the stack in the stand-in (the project's own profile, with the suite's schema)."""
    env = athena.dbt_env()
    return {
        "type": "athena",
        "region_name": env["DBT_ATHENA_REGION"],
        "s3_staging_dir": env["DBT_ATHENA_S3_STAGING_DIR"],
        "s3_data_dir": env["DBT_ATHENA_S3_DATA_DIR"],
        "s3_data_naming": "schema_table_unique",
        "work_group": env["DBT_ATHENA_WORKGROUP"],
        "database": "awsdatacatalog",
        "schema": env["DBT_ATHENA_SCHEMA"],
        "threads": 1,
        "num_retries": 0,
        "poll_interval": 0.1,
    }


@pytest.fixture(scope="class")
def dbt_project_yml(project_root: Path, project_config_update: dict[str, Any] | str) -> dict[str, Any]:
    """The suite's dbt_project.yml, with Iceberg as the table type of its models, seeds and snapshots."""
    updates = (
        yaml.safe_load(project_config_update)
        if isinstance(project_config_update, str)
        else project_config_update
    )
    config: dict[str, Any] = {
        "name": "test",
        "profile": "test",
        "flags": {"send_anonymous_usage_stats": False},
    }
    config.update(updates or {})
    for resource, defaults in DEFAULTS.items():
        config[resource] = {**defaults, **config.get(resource, {})}
    write_file(yaml.safe_dump(config), project_root, "dbt_project.yml")
    return config
