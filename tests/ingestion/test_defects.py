"""Every defect kind is in the file exactly where, and as often as, its answer key says (checked with csv only)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

from ingestion.defects import DEFECT_KINDS, KIND, plan_defects
from ingestion.local import ingest_to_lake
from tests.ingestion.helpers import HEADER, problems, read_rows

ROWS = 6_000
RATE = 0.1


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[list[str]], dict]:
    lake = tmp_path_factory.mktemp("lake")
    summary = ingest_to_lake(
        lake, rows=ROWS, days=10, start_date=dt.date(2026, 5, 1), seed=11, defect_rate=RATE, progress=False
    )
    (path,) = summary.files
    manifest = json.loads(Path(f"{path}.manifest.json").read_text())
    header, rows = read_rows(path)
    assert header == HEADER
    return rows, manifest


def test_answer_key_describes_the_file(written: tuple[list[list[str]], dict]) -> None:
    rows, manifest = written
    assert manifest["rows"] == len(rows) == ROWS
    assert manifest["seed"] == 11
    assert manifest["start_date"] == "2026-05-01"
    assert manifest["days"] == 10
    assert manifest["defect_rate"] == RATE
    assert manifest["file"].endswith(".csv")
    assert list(manifest["defects"]) == list(DEFECT_KINDS)
    flagged = [r for kind_rows in manifest["defects"].values() for r in kind_rows]
    assert len(flagged) == len(set(flagged)) == round(RATE * ROWS), "a row has at most one kind"
    assert all(1 <= r <= ROWS for r in flagged)
    assert all(manifest["defect_counts"][k] == len(v) for k, v in manifest["defects"].items())
    assert min(len(v) for v in manifest["defects"].values()) >= 50, "every kind appears, spread evenly"
    expected = manifest["expected"]
    assert expected["valid_rows"] + expected["rejected_rows"] == ROWS


def test_rows_without_a_defect_are_valid(written: tuple[list[list[str]], dict]) -> None:
    rows, manifest = written
    flagged = {r for kind_rows in manifest["defects"].values() for r in kind_rows}
    bad = [(n, row) for n, row in enumerate(rows, 1) if n not in flagged and problems(row)]
    assert bad == []


EXPECTED_PROBLEM = {
    "bad_date": ["order_date"],
    "non_numeric_quantity": ["quantity"],
    "non_positive_quantity": ["quantity"],
    "non_positive_price": ["unit_price"],
    "unknown_country": ["country"],
    "unknown_product": ["product"],
}


@pytest.mark.parametrize("kind", sorted(EXPECTED_PROBLEM))
def test_single_value_defects_break_exactly_their_field(
    kind: str, written: tuple[list[list[str]], dict]
) -> None:
    rows, manifest = written
    for n in manifest["defects"][kind]:
        assert problems(rows[n - 1], normalise=True) == EXPECTED_PROBLEM[kind], (kind, n, rows[n - 1])


def test_value_details(written: tuple[list[list[str]], dict]) -> None:
    rows, manifest = written
    for n in manifest["defects"]["non_numeric_quantity"]:
        assert not rows[n - 1][5].strip().lstrip("-").isdigit()
    for n in manifest["defects"]["non_positive_quantity"]:
        assert int(rows[n - 1][5]) <= 0
    for n in manifest["defects"]["non_positive_price"]:
        assert float(rows[n - 1][6]) <= 0


def test_field_count_defects(written: tuple[list[list[str]], dict]) -> None:
    rows, manifest = written
    assert {len(rows[n - 1]) for n in manifest["defects"]["missing_field"]} == {6}
    assert {len(rows[n - 1]) for n in manifest["defects"]["extra_field"]} == {8}
    flagged = {r for k in ("missing_field", "extra_field") for r in manifest["defects"][k]}
    assert {n for n, row in enumerate(rows, 1) if len(row) != 7} == flagged


def test_noise_is_recoverable(written: tuple[list[list[str]], dict]) -> None:
    rows, manifest = written
    for n in manifest["defects"]["noise"]:
        row = rows[n - 1]
        # noisy as written ...
        assert problems(row) != [], (n, row)
        # ... valid after trim / upper
        assert problems(row, normalise=True) == [], (n, row)
        assert any(f != f.strip() for f in row) or row[3] != row[3].upper() or row[4] != row[4].upper()


def test_duplicates_repeat_an_earlier_row_exactly(written: tuple[list[list[str]], dict]) -> None:
    rows, manifest = written
    firsts: dict[tuple[str, ...], int] = {}
    for n, row in enumerate(rows, 1):
        firsts.setdefault(tuple(row), n)
    dupes = manifest["defects"]["duplicate"]
    for n, source in zip(dupes, manifest["defect_sources"]["duplicate"], strict=True):
        assert rows[n - 1] == rows[source - 1]
        assert firsts[tuple(rows[n - 1])] < n
        assert problems(rows[n - 1]) == []
    exact_repeats = {n for n, row in enumerate(rows, 1) if firsts[tuple(row)] != n}
    assert exact_repeats == set(dupes)


def test_late_corrections_change_the_quantity_of_an_earlier_order(
    written: tuple[list[list[str]], dict],
) -> None:
    rows, manifest = written
    first_seen: dict[str, int] = {}
    # a dropped order_id shifts the fields
    whole = [(n, row) for n, row in enumerate(rows, 1) if len(row) == 7]
    for n, row in whole:
        first_seen.setdefault(row[0].strip(), n)
    corrections = manifest["defects"]["late_correction"]
    for n in corrections:
        row = rows[n - 1]
        earlier = rows[first_seen[row[0]] - 1]
        assert first_seen[row[0]] < n
        assert problems(row) == []
        assert row[5] != earlier[5]
        assert row[:5] == earlier[:5] and row[6] == earlier[6]
    repeated_ids = {n for n, row in whole if first_seen[row[0].strip()] != n}
    assert repeated_ids == set(corrections) | set(manifest["defects"]["duplicate"])


def test_every_source_is_a_clean_row_used_once(written: tuple[list[list[str]], dict]) -> None:
    _, manifest = written
    sources = manifest["defect_sources"]["duplicate"] + manifest["defect_sources"]["late_correction"]
    flagged = {r for kind_rows in manifest["defects"].values() for r in kind_rows}
    assert len(sources) == len(set(sources))
    assert not set(sources) & flagged


@pytest.mark.parametrize(("rows", "rate"), [(1, 1.0), (10, 1.0), (11, 0.5), (1000, 0.999), (200, 0.0)])
def test_defect_plan_edge_cases(rows: int, rate: float) -> None:
    plan = plan_defects(rows, rate, np.random.default_rng(3))
    assert len(plan) == int(rate * rows + 0.5)
    assert len(set(plan.positions.tolist())) == len(plan)
    needs_source = np.isin(plan.kinds, [KIND["duplicate"], KIND["late_correction"]])
    assert (plan.sources[needs_source] >= 0).all()
    assert (plan.sources[needs_source] < plan.positions[needs_source]).all()
    assert sum(plan.counts().values()) == len(plan)
