"""The ingestion Lambda as deployed: the built zip, unzipped alone, with exactly the environment the template
gives the function, invoked like the schedule does, against a moto S3 bucket; it must write a bronze CSV
where the silver job reads (docs/architecture.md lake layout)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.infra.helpers import REPO_ROOT, Resolver

BRONZE_HEADER = "order_id,order_date,customer_id,country,product,quantity,unit_price"
BRONZE_KEY = re.compile(r"bronze/orders/ingest_date=\d{4}-\d{2}-\d{2}/orders_lambda_\d{8}_\d{6}_[^/]+\.csv")

# Runs in a fresh interpreter whose only project code is the unzipped package (like the Lambda runtime).
INVOKE = r"""
import json, os, sys, types
from moto import mock_aws
import boto3

env, event = json.loads(sys.argv[1]), json.loads(sys.argv[2])
with mock_aws():
    s3 = boto3.client("s3", region_name=os.environ["AWS_REGION"])
    s3.create_bucket(Bucket=env["LAKE_BUCKET"])
    if "LAKE_KMS_KEY_ID" in env:  # the template's key ARN, stood in for by a moto key
        env["LAKE_KMS_KEY_ID"] = boto3.client("kms", region_name=os.environ["AWS_REGION"]).create_key()["KeyMetadata"]["Arn"]
    os.environ.update(env)
    import ingestion
    from ingestion.handler import lambda_handler
    context = types.SimpleNamespace(
        aws_request_id="0f6b1c2d-3e4f-5a6b-7c8d-9e0f1a2b3c4d",
        function_name="lakehouse-dev-ingest-orders",
        memory_limit_in_mb=3008,
        get_remaining_time_in_millis=lambda: 900_000,
    )
    result = lambda_handler(event, context)
    objects, sse = {}, {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=env["LAKE_BUCKET"]):
        for obj in page.get("Contents", []):
            got = s3.get_object(Bucket=env["LAKE_BUCKET"], Key=obj["Key"])
            objects[obj["Key"]] = got["Body"].read().decode()
            sse[obj["Key"]] = [got.get("ServerSideEncryption"), got.get("SSEKMSKeyId")]
    import numpy, pyarrow
    print(json.dumps({"module": ingestion.__file__, "result": result, "objects": objects, "sse": sse,
                      "kms_key": env.get("LAKE_KMS_KEY_ID"),
                      "versions": {"numpy": numpy.__version__, "pyarrow": pyarrow.__version__}}, default=str))
"""


def lambda_environment(template: dict[str, Any], overrides: dict[str, str] | None = None) -> dict[str, str]:
    resolver = Resolver(template, overrides)
    (fn,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    variables = resolver.resolve(fn["Properties"]["Environment"]["Variables"])
    return {k: str(v) for k, v in variables.items()}


# A venv with numpy and pyarrow as the AWS SDK for pandas layer ships them (requirements/lambda-layer.in, built by
# make setup like the checkov venv).
LAYER_PYTHON = REPO_ROOT / ".venv" / "tools" / "lambda-layer" / "bin" / "python"
LAYER_PINS = REPO_ROOT / "requirements" / "lambda-layer.txt"


def invoke(
    package: ModuleType,
    tmp_path: Path,
    env: dict[str, str],
    event: dict[str, Any],
    python: Path = Path(sys.executable),
) -> dict[str, Any]:
    if not (REPO_ROOT / "ingestion" / "handler.py").exists():
        pytest.fail(
            "ingestion/handler.py is missing: the Lambda handler ingestion.handler.lambda_handler must exist"
        )
    task = tmp_path / "task"
    zipfile.ZipFile(package.build_lambda_zip(tmp_path / "ingestion.zip")).extractall(task)
    process_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(task),
        "HOME": str(tmp_path),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "LAMBDA_TASK_ROOT": str(task),
        "AWS_LAMBDA_FUNCTION_NAME": "lakehouse-dev-ingest-orders",
    }
    result = subprocess.run(
        [str(python), "-c", INVOKE, json.dumps(env), json.dumps(event)],
        cwd=task,
        env=process_env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert Path(out["module"]).resolve().is_relative_to(task.resolve()), (
        "imported the repository, not the zip"
    )
    return out


def test_template_gives_the_function_the_documented_environment(template: dict[str, Any]) -> None:
    env = lambda_environment(template)
    # docs/architecture.md's three, the key the handler encrypts with (ingestion/handler.py), and the first order
    # date the stack's partition projection shows (ingestion/events.py)
    assert set(env) == {
        "LAKE_BUCKET",
        "LAKE_PREFIX",
        "LOG_LEVEL",
        "LAKE_KMS_KEY_ID",
        "INGEST_EARLIEST_ORDER_DATE",
    }
    # the handler writes locally only when LAKE_BUCKET is unset
    assert "LAKE_ROOT" not in env


def test_scheduled_invocation_writes_a_bronze_csv(
    template: dict[str, Any], package: ModuleType, tmp_path: Path
) -> None:
    env = lambda_environment(template)
    out = invoke(package, tmp_path, env, {"rows": 100})
    csvs = [k for k in out["objects"] if k.endswith(".csv")]
    assert len(csvs) == 1, list(out["objects"])
    key = csvs[0]
    assert BRONZE_KEY.fullmatch(key), key
    lines = out["objects"][key].splitlines()
    assert lines[0] == BRONZE_HEADER
    assert len(lines) - 1 >= 100
    # encrypted with the lake key the template passes, not SSE-S3
    assert out["sse"][key][0] == "aws:kms" and out["sse"][key][1] == out["kms_key"]
    manifest = json.loads(out["objects"][f"{key}.manifest.json"])
    assert manifest["rows"] >= 100
    assert set(manifest["defects"]) <= {
        "missing_field", "extra_field", "bad_date", "non_numeric_quantity", "non_positive_quantity",
        "non_positive_price", "unknown_country", "unknown_product", "noise", "duplicate", "late_correction",
    }  # fmt: skip


def test_the_handler_runs_on_the_pandas_layers_numpy_and_pyarrow(
    template: dict[str, Any], package: ModuleType, tmp_path: Path
) -> None:
    """In Lambda, numpy and pyarrow come from the AWS SDK for pandas layer (older than requirements/ pins), not
    from runtime.txt: the zip runs on those versions and writes the same kind of file."""
    if not LAYER_PYTHON.exists():
        pytest.fail(f"{LAYER_PYTHON} is missing: run make setup")
    pins = dict(line.split("==") for line in LAYER_PINS.read_text().splitlines() if "==" in line)
    out = invoke(
        package, tmp_path, lambda_environment(template), {"rows": 2000, "defect_rate": 0.05}, LAYER_PYTHON
    )
    assert out["versions"] == {"numpy": pins["numpy"], "pyarrow": pins["pyarrow"]}
    (key,) = [k for k in out["objects"] if k.endswith(".csv")]
    lines = out["objects"][key].splitlines()
    assert lines[0] == BRONZE_HEADER
    manifest = json.loads(out["objects"][f"{key}.manifest.json"])
    assert manifest["rows"] == len(lines) - 1 == out["result"]["rows"] >= 2000
    assert sum(len(rows) for rows in manifest["defects"].values()) == out["result"]["defect_rows"] > 0


def test_lake_prefix_is_honoured(template: dict[str, Any], package: ModuleType, tmp_path: Path) -> None:
    """LakePrefix "lake/" (the template's convention: empty or ending in /) puts bronze under lake/bronze/,
    which is where the Glue job's --bronze_path and the IAM policy point."""
    env = lambda_environment(template, {"LakePrefix": "lake/"})
    assert env["LAKE_PREFIX"] == "lake/"
    out = invoke(package, tmp_path, env, {"rows": 10})
    keys = list(out["objects"])
    assert keys and all(k.startswith("lake/bronze/orders/ingest_date=") for k in keys), keys
