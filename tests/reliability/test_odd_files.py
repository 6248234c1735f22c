"""What a real drop zone receives: every file under bronze is read, quarantined whole with a reason, or reported
as not read; a file's rows are counted independently of Spark and must all arrive."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest

from glue_jobs.metrics import FileNote
from lakehouse.summaries import silver_report
from tests.reliability.helpers import fingerprint
from tests.silver.helpers import HEADER, rejected_rows, silver_rows

pytestmark = pytest.mark.spark

FOLDER = "bronze/orders/ingest_date=2026-03-05"
STAMP = "orders_lambda_20260305_020000"
ROW = "{},2026-03-01,C1,US,P001,2,3.50"
# Spark's decimal cast of this takes minutes: it must never be attempted
LONG_PRICE = "9" * 3_000_000


def _write(lake: Path, name: str, data: bytes) -> str:
    path = lake / FOLDER / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return str(path)


def _csv(*ids: str, newline: str = "\n") -> bytes:
    return newline.join([HEADER, *[ROW.format(i) for i in ids]]).encode() + newline.encode()


@pytest.fixture(scope="module")
def drop_zone(tmp_path_factory: pytest.TempPathFactory, spark: object) -> tuple[Path, dict[str, str], Any]:
    from glue_jobs.local import run_silver

    lake = tmp_path_factory.mktemp("dropzone") / "lake"
    gz = gzip.compress(_csv("gz-1", "gz-2"))
    # as `cat a.gz b.gz`
    two_members = gzip.compress(_csv("gz-1")) + gzip.compress(ROW.format("gz-2").encode() + b"\n")
    files = {
        "upper": _write(lake, f"{STAMP}_upper.CSV", _csv("upper-1")),
        "gzip": _write(lake, f"{STAMP}_zipped.csv.gz", two_members),
        "crlf": _write(lake, f"{STAMP}_mac.csv", b"\r\n\r\n" + _csv("cr-1", "cr-2", newline="\r").replace(b"\rcr-2", b"\r \t\r\rcr-2")),
        "latin1": _write(lake, f"{STAMP}_latin.csv", (HEADER + "\nlatin-1,2026-03-01,Müller,US,P001,1,2.00\n").encode("latin-1")),
        "long": _write(lake, f"{STAMP}_long.csv", _csv("long-ok") + f"long-1,2026-03-01,C1,US,P001,1,{LONG_PRICE}\n".encode()),
        "shouted": _write(lake, f"{STAMP}_shouted.CSV.GZ", gz),
        "broken": _write(lake, f"{STAMP}_broken.csv.gz", gz[: len(gz) // 2]),
        "text": _write(lake, "notes.txt", b"call the supplier\n"),
        "sheet": _write(lake, "orders.xlsx", b"PK\x03\x04 not really a spreadsheet"),
        "temporary": _write(lake, f".{STAMP}_killed.csv.tmp", _csv("tmp-1")[:30]),
    }  # fmt: skip
    # the ingestion's answer key: neither read nor reported
    _write(lake, f"{STAMP}_upper.CSV.manifest.json", b"{}")
    return lake, files, run_silver(lake)


def test_every_file_is_read_quarantined_or_reported(drop_zone: tuple[Path, dict[str, str], Any]) -> None:
    _, files, metrics = drop_zone
    not_read = {f.file: f.reason for f in metrics.files_not_read}
    assert set(not_read) == {files[k] for k in ("shouted", "broken", "text", "sheet", "temporary")}
    assert "rename it to *.csv.gz" in not_read[files["shouted"]]
    assert "not a valid gzip file" in not_read[files["broken"]]
    assert "not a CSV" in not_read[files["text"]] and "not a CSV" in not_read[files["sheet"]]
    assert "temporary file" in not_read[files["temporary"]]
    assert metrics.files_quarantined == [FileNote(files["latin1"], "not_utf8")]
    assert metrics.files_read == 5

    report = silver_report(metrics)
    assert all(f"file not read: {path} (" in report for path in not_read)
    assert f"file quarantined whole: {files['latin1']} (not_utf8)" in report


def test_rows_of_each_readable_file_arrive_and_are_counted(
    drop_zone: tuple[Path, dict[str, str], Any],
) -> None:
    lake, _, metrics = drop_zone
    assert set(silver_rows(lake)) == {"upper-1", "gz-1", "gz-2", "cr-1", "cr-2", "long-ok"}
    rejected = {r["order_id"]: r for r in rejected_rows(lake)}
    assert set(rejected) == {"latin-1", "long-1"}
    assert rejected["latin-1"]["reject_reason"] == "not_utf8"
    assert rejected["latin-1"]["customer_id"] == "Müller", "every byte of a Latin-1 file is kept"
    assert rejected["long-1"]["reject_reason"] == "value_too_long"
    assert metrics.records_counted == metrics.rows_read == 8
    assert metrics.rows_read == metrics.rows_written + metrics.rows_rejected + metrics.duplicates_dropped
    text = repr(silver_rows(lake)) + repr(rejected)
    assert "\ufffd" not in text, "no replacement character: nothing was decoded with the wrong encoding"


def test_a_second_run_reports_the_unread_files_again_and_changes_nothing(
    drop_zone: tuple[Path, dict[str, str], Any],
) -> None:
    from glue_jobs.local import run_silver

    lake, _, first = drop_zone
    before = fingerprint(lake)
    again = run_silver(lake)
    assert again.files_read == 0
    assert again.files_not_read == first.files_not_read, "a file not read stays visible until it is fixed"
    assert fingerprint(lake) == before
