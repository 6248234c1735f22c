from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ingestion import handler
from ingestion.events import EventError, parse_event
from tests.ingestion.helpers import HEADER, problems, read_rows

KEY = re.compile(
    r"^(?P<prefix>.*)bronze/orders/ingest_date=(?P<day>\d{4}-\d{2}-\d{2})/"
    r"orders_lambda_(?P<stamp>\d{8}_\d{6})_(?P<unique>[A-Za-z0-9]+)\.csv$"
)
FROZEN = dt.datetime(2026, 4, 2, 13, 14, 15, tzinfo=dt.UTC)


def files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(handler, "_now", lambda: FROZEN)


def test_writes_one_csv_and_its_manifest_locally(lake: Path, frozen_clock: None) -> None:
    context = SimpleNamespace(aws_request_id="c6af9ac6-7b61-11e6-9a41-93e812345678")
    result = handler.lambda_handler(
        {"rows": 500, "date": "2026-04-01", "seed": 3, "defect_rate": 0.1}, context
    )
    match = KEY.match(result["key"])
    assert match and match["day"] == "2026-04-02" and match["stamp"] == "20260402_131415"
    assert match["unique"] == "c6af9ac67b6111e69a4193e812345678"
    csv_path = Path(result["path"])
    assert files(lake) == [csv_path, Path(f"{csv_path}.manifest.json")]
    assert csv_path == lake / result["key"]
    header, rows = read_rows(csv_path)
    assert header == HEADER and len(rows) == result["rows"] == 500
    manifest = json.loads(Path(f"{csv_path}.manifest.json").read_text())
    assert manifest["file"] == csv_path.name
    assert manifest["rows"] == 500 and manifest["seed"] == 3 and manifest["defect_rate"] == 0.1
    assert result["defects"] == manifest["defect_counts"]
    assert sum(result["defects"].values()) == 50
    assert {r[1].strip() for r in rows if not problems(r, normalise=True)} == {"2026-04-01"}


def test_logs_one_json_line(lake: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="ingestion"):
        result = handler.lambda_handler({"rows": 10, "seed": 1})
    (line,) = [r.getMessage() for r in caplog.records if r.name == "ingestion.handler"]
    logged = json.loads(line)
    assert logged["event"] == "ingest" and logged["rows"] == 10 and logged["key"] == result["key"]
    assert logged["duration_ms"] >= 0 and "defects" in logged


def test_defaults_come_from_the_environment(
    lake: Path, monkeypatch: pytest.MonkeyPatch, frozen_clock: None
) -> None:
    monkeypatch.setenv("INGEST_ROWS", "123")
    monkeypatch.setenv("INGEST_SEED", "9")
    monkeypatch.setenv("INGEST_DEFECT_RATE", "0.5")
    monkeypatch.setenv("LAKE_PREFIX", "team/lake/")
    result = handler.lambda_handler(None)
    assert (result["rows"], result["seed"], result["defect_rate"]) == (123, 9, 0.5)
    # the invocation day (UTC)
    assert result["start_date"] == "2026-04-02" and result["days"] == 1
    assert KEY.match(result["key"])["prefix"] == "team/lake/"


def test_without_a_seed_each_invocation_differs_and_records_its_seed(lake: Path) -> None:
    first, second = handler.lambda_handler({"rows": 50}), handler.lambda_handler({"rows": 50})
    assert first["seed"] != second["seed"]
    again = handler.lambda_handler({"rows": 50, "seed": first["seed"], "date": first["start_date"]})
    assert Path(again["path"]).read_bytes() == Path(first["path"]).read_bytes()


def test_accepts_an_eventbridge_scheduled_event(lake: Path) -> None:
    event = {
        "version": "0",
        "id": "x",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "detail": {},
    }
    assert handler.lambda_handler(event)["rows"] == 10_000


BAD_EVENTS = [
    ({"rows": 0}, "rows"),
    ({"rows": 1_000_001}, "rows"),
    ({"rows": "100"}, "rows"),
    ({"rows": True}, "rows"),
    ({"rows": 2.5}, "rows"),
    ({"date": "2026-02-30"}, "date"),
    ({"date": "01/02/2026"}, "date"),
    ({"date": 20260101}, "date"),
    ({"start_date": "2026-1-1", "days": 3}, "start_date"),
    ({"days": 3}, "start_date"),
    ({"start_date": "2026-01-01", "days": 0}, "days"),
    ({"start_date": "2026-01-01", "days": 3661}, "days"),
    ({"date": "2026-01-01", "days": 2}, "days"),
    ({"date": "2026-01-01", "start_date": "2026-01-01"}, "start_date"),
    ({"seed": -1}, "seed"),
    ({"seed": 2**63}, "seed"),
    ({"seed": "abc"}, "seed"),
    ({"defect_rate": 1.01}, "defect_rate"),
    ({"defect_rate": -0.1}, "defect_rate"),
    ({"defect_rate": float("nan")}, "defect_rate"),
    ({"defect_rate": "0.1"}, "defect_rate"),
    ({"row": 10}, "row"),
    ([1, 2], "event"),
    ("rows=10", "event"),
]


@pytest.mark.parametrize(("event", "field"), BAD_EVENTS)
def test_malformed_events_name_the_field_and_write_nothing(lake: Path, event: Any, field: str) -> None:
    with pytest.raises(EventError) as caught:
        handler.lambda_handler(event)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}:")
    assert isinstance(caught.value, ValueError)
    assert files(lake) == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("INGEST_ROWS", "ten"),
        ("INGEST_ROWS", "0"),
        ("INGEST_DEFECT_RATE", "2"),
        ("INGEST_EARLIEST_ORDER_DATE", "2020-02-30"),
        ("INGEST_MAX_DAYS_AFTER_LANDING", "a day"),
        ("INGEST_MAX_DAYS_AFTER_LANDING", "400"),
    ],
)
def test_bad_environment_defaults_are_named(
    lake: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(EventError, match=name):
        handler.lambda_handler({})
    assert files(lake) == []


def test_parse_event_is_pure() -> None:
    plan = parse_event(
        {"start_date": "2026-01-01", "days": 7, "seed": 1}, environ={}, today=dt.date(2026, 1, 7)
    )
    assert (plan.start_date, plan.days, plan.rows, plan.seed, plan.defect_rate) == (
        dt.date(2026, 1, 1),
        7,
        10_000,
        1,
        0,
    )


@pytest.fixture
def bucket(lake: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    # a client made outside this mock must not be reused
    handler.s3_client.cache_clear()
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(Bucket="lake-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        monkeypatch.setenv("LAKE_BUCKET", "lake-bucket")
        yield s3
    handler.s3_client.cache_clear()


def test_s3_objects_are_encrypted_and_typed(bucket: Any, lake: Path, frozen_clock: None) -> None:
    result = handler.lambda_handler({"rows": 200, "date": "2026-04-01", "seed": 4, "defect_rate": 0.2})
    assert result["bucket"] == "lake-bucket" and "path" not in result
    assert result["location"] == f"s3://lake-bucket/{result['key']}"
    assert KEY.match(result["key"])["stamp"] == "20260402_131415"
    keys = sorted(o["Key"] for o in bucket.list_objects_v2(Bucket="lake-bucket")["Contents"])
    assert (
        keys == [result["key"], result["manifest_key"]] == [result["key"], result["key"] + ".manifest.json"]
    )
    data = bucket.get_object(Bucket="lake-bucket", Key=result["key"])
    assert data["ContentType"] == "text/csv" and data["ServerSideEncryption"] == "AES256"
    assert len(read_rows(data["Body"].read())[1]) == 200
    answer = bucket.get_object(Bucket="lake-bucket", Key=result["manifest_key"])
    assert answer["ContentType"] == "application/json" and answer["ServerSideEncryption"] == "AES256"
    assert json.loads(answer["Body"].read())["rows"] == 200
    assert files(lake) == []


def test_s3_uses_the_kms_key_when_configured(bucket: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    key_id = boto3.client("kms", region_name="eu-west-1").create_key()["KeyMetadata"]["Arn"]
    monkeypatch.setenv("LAKE_KMS_KEY_ID", key_id)
    result = handler.lambda_handler({"rows": 20, "seed": 4})
    head = bucket.head_object(Bucket="lake-bucket", Key=result["key"])
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == key_id


def test_concurrent_invocations_in_the_same_second_write_distinct_objects(
    bucket: Any, frozen_clock: None
) -> None:
    start = threading.Barrier(2)
    results: list[dict[str, Any]] = []

    def invoke(request_id: str | None) -> None:
        start.wait()
        context = SimpleNamespace(aws_request_id=request_id) if request_id else None
        results.append(handler.lambda_handler({"rows": 1000, "seed": 5, "date": "2026-04-01"}, context))

    threads = [threading.Thread(target=invoke, args=(rid,)) for rid in ("req-1", None)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2
    stamps = {KEY.match(r["key"])["stamp"] for r in results}
    assert stamps == {"20260402_131415"}
    contents = bucket.list_objects_v2(Bucket="lake-bucket")["Contents"]
    assert len({r["key"] for r in results}) == 2 and len(contents) == 4


def test_order_ids_are_unique_across_invocations(lake: Path) -> None:
    runs = [
        handler.lambda_handler({"rows": 5000, "seed": 1, "date": "2026-04-01"}),
        handler.lambda_handler({"rows": 5000, "seed": 2, "date": "2026-04-01"}),
        handler.lambda_handler({"rows": 5000, "seed": 1, "date": "2026-04-02"}),
    ]
    ids = [row[0] for r in runs for row in read_rows(Path(r["path"]))[1]]
    assert len(ids) == len(set(ids)) == 15_000


def test_a_failed_write_logs_one_json_line_and_raises(
    lake: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        def put(self, key: str, parts: Any, content_type: str) -> str:
            raise OSError("disk full")

        def delete(self, key: str) -> None:
            raise AssertionError("nothing was written")

    monkeypatch.setattr(handler, "_sink", lambda environ: (Broken(), {"root": "x"}))
    with caplog.at_level(logging.INFO, logger="ingestion"), pytest.raises(OSError, match="disk full"):
        handler.lambda_handler({"rows": 10, "seed": 1})
    (line,) = [json.loads(r.getMessage()) for r in caplog.records if r.name == "ingestion.handler"]
    assert line["event"] == "ingest_failed" and "disk full" in line["error"]


def test_a_failed_manifest_removes_the_csv(lake: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ingestion.sinks import LocalSink

    class NoManifest(LocalSink):
        def put(self, key: str, parts: Any, content_type: str) -> str:
            if key.endswith(".manifest.json"):
                raise OSError("manifest lost")
            return super().put(key, parts, content_type)

    monkeypatch.setattr(handler, "_sink", lambda environ: (NoManifest(lake), {"root": str(lake)}))
    with pytest.raises(OSError, match="manifest lost"):
        handler.lambda_handler({"rows": 10, "seed": 1})
    assert files(lake) == []


@pytest.mark.parametrize(
    ("environ", "date", "accepted"),
    [
        ({}, "2020-01-01", True),
        ({}, "2019-12-31", False),
        ({}, "2026-01-08", True),
        ({}, "2026-01-09", False),
        ({"INGEST_EARLIEST_ORDER_DATE": "2025-06-01"}, "2025-05-31", False),
        ({"INGEST_EARLIEST_ORDER_DATE": "2025-06-01"}, "2025-06-01", True),
        ({"INGEST_MAX_DAYS_AFTER_LANDING": "0"}, "2026-01-08", False),
        ({"INGEST_MAX_DAYS_AFTER_LANDING": "3"}, "2026-01-10", True),
    ],
)
def test_order_dates_are_bounded_by_the_lambdas_configuration(
    environ: dict[str, str], date: str, accepted: bool
) -> None:
    """The same bounds as `lakehouse ingest` (ingestion/dates.py): the earliest order date, and the landing day
    (the invocation's, UTC) plus a skew; both from the Lambda's environment, 2020-01-01 and 1 day by default."""
    event = {"date": date, "seed": 1}
    if accepted:
        assert parse_event(event, environ=environ, today=dt.date(2026, 1, 7)).start_date.isoformat() == date
        return
    with pytest.raises(EventError) as refused:
        parse_event(event, environ=environ, today=dt.date(2026, 1, 7))
    assert refused.value.field == "date" and "outside the valid order dates" in str(refused.value)
