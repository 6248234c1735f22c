"""The pipeline's dbt stages (lakehouse/stage.py), run by the command CodeBuild runs, `python -m lakehouse.stage
<stage>` (its main, in this process), against the Athena stand-in: gold twice (CTAS, then the MERGE path), Iceberg
upkeep, source freshness and the full test sweep; each publishes its artifacts under artifacts/dbt/ in the stack's
bucket. The orchestration around them is tested in tests/infra/test_infra_pipeline.py."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from lakehouse.athena_local.catalog import split_s3
from lakehouse.athena_local.outcome import AthenaQueryError, Context
from lakehouse.athena_local.standin import AthenaStandIn
from lakehouse.stage import FRESHNESS_METRIC, METRIC_NAMESPACE, dbt_command, main
from tests.athena.helpers import Silver, reuse_parse, scenario
from tests.gold.helpers import write_rejected, write_silver

pytestmark = [pytest.mark.dbt, pytest.mark.filterwarnings("ignore:Tried to parse AWS::")]

GOLD = "lakehouse_dev_gold"
# The incremental Iceberg marts upkeep maintains, and the ones partitioned by month(order_date).
PARTITIONED = {"fct_orders", "gold_orders"}
# The work folder of the `gold` fixture's first stage.
FIRST_GOLD = "run-1-gold"


def run_stage(standin: AthenaStandIn, stage: str, work: Path, run_id: str) -> int:
    """The stage in a work folder of its own, starting from the parse the module's first gold stage saved (a
    stage with other vars, the sweep, parses again)."""
    env = {
        "ARTIFACTS_URI": f"s3://{standin.bucket}/artifacts/dbt",
        "RUN_ID": run_id,
        "DBT_DOCS_URL": docs_url(standin),
    }
    reuse_parse(work / FIRST_GOLD, work / f"{run_id}-{stage}")
    with standin.environment(**env):
        return main([stage, "--work", str(work / f"{run_id}-{stage}")])


def docs_url(standin: AthenaStandIn) -> str:
    """What the CodeBuild project sets (infra/lakehouse.yaml): the S3 console's view of the published docs."""
    return f"https://s3.console.aws.amazon.com/s3/buckets/{standin.bucket}?region=eu-west-1&prefix=artifacts/dbt/docs/"


def load(standin: AthenaStandIn, lake: Path, silver: Silver) -> None:
    write_silver(lake, silver.orders)
    write_rejected(lake, silver.rejected)
    standin.upload_silver(lake)


def keys(standin: AthenaStandIn, prefix: str) -> set[str]:
    s3 = standin.client("s3")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=standin.bucket, Prefix=prefix)
    return {obj["Key"] for page in pages for obj in page.get("Contents", [])}


def execute(standin: AthenaStandIn, sql: str) -> Any:
    return standin.engine.execute(
        sql, Context(GOLD, f"s3://{standin.bucket}/athena-results/q.csv", True, "q")
    )


def rows_of(standin: AthenaStandIn, table: str) -> list[tuple[Any, ...]]:
    return sorted(standin.read(GOLD, table)[1], key=repr)


@pytest.fixture(scope="module")
def gold(standin: AthenaStandIn, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two gold stages: the first load (CTAS), then new, late and corrected orders (MERGE)."""
    work = tmp_path_factory.mktemp("stages")
    first, second = scenario()
    load(standin, work / "lake", first)
    codes = [run_stage(standin, "gold", work, "run-1")]
    load(standin, work / "lake", second)
    logged = len(standin.statements)
    codes.append(run_stage(standin, "gold", work, "run-2"))
    return {"work": work, "codes": codes, "incremental": standin.statements[logged:]}


def test_gold_runs_make_athena_locals_command_and_publishes_its_artifacts(
    standin: AthenaStandIn, gold: dict[str, Any]
) -> None:
    from lakehouse.athena_local.__main__ import main as athena_local

    assert dbt_command("gold") == ["build"]
    # `make athena-local` without ARGS runs the gold stage's command (it reads dbt_command("gold"))
    assert 'dbt_command("gold")' in Path(athena_local.__code__.co_filename).read_text()
    assert gold["codes"] == [0, 0]
    published = keys(standin, "artifacts/dbt/")
    for run in ("run-1", "run-2"):
        for name in ("manifest.json", "run_results.json", "dbt.log"):
            assert f"artifacts/dbt/runs/{run}/gold/{name}" in published, sorted(published)
    assert {"artifacts/dbt/docs/index.html", "artifacts/dbt/docs/static_index.html"} <= published
    body = standin.client("s3").get_object(
        Bucket=standin.bucket, Key="artifacts/dbt/runs/run-2/gold/run_results.json"
    )
    results = json.loads(body["Body"].read())["results"]
    assert results and {r["status"] for r in results} <= {"success", "pass"}
    assert rows_of(standin, "fct_orders")
    # the exposure of the docs points where the gold stage published them
    body = standin.client("s3").get_object(Bucket=standin.bucket, Key="artifacts/dbt/docs/manifest.json")
    exposure = json.loads(body["Body"].read())["exposures"]["exposure.lakehouse.dbt_docs"]
    assert exposure["url"] == docs_url(standin)
    assert exposure["url"].endswith("prefix=artifacts/dbt/docs/")


def test_incremental_builds_stage_in_tmp_tables_of_their_own(gold: dict[str, Any]) -> None:
    """unique_tmp_table_suffix: two builds of a mart at once never share <mart>__dbt_tmp."""
    staged = {}
    for statement in gold["incremental"]:
        if statement.kind == "ctas_iceberg":
            found = re.search(r'create table "awsdatacatalog"\."\w+"\."(\w+?)__dbt_tmp(\w*)"', statement.sql)
            if found:
                staged[found.group(1)] = found.group(2)
    marts = {"gold_orders", "fct_orders", "dim_customers", "dim_products", "fct_country_monthly_kpis"}
    assert marts <= set(staged), staged
    for mart in marts:
        assert re.fullmatch(r"_[0-9a-f_]{8,}", staged[mart]), (mart, staged[mart])


def test_a_dev_build_without_a_prefix_is_refused_in_one_line(
    standin: AthenaStandIn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with standin.environment(DBT_DEV_SHARED="", DBT_DEV_PREFIX=""):
        assert main(["gold", "--work", str(tmp_path)]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "DBT_DEV_PREFIX is not set" in line and "export DBT_DEV_PREFIX=" in line, line


def test_upkeep_sets_retention_compacts_recent_partitions_and_vacuums(
    standin: AthenaStandIn, gold: dict[str, Any]
) -> None:
    before = {table: rows_of(standin, table) for table in PARTITIONED}
    first_build = {k for k in keys(standin, "gold/") if "fct_orders" in k}
    logged = len(standin.statements)
    assert run_stage(standin, "upkeep", gold["work"], "run-3") == 0
    statements = [s for s in standin.statements[logged:] if s.status == "ok"]
    optimized = {
        re.search(r"optimize \S+\.(\w+)", s.sql).group(1): s.sql for s in statements if s.kind == "optimize"
    }  # type: ignore[union-attr]
    vacuumed = {s.sql.split(".")[-1].strip() for s in statements if s.kind == "vacuum"}
    assert set(optimized) >= PARTITIONED and set(optimized) == vacuumed
    for table in PARTITIONED:
        # recent partitions only: the first day of the month lookback_days (3) before today
        assert re.search(r"where order_date >= date '\d{4}-\d{2}-01'$", optimized[table]), optimized[table]
        params = standin.engine.glue_table(GOLD, table)["Parameters"]  # type: ignore[index]
        # var iceberg_snapshot_retention_days
        assert params["vacuum_max_snapshot_age_seconds"] == str(2 * 86400)
        assert rows_of(standin, table) == before[table]
    # Two days on, VACUUM expires the first build's snapshot: its data file goes, the current data stays.
    real_clock = standin.engine.clock
    standin.engine.clock = lambda: real_clock() + 3 * 86400
    try:
        assert run_stage(standin, "upkeep", gold["work"], "run-4") == 0
    finally:
        standin.engine.clock = real_clock
    after = {k for k in keys(standin, "gold/") if "fct_orders" in k}
    assert after < first_build, "VACUUM deleted nothing"
    assert {table: rows_of(standin, table) for table in PARTITIONED} == before


def test_optimize_bin_packs_only_the_files_its_where_selects(
    standin: AthenaStandIn, gold: dict[str, Any]
) -> None:
    location = f"s3://{standin.bucket}/gold/upkeep_probe"
    execute(
        standin,
        f"create table upkeep_probe with (table_type='iceberg', location='{location}',"
        " partitioning=ARRAY['month(d)']) as select date '2026-01-15' as d, 1 as n",
    )
    execute(standin, "insert into upkeep_probe select date '2026-03-02' as d, 2 as n")
    execute(standin, "insert into upkeep_probe select date '2026-03-20' as d, 3 as n")

    def files() -> list[str]:
        table = standin.engine.glue_table(GOLD, "upkeep_probe")
        return standin.engine.catalog.iceberg_metadata(table)["data-files"]  # type: ignore[arg-type]

    old = files()
    assert len(old) == 3
    outcome = execute(
        standin, "optimize upkeep_probe rewrite data using bin_pack where d >= date '2026-03-01'"
    )
    assert outcome.update_count == 2
    new = files()
    # January's file untouched, March's two packed into one
    assert len(new) == 2 and old[0] in new
    assert sorted(r[1] for r in standin.read(GOLD, "upkeep_probe")[1]) == [1, 2, 3]
    assert execute(standin, "optimize upkeep_probe rewrite data using bin_pack").update_count == 3
    assert len(files()) == 1


@pytest.mark.parametrize("sql", ["optimize {t} rewrite data using bin_pack", "vacuum {t}"])
def test_upkeep_statements_fail_on_a_table_that_is_not_iceberg(standin: AthenaStandIn, sql: str) -> None:
    with pytest.raises(AthenaQueryError, match=r"NOT_SUPPORTED: .* is only supported for Iceberg tables"):
        execute(standin, sql.format(t="lakehouse_dev_silver.silver_orders"))


def test_freshness_fails_on_stale_silver_in_one_line_and_still_reports_its_age(
    standin: AthenaStandIn, gold: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    # the scenario's newest ingested_at is in February 2026: far past the source's error_after (50 hours)
    assert run_stage(standin, "freshness", gold["work"], "run-5") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("pipeline: error: stage freshness: dbt source failed"), err
    assert "artifacts/dbt/runs/run-5/freshness/" in err[0]
    assert "artifacts/dbt/runs/run-5/freshness/sources.json" in keys(standin, "artifacts/dbt/runs/run-5/")
    cloudwatch = standin.client("cloudwatch")
    metrics = cloudwatch.list_metrics(Namespace=METRIC_NAMESPACE, MetricName=FRESHNESS_METRIC)["Metrics"]
    sources = {d["Value"] for m in metrics for d in m["Dimensions"] if d["Name"] == "Source"}
    assert "silver.silver_orders" in sources, metrics


def test_the_weekly_sweep_tests_every_row(standin: AthenaStandIn, gold: dict[str, Any]) -> None:
    assert dbt_command("sweep") == ["test", "--vars", "{full_test_sweep: true}"]
    logged = len(standin.statements)
    assert run_stage(standin, "sweep", gold["work"], "run-6") == 0
    tests = [s.sql for s in standin.statements[logged:] if s.kind == "select"]
    assert tests and not any("__changed_rows__" in sql for sql in tests)
    key = "artifacts/dbt/runs/run-6/sweep/run_results.json"
    results = json.loads(standin.client("s3").get_object(Bucket=standin.bucket, Key=key)["Body"].read())
    statuses = {r["status"] for r in results["results"]}
    # success: the project's hooks
    assert "pass" in statuses and statuses <= {"pass", "success"}, statuses


def test_an_unknown_stage_is_refused_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["bronze"])
    assert exit_.value.code == 2
    assert "invalid choice: 'bronze'" in capsys.readouterr().err


def test_artifact_uri_must_be_s3() -> None:
    from lakehouse.stage import StageError, config_from

    with pytest.raises(StageError, match="ARTIFACTS_URI must be an s3:// URI"):
        config_from("gold", Path("w"), {"ARTIFACTS_URI": "/tmp/x"})
    assert split_s3("s3://b/artifacts/dbt") == ("b", "artifacts/dbt")
