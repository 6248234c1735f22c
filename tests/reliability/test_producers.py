"""Real producers' files: standard CSV read as Python's csv module reads it, no single row that can stop
the run, every change of a file noticed, and a quarantine that neither loses nor doubles a row.

Each case lands its files beside the two clean landings and is judged against the clean run: the rows of every
other file are exactly the clean run's (row counts and a checksum of every value of both silver tables), and the
case's own rows are where they belong, with their values, reasons and raw text."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from glue_jobs.metrics import RunMetrics
from tests.gold.helpers import build, read_tables
from tests.reliability.helpers import REPO, TABLES, Lakes, bronze_files, fingerprint
from tests.silver.helpers import HEADER, rejected_rows, silver_rows

pytestmark = pytest.mark.spark

DAY = "bronze/orders/ingest_date=2026-03-06"
STAMP = "orders_lambda_20260306_030000"


def _run(lake: Path, **kwargs: Any) -> RunMetrics:
    from glue_jobs.local import run_silver

    return run_silver(lake, **kwargs)


def _write(lake: Path, name: str, data: bytes, folder: str = DAY) -> Path:
    path = lake / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _csv(rows: list[list[str]]) -> bytes:
    """Rows as Python's csv module writes them (RFC 4180: quotes doubled, fields with separators quoted)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER.split(","))
    writer.writerows(rows)
    return out.getvalue().encode()


def _rest_is_clean(lake: Path, lakes: Lakes, names: tuple[str, ...]) -> None:
    """Every row not from ``names`` is exactly as the clean run left it: the case cost no other row."""
    rest = fingerprint(lake, without=names)
    assert (rest.counts, rest.checksums) == (lakes.clean.counts, lakes.clean.checksums), str(rest)


def _rejected_of(lake: Path, name: str) -> dict[str, dict[str, Any]]:
    rows = [r for r in rejected_rows(lake) if r["source_file"] == name]
    by_id = {r["order_id"]: r for r in rows}
    assert len(by_id) == len(rows), f"each rejected row of {name} once: {rows}"
    return by_id


def _reconciles(metrics: RunMetrics) -> None:
    assert metrics.records_counted == metrics.rows_read
    assert metrics.rows_read == metrics.rows_written + metrics.rows_rejected + metrics.duplicates_dropped


# ------------------------------------------------------------------------------------------ RFC 4180, whole files
RFC_ROWS = [
    ["rfc-1", "2026-03-01", 'O"Brien', "US", "P001", "2", "3.50"],
    ["rfc-2", "2026-03-02", "Smith, Jr.", "GB", "P002", "1", "10.00"],
    ["rfc-3", "2026-03-03", "two\nlines", "DE", "P003", "3", "1.25"],
]
MALFORMED = 'rfc-4,2026-03-03,"C4,US,P001,1,2.00\r\n'
HEADERLESS_LINES = [
    "hl-1,2026-03-01,C1,US,P001,1,2.00",
    "hl-2,2026-03-02,C1,US,P001,1,2.00",
    "hl-3,x,C1,US,P001,1,2",
]
UTF16_TEXT = HEADER + "\nu16-1,2026-03-01,Zoë,US,P001,1,2.00\nu16-2,2026-03-02,C2,US,P001,1,2.00\n"
NAMES = {
    "rfc": f"{STAMP}_rfc.csv",
    "headerless": f"{STAMP}_headerless.csv",
    "utf16": f"{STAMP}_utf16.csv",
}


@pytest.fixture(scope="module")
def producers(lakes: Lakes, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RunMetrics]:
    """The clean landings plus a file written by Python's csv module, a headerless file and a UTF-16 file."""
    lake = lakes.lake_with_day2(tmp_path_factory.mktemp("producers") / "lake")
    _write(lake, NAMES["rfc"], _csv(RFC_ROWS) + MALFORMED.encode())
    _write(lake, NAMES["headerless"], ("\n".join(HEADERLESS_LINES) + "\n").encode())
    _write(lake, NAMES["utf16"], UTF16_TEXT.encode("utf-16"))
    return lake, _run(lake)


def test_rfc4180_values_are_read_as_pythons_csv_module_writes_them(
    lakes: Lakes, producers: tuple[Path, RunMetrics]
) -> None:
    lake, metrics = producers
    silver = silver_rows(lake)
    assert {oid: silver[oid]["customer_id"] for oid in ("rfc-1", "rfc-2", "rfc-3")} == {
        row[0]: row[2] for row in RFC_ROWS
    }, "a doubled quote is one quote; a quoted separator or line break is part of the value"
    assert [silver["rfc-1"]["quantity"], str(silver["rfc-3"]["revenue"])] == [2, "3.75"]
    malformed = _rejected_of(lake, NAMES["rfc"])
    assert set(malformed) == {"rfc-4"} and malformed["rfc-4"]["reject_reason"] == "malformed_row"
    assert malformed["rfc-4"]["raw_record"].startswith('rfc-4,2026-03-03,"C4,US'), "its raw text is kept"
    _reconciles(metrics)
    _rest_is_clean(lake, lakes, tuple(NAMES.values()))


def test_a_headerless_file_loses_no_row(producers: tuple[Path, RunMetrics]) -> None:
    lake, metrics = producers
    rows = [r for r in rejected_rows(lake) if r["source_file"] == NAMES["headerless"]]
    assert sorted(str(r["raw_record"]) for r in rows) == HEADERLESS_LINES, "the first row is a row too"
    assert {r["reject_reason"] for r in rows} == {"missing_header"}
    assert not {"hl-1", "hl-2", "hl-3"} & set(silver_rows(lake))
    assert any(f.file.endswith(NAMES["headerless"]) for f in metrics.files_quarantined)


def test_a_utf16_file_keeps_every_rows_raw_bytes(producers: tuple[Path, RunMetrics]) -> None:
    lake, _ = producers
    rows = [r for r in rejected_rows(lake) if r["source_file"] == NAMES["utf16"]]
    assert rows and {r["reject_reason"] for r in rows} == {"not_utf8"}
    assert all(r["raw_record"] for r in rows), "no NULL: the raw bytes of every row are kept"
    kept = b"".join(base64.b64decode(r["raw_record"]) for r in rows)
    for line in UTF16_TEXT.splitlines():
        assert line.encode("utf-16-le") in kept, f"{line!r} is in the quarantine, byte for byte"


# ------------------------------------------------------------------------------------------ poison pills
WIDE = ["wide-1", "2026-03-01", *(["x"] * 24_999)]
POISON = {
    "wide": {
        f"{STAMP}_wide.csv": _csv([["wide-ok", "2026-03-02", "C1", "US", "P001", "1", "2.00"], WIDE]),
    },
    "dates": {
        f"{STAMP}_dates.csv": _csv(
            [
                ["date-ancient", "1025-01-02", "C1", "US", "P001", "1", "2.00"],
                ["date-2019", "2019-12-31", "C1", "US", "P001", "1", "2.00"],
                ["date-2099", "2099-01-01", "C1", "US", "P001", "1", "2.00"],
                ["date-ok", "2026-03-02", "C1", "US", "P001", "1", "2.00"],
            ]
        ),
        "orders_lambda_20990101_000000_future.csv": _csv([["future-1", "2026-03-02", "C1", "US", "P001", "1", "2.00"]]),
        "orders_lambda_10250102_000000_ancient.csv": _csv([["landed-1025", "2026-03-02", "C1", "US", "P001", "1", "2.00"]]),
    },
}  # fmt: skip
EXPECTED = {
    "wide": ({"wide-ok"}, {"wide-1": "too_many_fields"}),
    "dates": (
        {"date-ok"},
        {
            "date-ancient": "date_out_of_range",
            "date-2019": "date_out_of_range",
            "date-2099": "date_out_of_range",
            "future-1": "ingested_at_out_of_range",
            "landed-1025": "date_out_of_range",
        },
    ),
}


@pytest.mark.parametrize("case", sorted(POISON))
def test_no_single_row_stops_the_run(lakes: Lakes, tmp_path: Path, case: str) -> None:
    lake = lakes.lake_with_day2(tmp_path / "lake")
    for name, data in POISON[case].items():
        _write(lake, name, data)
    metrics = _run(lake)

    valid, rejected = EXPECTED[case]
    names = tuple(POISON[case])
    silver = silver_rows(lake)
    assert {oid for oid, r in silver.items() if r["source_file"] in names} == valid, "good rows are committed"
    reasons = {r["order_id"]: r["reject_reason"] for r in rejected_rows(lake) if r["source_file"] in names}
    assert reasons == rejected
    if case == "wide":
        (row,) = [r for r in rejected_rows(lake) if r["order_id"] == "wide-1"]
        assert row["raw_record"] == ",".join(WIDE), "the whole row is kept"
    _reconciles(metrics)
    _rest_is_clean(lake, lakes, names)


# ------------------------------------------------------------------------------------------ changes noticed
def _same_size_correction(path: Path, order_id: str) -> None:
    """Rewrite ``order_id``'s quantity (one digit, 1-8) one higher: a corrected file of the same byte count."""
    lines = path.read_text().splitlines(keepends=True)
    for i, line in enumerate(lines):
        fields = line.rstrip("\r\n").split(",")
        if fields[0] == order_id:
            assert len(fields[5]) == 1 and fields[5] in "12345678"
            fields[5] = str(int(fields[5]) + 1)
            lines[i] = ",".join(fields) + line[len(line.rstrip("\r\n")) :]
    size = path.stat().st_size
    path.write_text("".join(lines))
    assert path.stat().st_size == size


def _correctable(lake: Path, path: Path) -> str:
    """An order_id whose silver row comes from ``path`` with a one-digit quantity below 9."""
    return next(
        oid
        for oid, r in sorted(silver_rows(lake).items())
        if r["source_file"] == path.name and 1 <= r["quantity"] <= 8
    )


def test_a_same_size_reupload_is_read_again_and_replaces_its_rows(lakes: Lakes, tmp_path: Path) -> None:
    lake = lakes.lake_with_day2(tmp_path / "lake")
    _run(lake)
    victim = bronze_files(lake)[-1]
    order_id = _correctable(lake, victim)
    before = silver_rows(lake)[order_id]["quantity"]
    _same_size_correction(victim, order_id)

    metrics = _run(lake)
    rel = str(victim.relative_to(lake / "bronze" / "orders"))
    assert metrics.files_changed == [rel] and metrics.files_read == 1, "reported as read again"
    assert silver_rows(lake)[order_id]["quantity"] == before + 1

    clean = lakes.lake_with_day2(tmp_path / "clean")
    _same_size_correction(bronze_files(clean)[-1], order_id)
    _run(clean)
    assert fingerprint(lake) == fingerprint(clean), "as if the corrected file had landed first"
    assert _run(lake).files_read == 0, "read once: the next run has nothing to do"


def test_the_same_content_under_another_name_is_one_duplicate_upload(lakes: Lakes, tmp_path: Path) -> None:
    lake = lakes.lake_with_day2(tmp_path / "lake")
    original = next(f for f in bronze_files(lake) if "2026-03-06" in str(f))
    copy = original.with_name(f"{STAMP}_copy.csv")
    shutil.copy2(original, copy)

    metrics = _run(lake)
    _rest_is_clean(lake, lakes, ())
    assert [(f.file, "a duplicate upload" in f.reason) for f in metrics.files_duplicate] == [
        (str(copy), True)
    ]
    assert str(original.relative_to(lake / "bronze" / "orders")) in metrics.files_duplicate[0].reason
    assert not _run(lake).files_duplicate, "reported once"


def test_quarantine_keys_are_the_real_names_and_a_lost_bookmark_doubles_nothing(
    lakes: Lakes, tmp_path: Path
) -> None:
    lake = lakes.lake_with_day2(tmp_path / "lake")
    name = "late orders+fixes.csv"
    bad = ["sp-1,2026-03-01,C1,US,P001,0,2.00", "sp-2,2026-03-01,C1,XX,P001,1,2.00"]
    path = _write(
        lake, name, ("\n".join([HEADER, *bad, "sp-ok,2026-03-02,C1,US,P001,1,2.00"]) + "\n").encode()
    )
    _run(lake)
    with path.open("a") as handle:
        handle.write("sp-3,2026-03-01,C1,US,P999,1,2.00\n")
    (lake / "_state" / "silver" / "bookmark.json").unlink()

    _run(lake)
    rows = _rejected_of(lake, name)
    assert set(rows) == {"sp-1", "sp-2", "sp-3"}, "the file's rejected rows once each, under its real name"
    assert silver_rows(lake)["sp-ok"]["source_file"] == name
    _rest_is_clean(lake, lakes, (name,))


def _land_links_and_pipe(lake: Path, outside: Path) -> None:
    """Links to a file outside bronze, to nothing and to a folder (as an ingest_date= folder), and a named pipe."""
    real = _write(outside, "real.csv", _csv([["link-1", "2026-03-02", "C1", "US", "P001", "1", "2.00"]]), ".")
    folder = lake / DAY
    (folder / f"{STAMP}_dangling.csv").symlink_to(outside / "gone.csv")
    (folder / f"{STAMP}_link.csv").symlink_to(real)
    os.mkfifo(folder / f"{STAMP}_pipe.csv")
    (lake / "bronze" / "orders" / "ingest_date=2026-03-07").symlink_to(outside, target_is_directory=True)


def test_links_pipes_and_linked_folders_are_reported_never_followed(lakes: Lakes, tmp_path: Path) -> None:
    lake = lakes.lake_with_day2(tmp_path / "lake")
    _land_links_and_pipe(lake, tmp_path / "elsewhere")

    metrics = _run(lake)
    not_read = {Path(f.file).name: f.reason for f in metrics.files_not_read}
    assert {n: ("symbolic link" in r, "named pipe" in r) for n, r in not_read.items()} == {
        f"{STAMP}_dangling.csv": (True, False),
        f"{STAMP}_link.csv": (True, False),
        f"{STAMP}_pipe.csv": (False, True),
        "ingest_date=2026-03-07": (True, False),
    }
    assert "link-1" not in silver_rows(lake)
    _rest_is_clean(lake, lakes, ())


# ------------------------------------------------------------------------------------------ every case, to gold
SPACED = "late orders+fixes.csv"
SPACED_BAD = {"sp-1": "sp-1,2026-03-01,C1,US,P001,0,2.00", "sp-2": "sp-2,2026-03-01,C1,XX,P001,1,2.00"}
SPACED_OK = "sp-ok,2026-03-02,C1,US,P001,1,2.00"
# The reason of each bad row of the cases, by file (None: a whole-file reject, whose rows have no order_id).
BAD_ROWS = {
    NAMES["rfc"]: {"rfc-4": "malformed_row"},
    NAMES["headerless"]: {None: "missing_header"},
    NAMES["utf16"]: {None: "not_utf8"},
    SPACED: {"sp-1": "non_positive_quantity", "sp-2": "unknown_country"},
}
# The rows each whole-file reject holds: every line of the file is a row, the first one too.
WHOLE_FILE_ROWS = {NAMES["headerless"]: len(HEADERLESS_LINES), NAMES["utf16"]: len(UTF16_TEXT.splitlines())}
QUARANTINE_KEY = "order_id, reject_reason, source_file, ingested_at, cast(ingest_date as varchar)"
MARTS = tuple(sorted(p.stem for p in (REPO / "models" / "marts").rglob("*.sql")))


def _bad_rows() -> dict[str, dict[str | None, str]]:
    bad = dict(BAD_ROWS)
    for case, (_, rejected) in EXPECTED.items():
        for name, data in POISON[case].items():
            ids = {row[0] for row in csv.reader(io.StringIO(data.decode()))}
            bad[name] = {oid: reason for oid, reason in rejected.items() if oid in ids}
    return bad


def _good_rows(name: str, data: bytes) -> bytes:
    """The producer's file as it should have been: its rows without the bad ones, the same name and folder."""
    bad = _bad_rows().get(name, {})
    if None in bad:
        return b""
    rows = [row for row in csv.reader(io.StringIO(data.decode(), newline="")) if row and row[0] not in bad]
    return _csv(rows[1:]) if len(rows) > 1 else b""


def _producers_files() -> dict[str, bytes]:
    """Every producer's file of this module that is a plain file, by name (all land in ``DAY``)."""
    spaced = "\n".join([HEADER, *SPACED_BAD.values(), SPACED_OK]) + "\n"
    files = {
        NAMES["rfc"]: _csv(RFC_ROWS) + MALFORMED.encode(),
        NAMES["headerless"]: ("\n".join(HEADERLESS_LINES) + "\n").encode(),
        NAMES["utf16"]: UTF16_TEXT.encode("utf-16"),
        SPACED: spaced.encode(),
    }
    for case in POISON.values():
        files.update(case)
    return files


def _land_odd_entries(lake: Path, outside: Path) -> None:
    """What silver must not read: a copy of a file already landed, links and a named pipe."""
    original = next(f for f in bronze_files(lake) if "2026-03-06" in str(f))
    shutil.copy2(original, original.with_name(f"{STAMP}_copy.csv"))
    _land_links_and_pipe(lake, outside)


def _landed_at(name: str) -> dt.datetime:
    """``ingested_at`` as the ingestion contract defines it: the file name's stamp, else its folder's date."""
    stamp = re.search(r"orders_lambda_(\d{8}_\d{6})_", name)
    if stamp:
        return dt.datetime.strptime(stamp.group(1), "%Y%m%d_%H%M%S")
    return dt.datetime.fromisoformat(DAY.rsplit("=", 1)[1])


def _quarantine_bad_rows(lake: Path, bad: dict[str, dict[str | None, str]]) -> None:
    """Put the cases' bad rows into the clean lake's quarantine, beside the rows its own run rejected: where the
    faulted run must have put them (the rest of each row is checked case by case above)."""
    folder = lake / "silver" / "silver_orders_rejected" / DAY.rsplit("/", 1)[1]
    template = next(lake.glob("silver/silver_orders_rejected/ingest_date=*/*.parquet"))
    rows = [
        (oid, reason, name, _landed_at(name))
        for name, by_id in bad.items()
        for oid, reason in by_id.items()
        for _ in range(WHOLE_FILE_ROWS.get(name, 1))
    ]
    folder.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as con:
        con.execute("create table q as select * from read_parquet(?) limit 0", [str(template)])
        con.executemany(
            "insert into q (order_id, reject_reason, source_file, ingested_at) values (?, ?, ?, ?)", rows
        )
        con.execute(f"copy q to '{folder / 'producers-bad-rows.parquet'}' (format parquet)")


def _rows(lake: Path, table: str, columns: str = "*") -> list[tuple[Any, ...]]:
    glob = str(lake / TABLES[table])
    with duckdb.connect() as con:
        query = f"select {columns} from read_parquet(?, hive_partitioning = true) order by all"
        return con.execute(query, [glob]).fetchall()


@dataclass(frozen=True)
class ToGold:
    # every case landed at once; silver run, gold built, a file corrected, silver and gold again
    faulted: Path
    # the same good data landed as it should have been; silver and gold run once
    clean: Path
    # the faulted lake's first silver run
    first: RunMetrics
    # its second, after the correction
    corrected: RunMetrics


@pytest.fixture(scope="module")
def to_gold(lakes: Lakes, tmp_path_factory: pytest.TempPathFactory) -> ToGold:
    """Two lakes through silver and gold (three dbt builds in all, shared by the tests below): one that received
    every producer's file of this module, one that received only their good rows."""
    root = tmp_path_factory.mktemp("to-gold")
    faulted = lakes.lake_with_day2(root / "faulted" / "lake")
    files = _producers_files()
    for name, data in files.items():
        _write(faulted, name, data)
    _land_odd_entries(faulted, root / "elsewhere")
    first = _run(faulted)
    build(faulted)
    # a day-2 file other than the one copied under another name (that copy would then be new content)
    victim = [f for f in bronze_files(faulted) if f.name.startswith("orders_lambda_20260306_020000")][1]
    order_id = _correctable(faulted, victim)
    _same_size_correction(victim, order_id)
    corrected = _run(faulted)
    build(faulted)

    clean = lakes.lake_with_day2(root / "clean" / "lake")
    for name, data in files.items():
        if good := _good_rows(name, data):
            _write(clean, name, good)
    _same_size_correction(clean / victim.relative_to(faulted), order_id)
    _run(clean)
    _quarantine_bad_rows(clean, _bad_rows())
    build(clean)
    return ToGold(faulted, clean, first, corrected)


@pytest.mark.dbt
def test_every_case_ends_as_a_clean_run_of_the_good_rows_in_silver_and_quarantine(to_gold: ToGold) -> None:
    assert {oid for (oid, *_) in _rows(to_gold.faulted, "silver_orders")} == {
        oid for (oid, *_) in _rows(to_gold.clean, "silver_orders")
    }, "the same order_ids"
    assert _rows(to_gold.faulted, "silver_orders") == _rows(to_gold.clean, "silver_orders"), "the same values"
    quarantined = _rows(to_gold.faulted, "silver_orders_rejected", QUARANTINE_KEY)
    assert quarantined == _rows(to_gold.clean, "silver_orders_rejected", QUARANTINE_KEY)
    for metrics in (to_gold.first, to_gold.corrected):
        _reconciles(metrics)
    not_read = {Path(f.file).name for f in to_gold.first.files_not_read + to_gold.first.files_duplicate}
    assert not_read == {
        *(f"{STAMP}_{kind}.csv" for kind in ("copy", "dangling", "link", "pipe")),
        "ingest_date=2026-03-07",
    }
    assert len(to_gold.corrected.files_changed) == 1 and to_gold.corrected.files_read == 1


@pytest.mark.dbt
def test_every_case_ends_with_the_gold_marts_of_a_clean_run(to_gold: ToGold) -> None:
    """Each mart (every model of models/marts) row for row, value for value: the faulted lake's gold went through
    the correction incrementally, the clean lake's was built once."""
    marts = read_tables(to_gold.faulted, MARTS)
    assert all(marts.values()) and len(marts) >= 6, "every mart holds rows"
    assert marts == read_tables(to_gold.clean, MARTS)
