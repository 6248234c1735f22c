from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from pathlib import Path

import pytest

from ingestion.batch import generate_file
from ingestion.plan import RunPlan
from ingestion.reference import load_reference, reference_dir
from tests.ingestion.helpers import HEADER, REPO, problems, read_rows

START = dt.date(2026, 3, 1)


def plan(**changes: object) -> RunPlan:
    values: dict[str, object] = {"rows": 20_000, "start_date": START, "days": 28, "seed": 7}
    values.update(changes)
    return RunPlan(**values)


def body(p: RunPlan, chunk: int = 0) -> bytes:
    return bytes(generate_file(p, chunk, load_reference()).body)


def test_same_seed_and_parameters_give_byte_identical_files() -> None:
    assert body(plan(defect_rate=0.05)) == body(plan(defect_rate=0.05))


@pytest.mark.parametrize("change", [{"seed": 8}, {"start_date": START + dt.timedelta(days=1)}, {"days": 27}])
def test_different_seed_or_dates_give_different_files(change: dict[str, object]) -> None:
    assert body(plan()) != body(plan(**change))


def test_clean_rows_follow_the_contract() -> None:
    header, rows = read_rows(body(plan()))
    assert header == HEADER
    assert len(rows) == 20_000
    assert [r for r in rows if problems(r)] == []
    dates = {r[1] for r in rows}
    assert min(dates) == START.isoformat()
    assert max(dates) == (START + dt.timedelta(days=27)).isoformat()
    assert len({r[0] for r in rows}) == len(rows)


def test_header_is_written_without_quotes() -> None:
    assert body(plan(rows=3)).startswith(
        b"order_id,order_date,customer_id,country,product,quantity,unit_price\n"
    )


def test_defects_leave_the_clean_rows_unchanged() -> None:
    _, clean = read_rows(body(plan()))
    _, dirty = read_rows(body(plan(defect_rate=0.1)))
    same = sum(a == b for a, b in zip(clean, dirty, strict=True))
    assert 0.88 * len(clean) <= same <= 0.91 * len(clean)


def test_orders_look_like_a_shop() -> None:
    # 8 whole weeks, Monday to Sunday
    p = plan(rows=60_000, days=56, start_date=dt.date(2026, 1, 5))
    _, rows = read_rows(body(p))
    per_customer = Counter(r[2] for r in rows)
    counts = sorted(per_customer.values(), reverse=True)
    assert counts[0] >= 50, "a few customers buy very often"
    assert sum(c == 1 for c in counts) > len(counts) / 4, "many customers buy once"
    first_week = {r[2] for r in rows if r[1] < "2026-01-12"}
    last_week = {r[2] for r in rows if r[1] >= "2026-02-23"}
    assert len(last_week - {c for r in rows if r[1] < "2026-02-23" for c in [r[2]]}) > 0, (
        "new customers appear"
    )
    assert max(int(c[1:]) for c in last_week) > max(int(c[1:]) for c in first_week)
    weekday = Counter(dt.date.fromisoformat(r[1]).weekday() for r in rows)
    assert weekday[5] > weekday[1] * 1.1, "Saturdays are busier than Tuesdays"
    countries = Counter(r[3] for r in rows)
    assert countries.most_common(1)[0][0] == "US"
    products = Counter(r[4] for r in rows)
    assert products["P008"] > products["P013"] * 3, "popularity_weight drives the mix"
    by_customer_country = {}
    for r in rows:
        assert by_customer_country.setdefault(r[2], r[3]) == r[3], "a customer lives in one country"


def test_unit_price_is_near_list_price() -> None:
    reference = load_reference()
    list_price = dict(zip(reference.product_codes, reference.list_price_cents.tolist(), strict=True))
    _, rows = read_rows(body(plan()))
    ratios = [round(float(r[6]) * 100) / list_price[r[4]] for r in rows]
    assert all(0.69 <= x <= 1.0 for x in ratios)
    assert sum(x == 1.0 for x in ratios) > len(ratios) / 2


def test_black_friday_is_a_peak() -> None:
    _, rows = read_rows(body(plan(rows=30_000, start_date=dt.date(2026, 11, 20), days=14)))
    per_day = Counter(r[1] for r in rows)
    assert per_day.most_common(1)[0][0] == "2026-11-27"


def test_chunks_cover_the_range_in_order_with_unique_ids() -> None:
    p = plan(rows=25_000, rows_per_file=10_000)
    chunks = [read_rows(body(p, i))[1] for i in range(p.files)]
    assert [len(c) for c in chunks] == [10_000, 10_000, 5_000]
    rows = [r for c in chunks for r in c]
    assert [r[1] for r in rows] == sorted(r[1] for r in rows)
    assert {r[1] for r in rows} == {(START + dt.timedelta(days=d)).isoformat() for d in range(28)}
    assert len({r[0] for r in rows}) == 25_000
    # Chunk i is a pure function of the plan and i: regenerating chunk 1 alone gives the same bytes.
    assert read_rows(body(p, 1))[1] == chunks[1]


def test_order_ids_differ_across_seeds_dates_and_chunks() -> None:
    ids = Counter()
    for p in (plan(), plan(seed=8), plan(start_date=START + dt.timedelta(days=1))):
        ids.update(r[0] for r in read_rows(body(p))[1])
    p = plan(seed=9, rows_per_file=5_000)
    for chunk in range(p.files):
        ids.update(r[0] for r in read_rows(body(p, chunk))[1])
    assert ids.most_common(1)[0][1] == 1


def test_reference_comes_from_the_repository_seeds() -> None:
    assert reference_dir() in (REPO / "seeds", REPO / "ingestion" / "reference")
    reference = load_reference(REPO / "seeds")
    assert reference.product_codes[0] == "P001"
    assert abs(reference.country_weights.sum() - 1) < 1e-9


@pytest.mark.parametrize(
    ("field", "value"),
    [("rows", 0), ("days", 0), ("days", 4000), ("seed", -1), ("defect_rate", 1.5), ("rows_per_file", -1)],
)
def test_plan_rejects_out_of_bounds_values(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        plan(**{field: value})


@pytest.mark.parametrize(
    ("rows", "days", "rows_per_file", "rate"),
    [(1, 1, 0, 0.0), (1, 3660, 0, 1.0), (5, 10, 2, 0.5), (7, 3, 3, 1.0), (1000, 400, 333, 0.3)],
)
def test_tiny_and_sparse_plans(rows: int, days: int, rows_per_file: int, rate: float) -> None:
    p = plan(rows=rows, days=days, rows_per_file=rows_per_file, defect_rate=rate)
    generated = [generate_file(p, i, load_reference()) for i in range(p.files)]
    assert sum(g.rows for g in generated) == rows
    for g in generated:
        header, data = read_rows(g.body)
        assert header == HEADER and len(data) == g.rows
        # half rounds up
        assert sum(g.defects.counts().values()) == int(rate * g.rows + 0.5)
        assert START <= g.first_date <= g.last_date <= START + dt.timedelta(days=days - 1)


def _copy_seeds(target: Path, products: str | None = None) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    (target / "countries.csv").write_text((REPO / "seeds" / "countries.csv").read_text())
    (target / "products.csv").write_text(products or (REPO / "seeds" / "products.csv").read_text())
    return target


def test_packaged_reference_wins_when_present(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ingestion import reference

    packaged = tmp_path / "reference"
    monkeypatch.setattr(reference, "PACKAGED_DIR", packaged)
    assert reference_dir() == REPO / "seeds"
    only_one = "product_code,product_name,category,list_price,popularity_weight\nZ9,Thing,Misc,1.50,1\n"
    _copy_seeds(packaged, only_one)
    assert reference_dir() == packaged
    assert load_reference().product_codes == ("Z9",)
    _, rows = read_rows(generate_file(plan(rows=50), 0, load_reference()).body)
    assert {r[4] for r in rows} == {"Z9"} and {r[6] for r in rows} <= {
        "1.50",
        "1.43",
        "1.35",
        "1.28",
        "1.20",
        "1.05",
    }


@pytest.mark.parametrize(
    ("products", "message"),
    [
        (
            "product_code,category,list_price,popularity_weight\nP1,X,abc,1\n",
            "list_price 'abc' is not a number",
        ),
        ("product_code,category,list_price,popularity_weight\nP1,X,1.005,1\n", "more than 2 decimals"),
        (
            "product_code,category,list_price,popularity_weight\nP1,X,1,0\n",
            "popularity_weight '0' must be positive",
        ),
        ("product_code,category,list_price,popularity_weight\nP1,X,1,1\nP1,X,2,1\n", "repeated"),
        ("product_code,category,popularity_weight\nP1,X,1\n", "missing column(s) list_price"),
    ],
)
def test_bad_reference_data_is_named(tmp_path: Path, products: str, message: str) -> None:
    from ingestion.reference import ReferenceError

    with pytest.raises(ReferenceError, match=re.escape(message)):
        load_reference(_copy_seeds(tmp_path / "ref", products))
