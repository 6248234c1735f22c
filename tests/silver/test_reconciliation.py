"""Reconciliation on generated bronze with injected defects, checked against each file's answer key."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from tests.silver.helpers import rejected_rows, silver_rows

pytestmark = pytest.mark.spark
ingestion_local = pytest.importorskip("ingestion.local")

KIND_TO_REASON = {
    # the generator drops a field: 6 fields for a 7-column header
    "missing_field": "malformed_row",
    "extra_field": "malformed_row",
    "bad_date": "bad_date",
    "non_numeric_quantity": "bad_quantity",
    "non_positive_quantity": "non_positive_quantity",
    "non_positive_price": "non_positive_price",
    "unknown_country": "unknown_country",
    "unknown_product": "unknown_product",
}
RECOVERED = ("noise", "duplicate", "late_correction")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory, spark: object) -> tuple[Path, dict]:
    from glue_jobs.local import run_silver

    lake = tmp_path_factory.mktemp("generated") / "lake"
    ingestion_local.ingest_to_lake(
        lake,
        rows=20_000,
        days=5,
        start_date=dt.date(2026, 3, 1),
        seed=11,
        defect_rate=0.05,
        rows_per_file=5_000,
        progress=False,
    )
    return lake, run_silver(lake)


def _answer_key(lake: Path) -> tuple[Counter, set[str], dict[str, int], Counter]:
    """Expected (file, key, reason) rejects, order_ids in silver, corrected quantities, defect counts."""
    rejects: Counter = Counter()
    valid_ids: set[str] = set()
    corrected: dict[str, int] = {}
    kinds: Counter = Counter()
    for manifest in sorted(lake.glob("bronze/orders/*/*.manifest.json")):
        key = json.loads(manifest.read_text())
        lines = (manifest.parent / key["file"]).read_text().splitlines()[1:]
        assert len(lines) == key["rows"]
        bad_rows = set()
        for kind, rows in key["defects"].items():
            kinds[kind] += len(rows)
            for n in rows:
                line = lines[n - 1]
                if kind in KIND_TO_REASON:
                    reason = KIND_TO_REASON[kind]
                    ident = line if reason == "malformed_row" else line.split(",")[0].strip()
                    rejects[(key["file"], ident, reason)] += 1
                    bad_rows.add(n)
                elif kind == "late_correction":
                    corrected[line.split(",")[0].strip()] = int(line.split(",")[5])
        valid_ids |= {line.split(",")[0].strip() for n, line in enumerate(lines, 1) if n not in bad_rows}
    return rejects, valid_ids, corrected, kinds


def test_every_row_is_in_silver_rejected_with_its_reason_or_a_counted_duplicate(
    generated: tuple[Path, dict],
) -> None:
    lake, metrics = generated
    expected_rejects, valid_ids, corrected, kinds = _answer_key(lake)
    assert all(kinds[k] > 0 for k in (*KIND_TO_REASON, *RECOVERED)), "every defect kind must be exercised"

    actual_rejects = Counter(
        (
            r["source_file"],
            r["raw_record"] if r["reject_reason"] == "malformed_row" else r["order_id"].strip(),
            r["reject_reason"],
        )
        for r in rejected_rows(lake)
    )
    assert actual_rejects == expected_rejects

    rows = silver_rows(lake)
    assert set(rows) == valid_ids
    assert all(rows[order_id]["quantity"] == q for order_id, q in corrected.items()), "late corrections win"
    assert metrics.duplicates_dropped == kinds["duplicate"] + kinds["late_correction"]
    assert (
        metrics.rows_read
        == 20_000
        == metrics.rows_written + metrics.rows_rejected + metrics.duplicates_dropped
    )
    assert metrics.rows_written == len(rows)
    run_file = lake / "_runs" / "silver" / f"{metrics.run_id}.json"
    assert json.loads(run_file.read_text())["rows_read"] == 20_000


def test_duckdb_baseline_builds_the_same_silver(generated: tuple[Path, dict], tmp_path: Path) -> None:
    from bench.baselines.silver_duckdb import run_silver_duckdb

    lake, metrics = generated
    repo = Path(__file__).resolve().parents[2]
    base = run_silver_duckdb(lake / "bronze" / "orders", tmp_path / "silver", repo / "seeds")
    for key in ("rows_read", "rows_written", "rows_rejected", "rejected_by_reason", "duplicates_dropped"):
        assert base[key] == getattr(metrics, key), key
    query = "select * exclude (ingested_at) from read_parquet('{}/silver_orders/*/*.parquet', hive_partitioning=true) order by order_id"
    with duckdb.connect() as con:
        spark_rows = con.execute(query.format(lake / "silver")).fetchall()
        duck_rows = con.execute(query.format(tmp_path / "silver")).fetchall()
    assert spark_rows == duck_rows
