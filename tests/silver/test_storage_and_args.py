"""No Spark: the S3 storage (moto), the commit journal on S3, and the Glue argument contract."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from glue_jobs import bronze_to_silver_orders as script
from glue_jobs import commit
from glue_jobs.inventory import parse_header
from glue_jobs.journal import Journal, Paths, Swap, write_journal
from glue_jobs.metrics import ReconciliationError, RunMetrics
from glue_jobs.repair import Window
from glue_jobs.storage import LocalStorage, S3Storage, storage_for

BUCKET = "lake-bucket"


def _put(s3: S3Storage, key: str, body: bytes = b"x") -> None:
    s3.s3.put_object(Bucket=BUCKET, Key=key, Body=body)


def test_s3_listing_reading_and_writing(s3: S3Storage) -> None:
    root = f"s3://{BUCKET}/p/bronze/orders"
    _put(s3, "p/bronze/orders/ingest_date=2026-03-01/b.csv", b"order_id,order_date\n1,2\n")
    _put(s3, "p/bronze/orders/ingest_date=2026-03-01/a.csv", b"")
    _put(s3, "p/bronze/orders/ingest_date=2026-03-01/a.csv.manifest.json")
    _put(s3, "p/bronze/orders/_tmp/c.csv")
    files = s3.list_files(root, ".csv")
    assert [f.path.rsplit("/", 1)[1] for f in files] == ["a.csv", "b.csv"]
    assert s3.list_dirs(root) == ["_tmp", "ingest_date=2026-03-01"]
    assert s3.read_bytes(files[1].path, 10) == b"order_id,o"
    assert s3.read_bytes(files[0].path, 10) == b""
    assert s3.read_bytes(f"s3://{BUCKET}/nope") is None
    assert s3.exists(f"{root}/ingest_date=2026-03-01") and not s3.exists(f"{root}/ingest_date=2026-03-02")
    s3.write_text(f"s3://{BUCKET}/p/_state/silver/bookmark.json", "{}")
    assert s3.read_bytes(f"s3://{BUCKET}/p/_state/silver/bookmark.json") == b"{}"
    assert isinstance(storage_for("s3://b/k"), S3Storage) and isinstance(storage_for("/tmp/x"), LocalStorage)


def test_s3_entries_carry_the_etag_that_changes_with_the_content(s3: S3Storage) -> None:
    root = f"s3://{BUCKET}/p/bronze/orders"
    key = "p/bronze/orders/ingest_date=2026-03-01/a b.csv"
    _put(s3, key, b"order_id\n1\n")
    (before,) = s3.list_entries(root)
    # a corrected upload of the same size
    _put(s3, key, b"order_id\n2\n")
    (after,) = s3.list_entries(root)
    assert before.path == after.path == f"s3://{BUCKET}/{key}" and before.size == after.size
    assert before.etag and after.etag and before.etag != after.etag and not after.not_regular


def test_journal_rolls_forward_on_s3_after_a_crash(s3: S3Storage, monkeypatch: pytest.MonkeyPatch) -> None:
    base = f"s3://{BUCKET}/lake"
    paths = Paths(f"{base}/silver", f"{base}/_state/silver", f"{base}/_runs/silver")
    table = f"{base}/silver/silver_orders"
    _put(s3, "lake/silver/silver_orders/order_date=2026-03-01/old.parquet", b"old1")
    _put(s3, "lake/silver/silver_orders/order_date=2026-03-02/old.parquet", b"old2")
    _put(s3, "lake/silver/silver_orders/order_date=2026-03-09/old.parquet", b"gone")
    _put(s3, "lake/silver/silver_orders_rejected/ingest_date=2026-03-03/r0.parquet", b"r0")
    staging = paths.staging("run1")
    bookmark = {"ingest_date=2026-03-03/f.csv": 10}
    _put(s3, "lake/silver/_staging/run1/silver_orders/order_date=2026-03-01/new.parquet", b"new1")
    _put(s3, "lake/silver/_staging/run1/silver_orders/order_date=2026-03-02/new.parquet", b"new2")
    _put(s3, "lake/silver/_staging/run1/silver_orders_rejected/ingest_date=2026-03-03/r1.parquet", b"r1")
    journal = Journal(
        (
            Swap.replace(f"{staging}/silver_orders/order_date=2026-03-01", f"{table}/order_date=2026-03-01"),
            Swap.replace(f"{staging}/silver_orders/order_date=2026-03-02", f"{table}/order_date=2026-03-02"),
            Swap.delete(f"{table}/order_date=2026-03-09"),
            Swap(
                "add_files",
                f"{base}/silver/silver_orders_rejected/ingest_date=2026-03-03",
                f"{staging}/silver_orders_rejected/ingest_date=2026-03-03",
            ),
            commit.bookmark_swap(s3, paths, "run1", bookmark),
        ),
        {"run_id": "run1", "rows_read": 1},
    )
    write_journal(s3, paths, "run1", journal)

    def crash(n: int, swap: Swap) -> None:
        if n == 1:
            raise RuntimeError("killed")

    monkeypatch.setattr(commit, "before_swap", crash)
    with pytest.raises(RuntimeError):
        commit.apply(s3, paths, "run1", journal)
    monkeypatch.setattr(commit, "before_swap", None)
    assert s3.read_bytes(f"{table}/order_date=2026-03-01/new.parquet") == b"new1"
    assert s3.read_bytes(f"{table}/order_date=2026-03-02/old.parquet") == b"old2"
    assert s3.read_bytes(paths.bookmark) is None

    assert commit.recover(s3, paths) == ["run1"]
    keys = sorted(f.path.split("/silver/", 1)[1] for f in s3.list_files(f"{base}/silver"))
    assert keys == [
        "silver_orders/order_date=2026-03-01/new.parquet",
        "silver_orders/order_date=2026-03-02/new.parquet",
        "silver_orders_rejected/ingest_date=2026-03-03/r0.parquet",
        "silver_orders_rejected/ingest_date=2026-03-03/r1.parquet",
    ]
    assert not s3.list_files(staging) and not s3.exists(staging)
    assert json.loads(s3.read_bytes(paths.bookmark))["files"] == bookmark
    assert json.loads(s3.read_bytes(paths.run_file("run1")))["recovered"] is True
    assert commit.recover(s3, paths) == []


def test_local_replace_keeps_readers_on_whole_partitions(tmp_path: Path) -> None:
    storage = LocalStorage()
    target, staged = tmp_path / "t" / "p=1", tmp_path / "s" / "p=1"
    target.mkdir(parents=True)
    (target / "old.parquet").write_text("old")
    staged.mkdir(parents=True)
    (staged / "new.parquet").write_text("new")
    (staged / ".new.parquet.crc").write_text("crc")
    storage.tidy_staged(str(tmp_path / "s"))
    swap = Swap.replace(str(staged), str(target))
    commit.apply_swap(storage, swap, commit.unfenced)
    assert [p.name for p in target.iterdir()] == ["new.parquet"]
    assert (target / "new.parquet").read_text() == "new"
    # the staged copy stays until the swap is marked done, so that a killed swap can be applied again
    assert [p.name for p in staged.iterdir()] == ["new.parquet"]
    commit.apply_swap(storage, swap, commit.unfenced)
    assert [p.name for p in target.iterdir()] == ["new.parquet"]


def test_arguments_contract() -> None:
    assert script.REQUIRED_ARGS == (
        "JOB_NAME",
        "bronze_path",
        "silver_path",
        "reference_path",
        "state_path",
        "runs_path",
    )
    assert script.OPTIONAL_ARGS == (
        "full_refresh",
        "from_date",
        "to_date",
        "earliest_order_date",
        "max_skew_hours",
        "correction_horizon_days",
        "sweep",
    )
    argv = []
    for name in script.REQUIRED_ARGS:
        argv += [f"--{name}", f"{name}-value"]
    parsed = script.parse_args(
        [*argv, "--TempDir", "s3://tmp/", "--job-bookmark-option", "job-bookmark-disable"]
    )
    assert parsed["bronze_path"] == "bronze_path-value" and parsed["full_refresh"] == "false"
    assert script.parse_args([*argv, "--full_refresh", "true"])["full_refresh"] == "true"
    with pytest.raises(SystemExit):
        script.parse_args(argv[2:])
    assert script._bool("TRUE") and not script._bool("false")
    with pytest.raises(ValueError):
        script._bool("maybe")
    bounds = script.job_args([*argv, "--earliest_order_date", "2024-01-01", "--max_skew_hours", "6"]).bounds
    assert (str(bounds.earliest_order_date), bounds.max_skew_hours) == ("2024-01-01", 6)


@pytest.mark.parametrize(
    ("arg", "value"),
    [("earliest_order_date", "2025-02-30"), ("max_skew_hours", "-1"), ("max_skew_hours", "1h")],
)
def test_a_bad_date_bound_is_one_line_and_exit_2(
    arg: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [x for name in script.REQUIRED_ARGS for x in (f"--{name}", f"{name}-value")]
    with pytest.raises(SystemExit) as stopped:
        script.job_args([*argv, f"--{arg}", value])
    err = capsys.readouterr().err.strip()
    assert stopped.value.code == 2 and len(err.splitlines()) == 1 and arg in err and repr(value) in err


def test_a_repair_window_is_parsed_and_checked_before_spark(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [arg for name in script.REQUIRED_ARGS for arg in (f"--{name}", f"{name}-value")]
    assert script.job_args(argv).repair is None
    window = script.job_args([*argv, "--from_date", "2026-03-01", "--to_date", "2026-03-03"]).repair
    assert window == Window(dt.date(2026, 3, 1), dt.date(2026, 3, 3))
    assert script.job_args([*argv, "--to_date", "2026-03-03"]).repair == Window(None, dt.date(2026, 3, 3))
    for bad, expected in [
        (["--from_date", "03/01/2026"], "--from_date must be a date, YYYY-MM-DD, not '03/01/2026'"),
        (["--from_date", "2026-03-04", "--to_date", "2026-03-03"], "starts (2026-03-04) after it ends"),
        (["--full_refresh", "true", "--to_date", "2026-03-03"], "give one or the other"),
    ]:
        with pytest.raises(SystemExit) as exited:
            script.job_args([*argv, *bad])
        err = capsys.readouterr().err
        assert exited.value.code == 2 and expected in err and err.count("\n") == 1, err


def test_header_parsing_normalises_names() -> None:
    assert parse_header(b'\xef\xbb\xbf Order_ID ,"order_date",x\r\n1,2,3') == ("order_id", "order_date", "x")
    assert parse_header(b"") == ()


def test_reconciliation_failure_is_loud() -> None:
    ok = {
        "rows_read": 10,
        "records_counted": 10,
        "rows_written": 6,
        "rows_rejected": 3,
        "duplicates_dropped": 1,
    }
    RunMetrics("r", **ok, rejected_by_reason={"bad_date": 3}).check()
    with pytest.raises(ReconciliationError, match="does not reconcile"):
        RunMetrics("r", **{**ok, "rows_written": 5}, rejected_by_reason={"bad_date": 3}).check()
    with pytest.raises(ReconciliationError):
        RunMetrics("r", **ok, rejected_by_reason={"bad_date": 2}).check()
    with pytest.raises(ReconciliationError, match="records_counted=11, rows_read=10"):
        RunMetrics("r", **{**ok, "records_counted": 11}, rejected_by_reason={"bad_date": 3}).check()
