"""The Glue entry script as Glue starts it: ``sys.argv`` is the script path, then Glue's own arguments and the
job's in no fixed order, and AWS's own ``awsglue.utils.getResolvedOptions`` (the awsglue-dev package, the
interface the Glue runtime ships) parses them. Locally the same awsglue is importable but its GlueContext cannot
run (no Glue classes in the JVM): the script must work there too."""

from __future__ import annotations

import datetime as dt
import json
import runpy
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from glue_jobs import bronze_to_silver_orders as script

SCRIPT = Path(script.__file__)
# What Glue adds to every run of this job (its ids, the bookmark option and the temp dir of the template), and
# special job arguments it passes through as well.
GLUE_OWN = [
    "--JOB_ID", "j_3f1c0e6a8d2b4c5e9f7a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6",
    "--JOB_RUN_ID", "jr_8c1f2e3d4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
    "--job-bookmark-option", "job-bookmark-disable",
    "--TempDir", "s3://lakehouse-dev-lake-000000000000-eu-west-1/_state/glue-tmp/",
    "--enable-metrics", "true",
    "--extra-py-files", "s3://lakehouse-dev-lake-000000000000-eu-west-1/artifacts/glue/glue_jobs.zip",
]  # fmt: skip


def job_arguments(root: str, *, full_refresh: str | None = None) -> list[list[str]]:
    pairs = [
        ["--bronze_path", f"{root}/bronze/orders/"],
        ["--silver_path", f"{root}/silver/"],
        ["--reference_path", f"{root}/reference/"],
        ["--state_path", f"{root}/_state/silver/"],
        ["--runs_path", f"{root}/_runs/silver/"],
    ]
    if full_refresh is not None:
        pairs.append(["--full_refresh", full_refresh])
    return pairs


NAME = ["--JOB_NAME", "lakehouse-dev-bronze-to-silver"]


def flat(pairs: list[list[str]]) -> list[str]:
    return [item for pair in pairs for item in pair]


def glue_own_pairs() -> list[list[str]]:
    return [GLUE_OWN[i : i + 2] for i in range(0, len(GLUE_OWN), 2)]


ROOT = "s3://lakehouse-dev-lake-000000000000-eu-west-1"
ORDERS = {
    # the order that lost --bronze_path: a job argument right after the script path
    "job arguments first": flat([*job_arguments(ROOT), NAME, *glue_own_pairs()]),
    "Glue's arguments first": flat([*glue_own_pairs(), *job_arguments(ROOT), NAME]),
    "job name first": flat([NAME, *job_arguments(ROOT), *glue_own_pairs()]),
    "interleaved, reversed": flat(
        [p for pair in zip(reversed(job_arguments(ROOT)), glue_own_pairs(), strict=False) for p in pair]
        + [NAME, *glue_own_pairs()[len(job_arguments(ROOT)) :]]
    ),
}


def test_awsglue_is_aws_own() -> None:
    """The parser under test is AWS's: awsglue-dev's utils drops argv[0] itself, as the Glue runtime's does."""
    from awsglue import utils

    assert "parse_known_args(args[1:])" in Path(utils.__file__).read_text()


@pytest.mark.parametrize("argv", ORDERS.values(), ids=ORDERS.keys())
def test_every_argument_is_resolved_in_any_order(argv: list[str]) -> None:
    # what main() passes: sys.argv without the script path
    options = script.parse_args(argv)
    assert options["JOB_RUN_ID"] == GLUE_OWN[3], "not parsed by awsglue's getResolvedOptions"
    assert options["JOB_NAME"] == "lakehouse-dev-bronze-to-silver"
    for name, value in job_arguments(ROOT):
        assert options[name.removeprefix("--")] == value, name
    assert options["full_refresh"] == "false"


@pytest.mark.parametrize("flag", [["--full_refresh", "true"], ["--full_refresh=true"]])
def test_optional_argument_anywhere(flag: list[str]) -> None:
    argv = [*flag, *flat(job_arguments(ROOT)), *GLUE_OWN, *NAME]
    assert script.parse_args(argv)["full_refresh"] == "true"


def test_a_missing_argument_is_one_line_before_spark_starts(tmp_path: Path) -> None:
    argv = [*GLUE_OWN, *NAME, *flat(job_arguments(ROOT)[1:])]
    result = subprocess.run(
        [sys.executable, str(SCRIPT), *argv], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "bronze_to_silver_orders: error: the following arguments are required: --bronze_path"
    ], result.stderr


@pytest.mark.spark
def test_the_script_runs_as_glue_starts_it(
    spark: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`python bronze_to_silver_orders.py <Glue-shaped argv>` on a local lake, awsglue importable: it runs."""
    from ingestion.local import ingest_to_lake

    lake = tmp_path / "lake"
    ingest_to_lake(lake, rows=60, days=2, start_date=dt.date(2026, 3, 1), seed=5, progress=False)
    pairs = job_arguments(str(lake))
    pairs[2] = ["--reference_path", str(Path(script.__file__).resolve().parents[1] / "seeds")]
    monkeypatch.setattr(sys, "argv", [str(SCRIPT), *flat(pairs), *NAME, *GLUE_OWN])
    runpy.run_path(str(SCRIPT), run_name="__main__")

    runs = list((lake / "_runs" / "silver").glob("*.json"))
    assert len(runs) == 1, runs
    assert json.loads(runs[0].read_text())["rows_read"] == 60
    glob = lake / "silver" / "silver_orders" / "order_date=*" / "*.parquet"
    with duckdb.connect() as con:
        (count,) = con.execute(f"select count(distinct order_id) from read_parquet('{glob}')").fetchone()
    assert count == 60
