"""One dbt stage of the pipeline, as the orchestrator (PipelineStateMachine in infra/lakehouse.yaml) runs it in
CodeBuild, and as `make athena-local` and the tests run it against the Athena stand-in:

    python -m lakehouse.stage gold        # dbt build --target athena (the command `make athena-local` runs);
                                          # again absorbing orders silver's sweep moved (lakehouse/moved_orders.py)
    python -m lakehouse.stage upkeep      # dbt run-operation iceberg_upkeep: retention, OPTIMIZE, VACUUM
    python -m lakehouse.stage freshness   # dbt source freshness, and each source's age as a CloudWatch metric
    python -m lakehouse.stage sweep       # dbt test with var full_test_sweep: every row of every data test

The dbt athena environment (DBT_ATHENA_*, DBT_ENV, ...) is the CodeBuild project's. ARTIFACTS_URI
(s3://<bucket>/artifacts/dbt) and RUN_ID (the execution's name) say where the stage's artifacts go:
<ARTIFACTS_URI>/runs/<RUN_ID>/<stage>/ (manifest.json, run_results.json, sources.json, dbt.log). The gold stage
also publishes the docs site to <ARTIFACTS_URI>/docs/, where the `dbt_docs` exposure points. Artifacts are
published when dbt fails too: they say why.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lakehouse.dbt import DbtError, run_dbt
from lakehouse.moved_orders import absorbing, moved_away, moved_line

LOG = logging.getLogger(__name__)

STAGES: dict[str, tuple[str, ...]] = {
    "gold": ("build",),
    "upkeep": ("run-operation", "iceberg_upkeep"),
    "freshness": ("source", "freshness"),
    "sweep": ("test", "--vars", "{full_test_sweep: true}"),
}
# What dbt leaves in its target and log folders that a reader of a run needs.
ARTIFACTS = ("manifest.json", "run_results.json", "sources.json")
METRIC_NAMESPACE = "Lakehouse/Pipeline"
FRESHNESS_METRIC = "SourceAgeSeconds"


class StageError(RuntimeError):
    """The stage cannot start (configuration), or dbt failed; the message is one line."""


@dataclass(frozen=True)
class StageConfig:
    """What one stage run needs, validated before dbt starts."""

    stage: str
    work: Path
    # s3://bucket/prefix, no trailing slash; empty: publish nothing
    artifacts_uri: str
    run_id: str
    # DBT_ENV, the CloudWatch metric's dimension
    env: str


@dataclass(frozen=True)
class StageOutcome:
    stage: str
    # the S3 URIs written
    published: tuple[str, ...]
    # freshness: seconds since each source's newest row
    source_ages: dict[str, float]


def dbt_command(stage: str) -> list[str]:
    if stage not in STAGES:
        raise StageError(f"unknown stage {stage!r}; use one of {', '.join(STAGES)}")
    return list(STAGES[stage])


def config_from(stage: str, work: Path, environ: Mapping[str, str]) -> StageConfig:
    dbt_command(stage)
    artifacts = environ.get("ARTIFACTS_URI", "").strip().rstrip("/")
    if artifacts and not artifacts.startswith("s3://"):
        raise StageError(f"ARTIFACTS_URI must be an s3:// URI, not {artifacts!r}")
    run_id = environ.get("RUN_ID", "").strip() or "manual"
    if "/" in run_id:
        raise StageError(f"RUN_ID must not contain '/': {run_id!r}")
    return StageConfig(stage, work, artifacts, run_id, environ.get("DBT_ENV", "dev").strip() or "dev")


def split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def source_ages(sources: dict[str, Any]) -> dict[str, float]:
    """{source.table: seconds since its newest loaded_at} from dbt's sources.json."""
    ages = {}
    for result in sources.get("results", []):
        age = result.get("max_loaded_at_time_ago_in_s")
        if age is not None:
            ages[result["unique_id"].removeprefix("source.lakehouse.")] = float(age)
    return ages


def stage_files(config: StageConfig) -> dict[str, Path]:
    """{S3 key suffix: local file} of what the stage left behind."""
    target, logs = config.work / "target", config.work / "logs"
    found = {name: target / name for name in ARTIFACTS if (target / name).is_file()}
    if (logs / "dbt.log").is_file():
        found["dbt.log"] = logs / "dbt.log"
    return found


def publish(s3: Any, files: dict[str, Path], uri: str) -> list[str]:
    bucket, prefix = split_s3(uri)
    written = []
    for name, path in sorted(files.items()):
        s3.upload_file(str(path), bucket, f"{prefix}/{name}")
        written.append(f"{uri}/{name}")
    return written


def put_source_ages(cloudwatch: Any, ages: dict[str, float], env: str) -> None:
    if not ages:
        return
    cloudwatch.put_metric_data(
        Namespace=METRIC_NAMESPACE,
        MetricData=[
            {
                "MetricName": FRESHNESS_METRIC,
                "Dimensions": [{"Name": "Env", "Value": env}, {"Name": "Source", "Value": name}],
                "Value": age,
                "Unit": "Seconds",
            }
            for name, age in sorted(ages.items())
        ],
    )


def _docs_site(config: StageConfig) -> dict[str, Path]:
    """dbt docs generate, then the site lakehouse.docs_site publishes: {file name: path}."""
    from lakehouse.docs_site import publish as publish_site

    run_dbt(["docs", "generate", *_paths(config)], config.work, target="athena")
    site = publish_site(config.work / "target", config.work / "site")
    return {path.name: path for path in sorted(site.iterdir()) if path.is_file()}


def _paths(config: StageConfig) -> list[str]:
    return ["--target-path", str(config.work / "target"), "--log-path", str(config.work / "logs")]


def _run(config: StageConfig) -> None:
    """The stage's dbt command. Gold: when the reconciliation fails on rows silver's sweep removed (corrections
    moved their orders beyond the correction horizon), once more absorbing them (lakehouse/moved_orders.py)."""
    args = [*dbt_command(config.stage), *_paths(config)]
    try:
        run_dbt(args, config.work, target="athena")
    except DbtError as error:
        if config.stage != "gold" or not moved_away(error, args):
            raise
        LOG.warning("pipeline: gold: %s: building again, absorbing them", moved_line(error))
        run_dbt(absorbing(args), config.work, target="athena")


def run_stage(config: StageConfig, s3: Any = None, cloudwatch: Any = None) -> StageOutcome:
    """Run the stage's dbt command on the athena target; publish its artifacts (also on failure) and, for
    freshness, the sources' ages. Raises StageError (one line) when dbt fails."""
    failure: DbtError | None = None
    docs: dict[str, Path] = {}
    try:
        _run(config)
        if config.stage == "gold" and config.artifacts_uri:
            docs = _docs_site(config)
    except DbtError as error:
        failure = error
    sources = config.work / "target" / "sources.json"
    ages = (
        source_ages(json.loads(sources.read_text()))
        if config.stage == "freshness" and sources.is_file()
        else {}
    )
    published: list[str] = []
    if config.artifacts_uri and s3 is not None:
        run_uri = f"{config.artifacts_uri}/runs/{config.run_id}/{config.stage}"
        published += publish(s3, stage_files(config), run_uri)
        published += publish(s3, docs, f"{config.artifacts_uri}/docs")
    if cloudwatch is not None:
        put_source_ages(cloudwatch, ages, config.env)
    if failure is not None:
        where = (
            f"; artifacts in {config.artifacts_uri}/runs/{config.run_id}/{config.stage}/" if published else ""
        )
        raise StageError(f"stage {config.stage}: {failure}{where}")
    return StageOutcome(config.stage, tuple(published), ages)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lakehouse.stage", description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=sorted(STAGES))
    parser.add_argument(
        "--work", type=Path, default=Path("pipeline-work"), help="dbt's target and log folders"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        config = config_from(args.stage, args.work.resolve(), os.environ)
        import boto3

        s3 = boto3.client("s3") if config.artifacts_uri else None
        cloudwatch = boto3.client("cloudwatch") if config.stage == "freshness" else None
        outcome = run_stage(config, s3, cloudwatch)
    except StageError as error:
        print(f"pipeline: error: {error}", file=sys.stderr)
        return 1
    LOG.info("pipeline: stage %s done, %d artifacts published", outcome.stage, len(outcome.published))
    return 0


if __name__ == "__main__":
    sys.exit(main())
