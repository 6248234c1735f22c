"""The cost model's arithmetic (bench/cost_model.py): the fit, one day's runs, the limits and the table."""

from __future__ import annotations

import json

import pytest

from bench.cost_model import (
    Limits,
    Line,
    Measured,
    Point,
    Prices,
    Volume,
    binding_limit,
    first_day_over,
    fit,
    limits_from_infra,
    measured_from_history,
    measured_from_results,
    project_day,
    render_table,
    runs_per_day,
)
from bench.report import newest_history, newest_per_size, render_cost
from bench.run import RESULTS

NOTHING = Line(0, 0, 0)
LIMITS = Limits(bytes_scanned_cutoff=1000, glue_timeout_minutes=1, glue_workers=2, monthly_budget_usd=1e9)


def test_fit_recovers_a_line_and_spreads_the_intercept_over_the_new_orders() -> None:
    points = [Point(h, 10, 5 + 2 * h) for h in (100, 1000, 3000)]
    line = fit(points)
    assert line.per_history == pytest.approx(2.0)
    assert line.per_new == pytest.approx(0.5)
    assert line.at(history=500, new=20) == pytest.approx(2 * 500 + 0.5 * 20)


def test_fit_never_goes_below_zero() -> None:
    # a steep line through small sizes would cross zero before the first order: the intercept is held at zero
    line = fit([Point(100, 10, 0.0), Point(200, 10, 1000.0)])
    assert line.per_new == 0.0
    assert line.per_history == pytest.approx(10.0)
    assert fit([Point(100, 10, 50.0), Point(200, 10, 40.0)]).per_history == 0.0


def test_fit_refuses_sizes_that_added_different_days() -> None:
    with pytest.raises(ValueError, match="same --day-rows"):
        fit([Point(100, 10, 1.0), Point(200, 20, 2.0)])


def test_one_size_puts_everything_on_the_history() -> None:
    assert fit([Point(200, 10, 1000.0)]) == Line(0.0, 0.0, 5.0)


def _measured(build: Line, largest: Line, silver: Line = NOTHING, queries: int = 0) -> Measured:
    return Measured(build, largest, queries, silver, (1,))


def test_a_day_sums_its_runs_each_on_the_history_before_it() -> None:
    measured = _measured(Line(0, 1, 1), Line(0, 0, 1))
    volume = Volume(orders_per_run=10, runs_per_day=3)
    day2 = project_day(measured, volume, LIMITS, day=2, prices=Prices(s3_puts_per_run=0))
    # day 2's runs meet 30, 40 and 50 orders of history and add 10 each
    assert day2.build_bytes == pytest.approx((30 + 10) + (40 + 10) + (50 + 10))
    assert day2.largest_query_bytes == pytest.approx(50)
    assert day2.history_at_end == 60


def test_athena_bills_at_least_ten_megabytes_a_query_and_glue_a_minute_a_run() -> None:
    measured = _measured(Line(0, 0, 0), Line(0, 0, 0), silver=Line(6, 0, 0), queries=100)
    day = project_day(measured, Volume(1, 24), LIMITS, day=1, prices=Prices(s3_puts_per_run=0))
    assert day.athena_usd == pytest.approx(24 * 100 * 10e6 / 1e12 * 5.0)
    # 6 s runs are billed a minute each, on 2 workers of 1 DPU
    assert day.glue_usd == pytest.approx(24 * 2 * (60 / 3600) * 0.44)
    assert day.s3_usd == 0.0
    assert day.usd == pytest.approx(day.athena_usd + day.glue_usd)


def test_s3_requests_at_list_price() -> None:
    measured = _measured(Line(8 * 2**20, 0, 0), Line(0, 0, 0))
    day = project_day(measured, Volume(1, 10), LIMITS, day=1, prices=Prices(s3_puts_per_run=100))
    assert day.s3_usd == pytest.approx(10 / 1000 * 0.0004 + 1000 / 1000 * 0.005)


def test_the_first_day_over_each_limit_and_the_binding_one() -> None:
    # 10 orders a day in one run; the largest query reads 1 byte per order of history: over 1,000 bytes once the
    # run meets 1,010 orders, on day 102. A silver run takes 1 s per order of history: over 60 s on day 8.
    measured = _measured(Line(0, 0, 0), Line(0, 0, 1), silver=Line(0, 0, 1))
    found = first_day_over(measured, Volume(10, 1), LIMITS, horizon=200)
    assert found == {"bytes_scanned_cutoff": 102, "glue_timeout": 8, "monthly_budget": None}
    assert binding_limit(found) == ("glue_timeout", 8)
    assert binding_limit({"bytes_scanned_cutoff": None}) is None
    # the budget only alarms: passed first, it does not bind
    budget_first = {"bytes_scanned_cutoff": 22, "glue_timeout": None, "monthly_budget": 14}
    assert binding_limit(budget_first) == ("bytes_scanned_cutoff", 22)


@pytest.mark.parametrize(
    ("schedule", "runs"),
    [
        ("cron(0 * * * ? *)", 24),
        ("cron(15 2,14 * * ? *)", 2),
        ("cron(0 6 * * ? *)", 1),
        ("rate(2 hours)", 12),
    ],
)
def test_runs_per_day(schedule: str, runs: int) -> None:
    assert runs_per_day(schedule) == runs


def test_the_limits_are_read_from_the_template_and_prod_parameters() -> None:
    volume, limits = limits_from_infra()
    assert volume == Volume(orders_per_run=1_000_000, runs_per_day=24)
    assert limits.bytes_scanned_cutoff == 10 * 2**30
    assert limits.glue_timeout_minutes == 60
    assert limits.glue_workers == 2


def test_the_table_from_the_committed_results_names_the_binding_limit() -> None:
    reports = [json.loads(path.read_text()) for path in newest_per_size(RESULTS)]
    volume, limits = limits_from_infra()
    table = render_table(measured_from_results(reports), volume, limits)
    rows = [line for line in table.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert [row.split("|")[1].strip() for row in rows] == ["1", "30", "365"]
    assert "Binding limit:" in table


def _history(gold: bool = True) -> dict:
    """A history bench result: the same day of 10 orders on 100 and on 1,100 orders of history."""
    histories = []
    for orders, seconds, silver_bytes, build, largest, queries in (
        (100, 20.0, 1000, 500, 50, 7),
        (1100, 30.0, 1100, 1500, 150, 9),
    ):
        history = {"history_orders": orders, "silver": {"seconds": seconds, "total_bytes": silver_bytes}}
        if gold:
            history["gold"] = {"incremental_bytes": build, "largest_node_bytes": largest, "queries": queries}
        histories.append(history)
    return {"measured_at": "2026-12-08T00:00:00+00:00", "daily": 10, "histories": histories}


def test_the_history_bench_gives_lines_through_its_two_histories() -> None:
    measured = measured_from_history(_history(), silver_seconds=Line(1, 2, 3))
    # gold: 1 byte per order of history; the 400 bytes left at no history are the day's 10 orders' (40 each)
    assert measured.build_bytes == Line(0.0, pytest.approx(40.0), pytest.approx(1.0))
    assert measured.largest_query_bytes == Line(0.0, pytest.approx(4.0), pytest.approx(0.1))
    # silver's seconds are the line given (the history bench's own are timed on a loaded machine)
    assert measured.silver_seconds == Line(1, 2, 3)
    assert measured.silver_bytes == Line(0.0, pytest.approx(99.0), pytest.approx(0.1))
    assert (measured.queries, measured.sizes) == (9, (100, 1100))


def test_a_history_bench_result_without_gold_gives_no_projection() -> None:
    with pytest.raises(ValueError, match="without --silver-only"):
        measured_from_history(_history(gold=False), silver_seconds=NOTHING)


def test_the_table_names_the_setting_that_moves_the_binding_limit() -> None:
    measured = _measured(Line(0, 0, 0), Line(0, 0, 1))
    table = render_table(measured, Volume(10, 1), LIMITS)
    assert "Binding limit: the workgroup's per-query cutoff" in table
    assert "AthenaBytesScannedCutoff" in table


def test_with_no_limit_passed_the_table_names_the_figure_nearest_its_limit() -> None:
    measured = _measured(Line(0, 0, 0), Line(50, 0, 0), silver=Line(6, 0, 0))
    table = render_table(measured, Volume(10, 1), LIMITS)
    assert "No limit that stops the pipeline is passed within ten years" in table
    assert "the silver run, of the Glue job's timeout (10%)" in table


def test_the_committed_history_bench_result_draws_the_table() -> None:
    path = newest_history(RESULTS)
    assert path is not None, "bench/results holds no history_growth_*.json with gold's figures"
    reports = [json.loads(p.read_text()) for p in newest_per_size(RESULTS)]
    table = render_cost(reports, json.loads(path.read_text()))
    assert "from the history bench" in table, table
    rows = [line for line in table.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert [row.split("|")[1].strip() for row in rows] == ["1", "30", "365"]
