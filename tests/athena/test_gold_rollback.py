"""A failed gold full refresh leaves the previous mart readable, on Athena and on DuckDB.

A copy of the project gains two probe marts: an incremental one (marts/, the layer's Iceberg merge config) and a
rebuilt-whole one (marts/monitoring/, materialized table). Both build once; then `--full-refresh` with the var
`rollback_probe_fails` makes their SQL cast a word to an integer. That compiles, passes the contract (dbt checks
it on an empty result) and fails only on the data, at run time, inside the CTAS. The previous table must still
be the one the catalog names, at the same location, with the same rows.

On Athena this runs dbt-athena 1.11.1's real materializations through the stand-in: they build
`<model>__dbt_tmp` (incremental) or `<model>__ha` (table) and rename only once it exists. The test pins that
branch: a dbt-athena that drops the live table before its rebuild fails it (docs/runbook.md, "Gold rollback")."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from lakehouse.athena_local.standin import AthenaStandIn
from lakehouse.dbt import REPO, DbtError, run_dbt
from tests.athena.helpers import dbt_args, sort_rows

pytestmark = [pytest.mark.dbt, pytest.mark.filterwarnings("ignore:Tried to parse AWS::")]

PROBES = {"rollback_probe": "incremental", "rollback_probe_table": "table"}
# Athena's temporary relation of each materialization's full refresh (dbt-athena 1.11.1)
ATHENA_TMP = {"rollback_probe": "rollback_probe__dbt_tmp", "rollback_probe_table": "rollback_probe_table__ha"}
PREFIX = "rollback"
INCREMENTAL = "macros/materializations/models/incremental/incremental.sql"
FAIL = ["--vars", "{rollback_probe_fails: true}"]

PROBE_SQL = """
select
    cast(n as integer) as probe_id,
    cast(
        {%- if var('rollback_probe_fails', false) %}
        case when n = 2 then 'two' else cast(n as varchar) end
        {%- else %}
        cast(n * 10 as varchar)
        {%- endif %}
    as integer) as amount
from (values (1), (2), (3)) as t(n)
"""

PROBE_YML = """
version: 2
models:
  - name: {name}
    description: A mart whose rebuild fails at run time when the var rollback_probe_fails is set.
    config:
      unique_key: probe_id
    columns:
      - name: probe_id
        description: Key.
        data_type: integer
      - name: amount
        description: A cast that fails on one row when the var is set.
        data_type: integer
"""


def project_with_probes(root: Path, dbt_athena_drops_first: bool = False) -> Path:
    """A copy of the project with the probes. `dbt_athena_drops_first`: with dbt-athena's own incremental
    materialization, copied with the one line that makes its branch condition work as written (it then drops
    the live table before rebuilding it): what a release that defines `external_location` would do."""
    project = root / "project"
    project.mkdir()
    for item in ("dbt_project.yml", "models", "macros", "data-tests", "seeds", "profiles"):
        (shutil.copytree if (REPO / item).is_dir() else shutil.copy)(REPO / item, project / item)
    folders = {"rollback_probe": "models/marts", "rollback_probe_table": "models/marts/monitoring"}
    for name, folder in folders.items():
        (project / folder / f"{name}.sql").write_text(PROBE_SQL)
        (project / folder / f"{name}.yml").write_text(PROBE_YML.format(name=name))
    if dbt_athena_drops_first:
        import dbt.include.athena

        installed = Path(dbt.include.athena.__file__).parent / INCREMENTAL
        anchor = "{% set s3_data_naming = config.get('s3_data_naming', default=target.s3_data_naming) %}"
        text = installed.read_text()
        assert text.count(anchor) == 1 and "set external_location" not in text, (
            "dbt-athena changed: re-read it"
        )
        defined = anchor + "\n  {% set external_location = config.get('external_location', default=none) %}"
        (project / "macros" / "dbt_athena_incremental.sql").write_text(text.replace(anchor, defined))
    return project


def build(project: Path, lake: Path, work: Path, *args: str, target: str) -> None:
    run_dbt(["run", *args, "--select", *PROBES, *dbt_args(work)], lake, target=target, project=project)


def fails(project: Path, lake: Path, work: Path, target: str) -> str:
    """The one-line error of a full refresh whose CTAS fails on the data."""
    with pytest.raises(DbtError) as failure:
        build(project, lake, work, "--full-refresh", *FAIL, target=target)
    return str(failure.value)


@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AthenaStandIn]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with AthenaStandIn() as athena:
        yield athena


def glue_tables(standin: AthenaStandIn, database: str) -> dict[str, dict[str, Any]]:
    tables = standin.client("glue").get_tables(DatabaseName=database)["TableList"]
    return {t["Name"]: t for t in tables}


def test_a_failed_full_refresh_on_athena_leaves_the_previous_marts(
    standin: AthenaStandIn, tmp_path: Path
) -> None:
    project = project_with_probes(tmp_path)
    lake = tmp_path / "lake"
    database = f"lakehouse_dev_{PREFIX}_gold"
    with standin.environment(DBT_DEV_PREFIX=PREFIX):
        build(project, lake, tmp_path / "first", target="athena")
        before = {name: standin.read(database, name) for name in PROBES}
        locations = {n: t["StorageDescriptor"]["Location"] for n, t in glue_tables(standin, database).items()}
        start = len(standin.statements)
        error = fails(project, lake, tmp_path / "refresh", target="athena")
    assert all(name in error for name in PROBES) and "'two'" in error and "\n" not in error, error
    assert all(rows for _, rows in before.values()), before
    after = glue_tables(standin, database)
    for name in PROBES:
        assert standin.read(database, name) == before[name], name
        assert after[name]["StorageDescriptor"]["Location"] == locations[name], name
    # today's branch: the CTAS that failed built the temporary table, and the live one was never dropped
    refresh = standin.statements[start:]
    failed_ctas = {tmp for tmp in ATHENA_TMP.values() for s in refresh if s.status != "ok" and tmp in s.sql}
    assert failed_ctas == set(ATHENA_TMP.values()), [(s.kind, s.status, s.sql[:200]) for s in refresh]
    dropped = [s.sql for s in refresh if s.kind.startswith("drop") and "rollback_probe" in s.sql]
    assert not [sql for sql in dropped if not any(tmp in sql for tmp in ATHENA_TMP.values())], dropped


def test_a_dbt_athena_that_drops_the_live_mart_first_is_refused(
    standin: AthenaStandIn, tmp_path: Path
) -> None:
    """Its incremental branch condition fixed, dbt-athena 1.11.1 would drop the live table before the rebuild
    (checked by hand: without macros/gold_rollback.sql the mart is then gone). The project's drop_relation
    refuses: one line, and the previous mart still reads the same rows."""
    project = project_with_probes(tmp_path, dbt_athena_drops_first=True)
    lake = tmp_path / "lake"
    database = f"lakehouse_dev_{PREFIX}first_gold"
    with standin.environment(DBT_DEV_PREFIX=f"{PREFIX}first"):
        build(project, lake, tmp_path / "first", target="athena")
        before = standin.read(database, "rollback_probe")
        error = fails(project, lake, tmp_path / "refresh", target="athena")
    relation = f'"awsdatacatalog"."{database}"."rollback_probe"'
    assert f"refusing to drop {relation} before its rebuild exists" in error, error
    assert "\n" not in error
    assert before[1] and standin.read(database, "rollback_probe") == before


def test_every_athena_table_is_rebuilt_beside_the_live_one(tmp_path: Path) -> None:
    """The project pins what keeps the rebuild apart from the live mart: every table and incremental model is an
    Iceberg table written under a location of its own (schema_table_unique, no external_location), whatever
    the profile says."""
    run_dbt(["parse", *dbt_args(tmp_path)], tmp_path / "lake")
    nodes = json.loads((tmp_path / "target" / "manifest.json").read_text())["nodes"].values()
    built = [
        n
        for n in nodes
        if n["resource_type"] == "model" and n["config"]["materialized"] in ("table", "incremental")
    ]
    assert len(built) >= 6, [n["name"] for n in built]
    for node in built:
        config = node["config"]
        assert config.get("s3_data_naming") == "schema_table_unique", node["name"]
        assert config.get("external_location") is None, node["name"]
        assert config.get("table_type") == "iceberg", node["name"]


def read_duckdb(lake: Path, table: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(lake / "warehouse.duckdb"), read_only=True) as con:
        return sort_rows(con.sql(f'select * from gold."{table}"').fetchall())


def test_a_failed_full_refresh_on_duckdb_leaves_the_previous_marts(tmp_path: Path) -> None:
    project = project_with_probes(tmp_path)
    lake = tmp_path / "lake"
    build(project, lake, tmp_path / "first", target="local")
    before = {name: read_duckdb(lake, name) for name in PROBES}
    error = fails(project, lake, tmp_path / "refresh", target="local")
    assert all(name in error for name in PROBES) and "'two'" in error and "\n" not in error, error
    assert all(before.values()), before
    for name in PROBES:
        assert read_duckdb(lake, name) == before[name], name
