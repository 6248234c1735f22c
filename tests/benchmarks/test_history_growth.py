"""The history bench's own logic (bench/history_growth.py), without running the pipeline: the new day's
corrections, the acceptance ratios, and combining a silver-only run with an earlier run's gold figures."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from bench.history_growth import BOUNDS, NEW_DAY, ratios, render, with_silver_of, write_corrections
from bench.history_seed import BRONZE, history_days, write_bronze
from bench.run import BenchError

DAILY = 200


def _silver(outside: int, spark: int) -> dict[str, Any]:
    return {
        "outside_spark_bytes": outside,
        "spark_input_bytes": spark,
        "total_bytes": outside + spark,
        "objects_read": 10,
        "bytes_read_by_area": {"order_index": outside},
        "seconds": 30.0,
        "order_dates_touched": 8,
        "superseded": 5,
    }


def _history(days: int, outside: int, spark: int, gold: tuple[int, int] | None) -> dict[str, Any]:
    history: dict[str, Any] = {"days": days, "history_orders": days * 10, "silver": _silver(outside, spark)}
    if gold:
        history["gold"] = {
            "incremental_bytes": gold[0],
            "full_refresh_bytes": gold[1],
            "largest_node": "model.lakehouse.fct_orders",
            "largest_node_bytes": gold[0] // 2,
            "incremental_seconds": 10.0,
            "full_refresh_seconds": 20.0,
            "queries": 100,
            "by_node": {},
        }
    return history


def _report(histories: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "measured_at": "2026-12-08T00:00:00+00:00",
        "daily": 10,
        "new_day": NEW_DAY.isoformat(),
        "corrections": "some",
        "correction_horizon_days": 7,
        "cores": 2,
        "load_average_1m_at_end": 1.0,
        "histories": histories,
        "ratios": ratios(histories[0], histories[-1]),
    }


def test_each_ratio_is_checked_against_its_bound() -> None:
    short = _history(30, 100, 1000, (200, 1000))
    long = _history(1095, 121, 1100, (260, 5000))
    found = ratios(short, long)
    # outside Spark 1.21x > 1.2x; total 1221 / 1100 = 1.11x; gold 1.3x (at the bound); 260 / 5000 = 5.2%
    assert found["silver_outside_spark"] == {"value": 1.21, "bound": 1.2, "pass": False}
    assert found["silver_total"]["pass"] and found["silver_total"]["value"] == pytest.approx(1.11, abs=0.01)
    assert found["gold_incremental"] == {"value": 1.3, "bound": 1.3, "pass": True}
    assert found["gold_incremental_vs_full"] == {"value": 0.052, "bound": 0.1, "pass": True}
    assert set(found) == set(BOUNDS)
    assert set(ratios(_history(30, 1, 1, None), _history(1095, 1, 1, None))) == {
        "silver_outside_spark",
        "silver_total",
    }


def test_a_silver_only_run_replaces_the_silver_figures_and_keeps_the_earlier_ones() -> None:
    full = _report([_history(30, 100, 1000, (200, 1000)), _history(1095, 3000, 1000, (210, 5000))])
    silver = _report([_history(30, 100, 1000, None), _history(1095, 110, 1000, None)])
    combined = with_silver_of(full, silver)
    assert [h["silver"]["outside_spark_bytes"] for h in combined["histories"]] == [100, 110]
    assert [h["silver_before"]["outside_spark_bytes"] for h in combined["histories"]] == [100, 3000]
    assert combined["histories"][1]["gold"] == full["histories"][1]["gold"]
    assert combined["ratios"]["silver_outside_spark"]["pass"]
    assert not combined["ratios_before"]["silver_outside_spark"]["pass"]
    table = render(combined)
    assert "silver before: bytes read outside Spark" in table and "| before |" in table


def test_results_of_other_days_do_not_combine() -> None:
    full = _report([_history(30, 1, 1, (1, 1)), _history(1095, 1, 1, (1, 1))])
    other = {**_report([_history(30, 1, 1, None), _history(365, 1, 1, None)])}
    with pytest.raises(BenchError, match="different days or histories"):
        with_silver_of(full, other)


def test_the_corrections_change_or_move_one_in_fifty_orders_of_the_last_seven_days(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    days = history_days(NEW_DAY, 7)
    write_bronze(lake, days, DAILY)
    originals = {}
    for path in sorted((lake / BRONZE).rglob("*.csv")):
        with path.open(newline="") as handle:
            originals.update({row["order_id"]: row for row in csv.DictReader(handle)})
    with write_corrections(lake, NEW_DAY).open(newline="") as handle:
        corrections = list(csv.DictReader(handle))
    assert len(corrections) == 7 * (DAILY // 50)
    assert {originals[c["order_id"]]["order_date"] for c in corrections} == {d.isoformat() for d in days}
    moved = [c for c in corrections if c["order_date"] != originals[c["order_id"]]["order_date"]]
    changed = [c for c in corrections if c["quantity"] != originals[c["order_id"]]["quantity"]]
    assert len(moved) + len(changed) == len(corrections) and moved and changed
    for c in moved:
        before = dt.date.fromisoformat(originals[c["order_id"]]["order_date"])
        assert dt.date.fromisoformat(c["order_date"]) == before + dt.timedelta(days=1)
