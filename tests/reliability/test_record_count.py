"""The run counts each file's records itself, independently of Spark: the two counts must agree on every way a
file can delimit its lines, or a run would be refused (or, worse, a lost row go unnoticed)."""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from pathlib import Path

import pytest

from glue_jobs import bronze
from glue_jobs.inventory import BronzeFile, NotRead, _gunzip, inspect
from glue_jobs.storage import FileInfo, LocalStorage

HEADER = b"order_id,order_date,customer_id,country,product,quantity,unit_price"
ROW = b"1,2026-03-01,C1,US,P001,1,1.00"


def _python_csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([HEADER.decode().split(","), *rows])
    return out.getvalue().encode()


TRICKY = [
    ["1", "2026-03-01", 'O"Brien', "US", "P001", "1", "1.00"],
    ["2", "2026-03-01", "a,b\r\nc\n\nd", "US", "P001", "1", "1.00"],
    ["3", "2026-03-01", '""', "US", "P001", "1", "1.00"],
    ["4", "2026-03-01", "", "US", "P001", "1", "1.00"],
]
FILES = {
    "plain.csv": HEADER + b"\n" + ROW + b"\n" + ROW + b"\n",
    "no_final_newline.csv": HEADER + b"\n" + ROW + b"\n" + ROW,
    "crlf.csv": HEADER + b"\r\n" + ROW + b"\r\n" + ROW + b"\r\n",
    "cr_only.csv": HEADER + b"\r" + ROW + b"\r" + ROW + b"\r",
    "blank_lines.csv": b"\n \n" + HEADER + b"\n\n" + ROW + b"\n\t \x01\n\n" + ROW + b"\n\n",
    "quote_across_lines.csv": HEADER + b'\n"1\n,2026-03-01",C1,US,P001,1,1.00\n' + ROW + b"\n",
    "nul_first.csv": HEADER + b"\n\x00" + ROW + b"\n",
    "bom.csv": b"\xef\xbb\xbf" + HEADER + b"\n" + ROW + b"\n",
    "header_only.csv": HEADER + b"\n",
    "empty.csv": b"",
    "latin1.csv": HEADER + b"\n1,2026-03-01,M\xfcller,US,P001,1,1.00\n",
    "gzipped.csv.gz": gzip.compress(HEADER + b"\n" + ROW + b"\n") + gzip.compress(ROW + b"\n" + ROW),
    "python_csv.csv": _python_csv(TRICKY),
    "wide.csv": HEADER + b"\n" + ROW + b"\n" + b",".join([b"x"] * 25_001) + b"\n",
}


@pytest.fixture(scope="module")
def inspected(tmp_path_factory: pytest.TempPathFactory) -> dict[str, BronzeFile]:
    folder = tmp_path_factory.mktemp("counting") / "ingest_date=2026-03-05"
    folder.mkdir()
    out = {}
    for name, data in FILES.items():
        (folder / name).write_bytes(data)
        result = inspect(LocalStorage(), FileInfo(str(folder / name), len(data)))
        assert isinstance(result, BronzeFile), result
        out[name] = result
    return out


def test_records_counted_without_spark(inspected: dict[str, BronzeFile]) -> None:
    assert {name: f.records for name, f in inspected.items()} == {
        "plain.csv": 2,
        "no_final_newline.csv": 2,
        "crlf.csv": 2,
        "cr_only.csv": 2,
        "blank_lines.csv": 2,
        # RFC 4180: the quoted line break is in a field, as Python's csv reads it
        "quote_across_lines.csv": 2,
        "nul_first.csv": 1,
        "bom.csv": 1,
        "header_only.csv": 0,
        "empty.csv": 0,
        "latin1.csv": 1,
        "gzipped.csv.gz": 3,
        # as many as Python's csv module reads back
        "python_csv.csv": len(TRICKY),
        "wide.csv": 2,
    }
    assert len(list(csv.reader(io.StringIO(FILES["python_csv.csv"].decode())))) == len(TRICKY) + 1
    assert inspected["wide.csv"].max_fields == 25_001 and inspected["python_csv.csv"].quoted
    assert [name for name, f in inspected.items() if not f.utf8] == ["latin1.csv"]
    assert (
        inspected["bom.csv"].header[0] == "order_id" and inspected["blank_lines.csv"].header[0] == "order_id"
    )


@pytest.mark.spark
def test_spark_reads_exactly_the_records_counted(inspected: dict[str, BronzeFile], spark: object) -> None:
    raw = bronze.read_bronze(spark, bronze.group_files(list(inspected.values())))
    read = {r["source_file"]: r["count"] for r in raw.groupBy("source_file").count().collect()}
    assert {name: read.get(name, 0) for name in inspected} == {
        name: f.records for name, f in inspected.items()
    }


def test_a_broken_gzip_is_not_read(tmp_path: Path) -> None:
    data = gzip.compress(HEADER + b"\n" + ROW * 200)
    for name, body in {
        "truncated.csv.gz": data[: len(data) // 2],
        "garbage.csv.gz": b"not gzip at all",
    }.items():
        (tmp_path / name).write_bytes(body)
        outcome = inspect(LocalStorage(), FileInfo(str(tmp_path / name), len(body)))
        assert isinstance(outcome, NotRead) and "not a valid gzip file" in outcome.reason
    with pytest.raises(zlib.error):
        list(_gunzip([data[:20]]))
