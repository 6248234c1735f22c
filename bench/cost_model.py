"""What a day of the pipeline costs at production volume, projected from the figures `make bench` measures.

Pure arithmetic: `fit` draws a line through the bench's sizes (the bytes or seconds a run takes against the orders
its history holds), `project_day` applies it to the 24 runs of one production day, `render_table` prints day 1,
day 30 and day 365 against the workgroup's per-query cutoff, the Glue job's timeout and the monthly budget. The
assumptions behind each figure are in bench/README.md ("Cost at production volume"); `limits_from_infra` reads the
limits from infra/lakehouse.yaml and a parameter file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "infra" / "lakehouse.yaml"
PROD_PARAMETERS = REPO / "infra" / "parameters" / "prod.json"
DAYS = (1, 30, 365)
HOURS_PER_DAY = 24


@dataclass(frozen=True)
class Line:
    """value = fixed + per_new x new orders of the run + per_history x orders already in the lake."""

    fixed: float
    per_new: float
    per_history: float

    def at(self, history: float, new: float) -> float:
        return self.fixed + self.per_new * new + self.per_history * history


@dataclass(frozen=True)
class Point:
    """One bench size: the history the run met, the orders it added, and what it took (bytes or seconds)."""

    history: int
    new: int
    value: float


@dataclass(frozen=True)
class Measured:
    """The bench's figures, as lines: gold's bytes (whole build, largest query, queries) and silver's seconds."""

    build_bytes: Line
    largest_query_bytes: Line
    queries: int
    silver_seconds: Line
    sizes: tuple[int, ...]
    # silver's bytes read a run (through Storage and by Spark); zero when the source did not measure them
    silver_bytes: Line = Line(0.0, 0.0, 0.0)
    # where the lines come from, for the table's heading
    source: str = "the bench"


@dataclass(frozen=True)
class Volume:
    orders_per_run: int
    runs_per_day: int

    @property
    def orders_per_day(self) -> int:
        return self.orders_per_run * self.runs_per_day


@dataclass(frozen=True)
class Limits:
    bytes_scanned_cutoff: int
    glue_timeout_minutes: int
    glue_workers: int
    monthly_budget_usd: float


@dataclass(frozen=True)
class Prices:
    athena_usd_per_tb: float = 5.0
    # Athena bills every query at least 10 MB
    athena_min_bytes_per_query: int = 10 * 10**6
    glue_usd_per_dpu_hour: float = 0.44
    # a G.1X worker is 1 DPU; Glue 5.0 bills per second with a 1-minute minimum per run
    glue_dpu_per_worker: float = 1.0
    glue_min_seconds: float = 60.0
    s3_usd_per_1000_get: float = 0.0004
    s3_usd_per_1000_put: float = 0.005
    # assumed: Athena reads Parquet in ranged GETs of about 8 MiB; a run writes about 200 objects (a bronze file,
    # silver's partitions and journal, each mart's Iceberg data, manifests and metadata)
    s3_bytes_per_get: int = 8 * 2**20
    s3_puts_per_run: int = 200


@dataclass(frozen=True)
class Day:
    """One production day: its runs' totals and the largest of each per-run figure."""

    day: int
    history_at_end: int
    build_bytes: float
    largest_query_bytes: float
    glue_seconds: float
    silver_bytes: float
    athena_usd: float
    glue_usd: float
    s3_usd: float

    @property
    def usd(self) -> float:
        return self.athena_usd + self.glue_usd + self.s3_usd


def fit(points: Sequence[Point]) -> Line:
    """Least squares of value on history. The bench adds the same day at every size, so the intercept is what the
    run's own orders (and fixed work) cost: it is spread over them (per_new), never below zero. One point: all of
    it is per history order."""
    if not points:
        raise ValueError("no bench figures to fit")
    new = points[0].new
    if any(p.new != new for p in points):
        raise ValueError("the bench sizes added different days; rerun them with the same --day-rows")
    if len(points) == 1:
        return Line(0.0, 0.0, points[0].value / points[0].history)
    n = len(points)
    mean_x = sum(p.history for p in points) / n
    mean_y = sum(p.value for p in points) / n
    spread = sum((p.history - mean_x) ** 2 for p in points)
    slope = sum((p.history - mean_x) * (p.value - mean_y) for p in points) / spread if spread else 0.0
    intercept = max(mean_y - max(slope, 0.0) * mean_x, 0.0)
    return Line(0.0, intercept / new, max(slope, 0.0))


def project_day(
    measured: Measured, volume: Volume, limits: Limits, day: int, prices: Prices = Prices()
) -> Day:
    """The `day`-th production day (1 = the first): its runs, each meeting the history the ones before it left."""
    build = largest = glue_longest = athena_usd = glue_usd = gets = silver_bytes = 0.0
    new = volume.orders_per_run
    for run in range(volume.runs_per_day):
        history = (day - 1) * volume.orders_per_day + run * volume.orders_per_run
        scanned = measured.build_bytes.at(history, new)
        billed = scanned + measured.queries * prices.athena_min_bytes_per_query
        seconds = measured.silver_seconds.at(history, new)
        build += scanned
        silver_bytes += measured.silver_bytes.at(history, new)
        largest = max(largest, measured.largest_query_bytes.at(history, new))
        glue_longest = max(glue_longest, seconds)
        athena_usd += billed / 1e12 * prices.athena_usd_per_tb
        dpu_hours = (
            limits.glue_workers * prices.glue_dpu_per_worker * max(seconds, prices.glue_min_seconds) / 3600
        )
        glue_usd += dpu_hours * prices.glue_usd_per_dpu_hour
        gets += scanned / prices.s3_bytes_per_get
    puts = volume.runs_per_day * prices.s3_puts_per_run
    s3_usd = gets / 1000 * prices.s3_usd_per_1000_get + puts / 1000 * prices.s3_usd_per_1000_put
    return Day(
        day,
        day * volume.orders_per_day,
        build,
        largest,
        glue_longest,
        silver_bytes,
        athena_usd,
        glue_usd,
        s3_usd,
    )


def first_day_over(
    measured: Measured, volume: Volume, limits: Limits, horizon: int = 3650
) -> dict[str, int | None]:
    """The first day each limit is passed (None: not within `horizon` days): the largest query against the cutoff,
    a silver run against the Glue timeout, a month of days like it against the budget."""
    found: dict[str, int | None] = {
        "bytes_scanned_cutoff": None,
        "glue_timeout": None,
        "monthly_budget": None,
    }
    for day in range(1, horizon + 1):
        projected = project_day(measured, volume, limits, day)
        over = {
            "bytes_scanned_cutoff": projected.largest_query_bytes > limits.bytes_scanned_cutoff,
            "glue_timeout": projected.glue_seconds > limits.glue_timeout_minutes * 60,
            "monthly_budget": projected.usd * 30 > limits.monthly_budget_usd,
        }
        for name, passed in over.items():
            if passed and found[name] is None:
                found[name] = day
        if all(value is not None for value in found.values()):
            break
    return found


# limits that stop the pipeline when passed (Athena cancels the query, Glue stops the run); the budget only alarms
HARD_LIMITS = ("bytes_scanned_cutoff", "glue_timeout")


def binding_limit(found: dict[str, int | None]) -> tuple[str, int] | None:
    """The hard limit passed first, and on which day; None when none is within the horizon."""
    passed = [(day, name) for name, day in found.items() if day is not None and name in HARD_LIMITS]
    return (min(passed)[1], min(passed)[0]) if passed else None


def measured_from_results(reports: Sequence[dict[str, Any]]) -> Measured:
    """The lines through the bench results of several sizes (bench/results/bench_<rows>_*.json): gold's incremental
    build (the whole build, and its largest reader: a node's bytes bound its largest query's) and silver's
    incremental run, each against the year of orders it was added to."""
    with_bytes = sorted((r for r in reports if r.get("gold_bytes")), key=lambda r: r["rows"])
    if not with_bytes:
        raise ValueError("no bench result holds gold's bytes: run `make bench` first")
    build, largest, silver = [], [], []
    for report in with_bytes:
        incremental = report["gold_bytes"]["incremental"]
        day = report["day_rows"]
        build.append(Point(report["rows"], day, incremental["total_bytes"]))
        largest.append(Point(report["rows"], day, max(incremental["by_node"].values())))
        stages = {r["stage"]: r for r in report["results"]}
        silver.append(Point(report["rows"], day, stages["silver incremental"]["median_s"]))
    # silver's seconds per new order: its full refresh's time per order at the largest size (the bench's day is
    # too small to separate it from Spark's start)
    largest_report = {r["stage"]: r for r in with_bytes[-1]["results"]}
    per_new = largest_report["silver"]["us_per_row"] / 1e6
    day_rows = with_bytes[-1]["day_rows"]
    fixed = fit([Point(p.history, p.new, p.value - per_new * p.new) for p in silver])
    silver_line = Line(fixed.per_new * day_rows, per_new, fixed.per_history)
    queries = max(r["gold_bytes"]["incremental"].get("queries", 0) for r in with_bytes)
    return Measured(fit(build), fit(largest), queries, silver_line, tuple(r["rows"] for r in with_bytes))


def measured_from_history(history: dict[str, Any], silver_seconds: Line) -> Measured:
    """The lines through the history bench's histories (bench/history_growth.py: the same new day on a short
    and a long history at one daily volume), against the orders of history each run met. The bench's new day is
    a day of orders; what the lines give it is spread over its orders, as :func:`fit` does. Silver's seconds:
    ``silver_seconds`` (the history bench's runs are timed on a loaded machine: the caller passes the line of
    `make bench`'s quiet runs)."""
    runs = [h for h in history["histories"] if "gold" in h]
    if not runs:
        raise ValueError("the history bench result holds no gold figures: run it without --silver-only")
    day = history["daily"]
    gold = [(h["history_orders"], h["gold"]) for h in runs]
    build = fit([Point(orders, day, g["incremental_bytes"]) for orders, g in gold])
    largest = fit([Point(orders, day, g["largest_node_bytes"]) for orders, g in gold])
    silver = [(h["history_orders"], h["silver"]) for h in runs]
    silver_bytes = fit([Point(orders, day, s["total_bytes"]) for orders, s in silver])
    queries = max(g["queries"] for _, g in gold)
    sizes = tuple(orders for orders, _ in gold)
    source = f"the history bench ({history['measured_at']}, {day:,} orders a day)"
    return Measured(build, largest, queries, silver_seconds, sizes, silver_bytes, source)


_PARAMETER = re.compile(r"^  (\w+):\n(?:    .*\n)*?    Default: (.+)$", re.MULTILINE)


def limits_from_infra(template: Path = TEMPLATE, parameters: Path = PROD_PARAMETERS) -> tuple[Volume, Limits]:
    """The production volume and limits: the template's parameter defaults, overridden by the parameter file;
    the Glue job's Timeout from the template."""
    text = template.read_text(encoding="utf-8")
    values = {name: default.strip().strip('"') for name, default in _PARAMETER.findall(text)}
    values.update(json.loads(parameters.read_text(encoding="utf-8"))["Parameters"])
    timeout = re.search(r"^      WorkerType: .*\n(?:      .*\n)*?      Timeout: (\d+)$", text, re.MULTILINE)
    if timeout is None:
        raise ValueError(f"{template}: no Timeout on the Glue job (WorkerType ... Timeout)")
    runs = runs_per_day(values["PipelineSchedule"])
    volume = Volume(int(values["IngestRowsPerRun"]), runs)
    limits = Limits(
        int(values["AthenaBytesScannedCutoff"]),
        int(timeout.group(1)),
        int(values["SilverWorkers"]),
        float(values["MonthlyBudgetUSD"]),
    )
    return volume, limits


def runs_per_day(schedule: str) -> int:
    """Runs a day of an EventBridge cron whose hour field is `*` (hourly) or a list of hours; rate() in hours."""
    rate = re.fullmatch(r"rate\((\d+) hours?\)", schedule)
    if rate:
        return HOURS_PER_DAY // int(rate.group(1))
    cron = re.fullmatch(r"cron\((\S+) (\S+) .*\)", schedule)
    if cron is None:
        raise ValueError(f"schedule {schedule!r}: not a cron() or rate(N hours) expression")
    hours = cron.group(2)
    return HOURS_PER_DAY if hours == "*" else len(hours.split(","))


# what moves each limit, or the figure against it
SETTINGS = {
    "bytes_scanned_cutoff": "AthenaBytesScannedCutoff in the parameter file",
    "glue_timeout": "the Glue job's Timeout in infra/lakehouse.yaml, or more SilverWorkers",
    "monthly_budget": "MonthlyBudgetUSD in the parameter file",
}


def _gb(n: float) -> str:
    return f"{n / 1e9:,.1f} GB"


def render_table(measured: Measured, volume: Volume, limits: Limits, days: Sequence[int] = DAYS) -> str:
    """The projection as a Markdown table, with the limit that binds first."""
    cutoff, timeout = limits.bytes_scanned_cutoff, limits.glue_timeout_minutes * 60
    lines = [
        f"Projected at {volume.orders_per_run:,} orders a run, {volume.runs_per_day} runs a day "
        f"({volume.orders_per_day:,} orders a day), from {measured.source} at "
        + ", ".join(f"{rows:,}" for rows in measured.sizes)
        + " orders of history:",
        "",
        "| day | history | gold reads a day | largest query | vs cutoff | silver reads a day | silver run "
        "| vs Glue timeout | Athena USD | Glue USD | S3 USD | USD a day |",
        "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for day in days:
        d = project_day(measured, volume, limits, day)
        lines.append(
            f"| {d.day} | {d.history_at_end:,} | {_gb(d.build_bytes)} | {_gb(d.largest_query_bytes)} | "
            f"{d.largest_query_bytes / cutoff:.0%} | {_gb(d.silver_bytes)} | {d.glue_seconds:,.0f} s | "
            f"{d.glue_seconds / timeout:.0%} | "
            f"{d.athena_usd:.2f} | {d.glue_usd:.2f} | {d.s3_usd:.2f} | {d.usd:.2f} |"
        )
    found = first_day_over(measured, volume, limits)
    binding = binding_limit(found)
    lines.append("")
    if binding is None:
        last = project_day(measured, volume, limits, days[-1])
        shares = {
            "the largest query, of the workgroup's per-query cutoff": last.largest_query_bytes / cutoff,
            "the silver run, of the Glue job's timeout": last.glue_seconds / timeout,
        }
        nearest = max(shares, key=lambda k: shares[k])
        lines.append(
            "No limit that stops the pipeline is passed within ten years. The figure nearest its limit on day "
            f"{days[-1]:,}: {nearest} ({shares[nearest]:.0%})."
        )
    else:
        name, day = binding
        names = {
            "bytes_scanned_cutoff": f"the workgroup's per-query cutoff ({cutoff / 2**30:,.0f} GiB)",
            "glue_timeout": f"the Glue job's timeout ({limits.glue_timeout_minutes} min)",
            "monthly_budget": f"the monthly budget's alarm ({limits.monthly_budget_usd:,.0f} USD)",
        }
        others = ", ".join(
            f"{names[n]} on day {d:,}" if d else f"{names[n]} not within ten years"
            for n, d in found.items()
            if n != name
        )
        lines.append(
            f"Binding limit: {names[name]}, passed on day {day:,} (the setting that moves it: {SETTINGS[name]}); "
            f"{others}."
        )
    return "\n".join(lines)
