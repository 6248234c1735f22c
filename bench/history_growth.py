"""What one new day costs as the history grows in days at a constant daily volume, as in production.

The same new day (``--daily`` orders, and corrections of the last days' orders: some change a quantity, some move
an order to the next day) is added to a short history and to a long one (default 30 and 1,095 days, both at
27,397 orders a day: 0.8M and 30M orders). Each history is seeded (bench/history_seed.py: bronze, silver and the
bookmark as real runs leave them; the job's first run rebuilds the order index). Then, on each, the real stages:

- ``lakehouse silver``: its run file (``_runs/silver/<run_id>.json``) gives the bytes read through ``Storage``
  (outside Spark: index, state, bronze, reference), Spark's own input bytes, and the objects read;
- gold (``dbt build``, what ``lakehouse gold`` runs) profiled by bench/gold_bytes.py (Athena-like scanned bytes):
  the history's first, full build, then the new day's incremental build;

with gold's correction horizon and volume from infra/parameters/prod.json. The report divides the long history's
figures by the short one's and checks them against the acceptance bounds (``BOUNDS``).

    python -m bench.history_growth [--daily 27397] [--histories 30 1095] [--workdir DIR] [--silver-only]
    python -m bench.history_growth --combine FULL.json SILVER_ONLY.json

``--silver-only`` measures silver alone (gold's figures do not depend on how the silver job finds its rows);
``--combine`` puts such a run's silver figures beside an earlier run's gold ones (the earlier silver figures are
kept as ``silver_before``). A ``--workdir`` keeps each seeded history (``seed-<days>-<daily>``) for the next run.
Results: ``bench/results/history_growth_<time>.json`` and ``latest_history_growth.md``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

from bench.history_seed import BRONZE, history_days, landed
from bench.run import RESULTS, BenchError, check_disk, scratch_folder, timed, versions

log = logging.getLogger("bench.history_growth")
REPO = Path(__file__).resolve().parent.parent
PROD = REPO / "infra" / "parameters" / "prod.json"
DAILY = 27_397
HISTORIES = (30, 1_095)
# Landed in the past whatever the history: the new day is fixed, the histories end the day before it
NEW_DAY = dt.date(2026, 11, 1)
# corrections of the last days' orders, in the new day's landing: one in fifty orders of a day
CORRECTION_SHARE = 50
CORRECTION_DAYS = 7
# marks a seeded lake complete
SEEDED = ".seeded"
# long history / short history, at most; and the incremental day / full refresh on the long history
BOUNDS = {
    "silver_outside_spark": 1.2,
    "silver_total": 1.3,
    "gold_incremental": 1.3,
    "gold_incremental_vs_full": 0.10,
}


@dataclass(frozen=True)
class SilverFigures:
    """One incremental silver run's figures, from its run file."""

    outside_spark_bytes: int
    spark_input_bytes: int
    objects_read: int
    bytes_read_by_area: dict[str, int]
    seconds: float
    order_dates_touched: int
    superseded: int

    @property
    def total_bytes(self) -> int:
        return self.outside_spark_bytes + self.spark_input_bytes


@dataclass(frozen=True)
class GoldFigures:
    incremental_bytes: int
    full_refresh_bytes: int
    largest_node: str
    largest_node_bytes: int
    incremental_seconds: float
    full_refresh_seconds: float
    queries: int
    by_node: dict[str, int]


def correction_horizon_days(parameters: Path = PROD) -> str:
    return json.loads(parameters.read_text(encoding="utf-8"))["Parameters"]["CorrectionHorizonDays"]


def write_corrections(lake: Path, new_day: dt.date) -> Path:
    """The new day's corrections: one in ``CORRECTION_SHARE`` orders of each of the ``CORRECTION_DAYS`` days
    before it, sent again an hour after the new day landed; every other one with a quantity one higher (same
    order_date), the others moved to the next day. The same rows for every history (its last days are the same)."""
    rows: list[list[str]] = []
    header: list[str] = []
    for day in history_days(new_day, CORRECTION_DAYS):
        folder = lake / BRONZE / f"ingest_date={landed(day):%Y-%m-%d}"
        with next(folder.glob("*.csv")).open(newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            for n, row in enumerate(reader):
                if n % CORRECTION_SHARE == 0:
                    rows.append(row)
    quantity, order_date = header.index("quantity"), header.index("order_date")
    for n, row in enumerate(rows):
        if n % 2 == 0:
            row[quantity] = str(int(row[quantity]) + 1)
        else:
            row[order_date] = (dt.date.fromisoformat(row[order_date]) + dt.timedelta(days=1)).isoformat()
    stamp = landed(new_day) + dt.timedelta(hours=1)
    path = (
        lake
        / BRONZE
        / f"ingest_date={stamp:%Y-%m-%d}"
        / f"orders_lambda_{stamp:%Y%m%d_%H%M%S}_corrections.csv"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _run_file(lake: Path, before: set[Path]) -> dict[str, Any]:
    new = sorted(set((lake / "_runs" / "silver").glob("*.json")) - before)
    if len(new) != 1:
        raise BenchError(
            f"bench: expected one new silver run file under {lake}/_runs/silver, found {len(new)}"
        )
    return json.loads(new[0].read_text())


def silver_run(lakehouse: list[str], lake: Path) -> tuple[dict[str, Any], float]:
    """One ``lakehouse silver`` run: its run file and its wall time."""
    before = set((lake / "_runs" / "silver").glob("*.json"))
    seconds, _ = timed([*lakehouse, "silver", "--lake", str(lake)])
    return _run_file(lake, before), seconds


def seeded_at(workdir: Path, days: int, daily: int) -> Path:
    return workdir / f"seed-{days}-{daily}"


def start_seeding(workdir: Path, days: int, daily: int) -> subprocess.Popen[bytes] | None:
    """Seed a history in its own process (bench/history_seed.py), unless ``workdir`` holds it already: the
    histories are seeded side by side, and the first is measured while the longer ones are still seeded."""
    seeded = seeded_at(workdir, days, daily)
    # a seed linked from another --workdir is that one's to build: it is waited for
    if (seeded / SEEDED).exists() or seeded.is_symlink():
        return None
    shutil.rmtree(seeded, ignore_errors=True)
    seeded.mkdir(parents=True)
    cmd = [sys.executable, "-m", "bench.history_seed", "--lake", str(seeded), "--days", str(days), "--daily",
           str(daily), "--new-day", NEW_DAY.isoformat()]  # fmt: skip
    with (workdir / f"seed-{days}-{daily}.log").open("wb") as log_file:
        return subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=log_file)


def wait_for_seed(workdir: Path, days: int, daily: int, seeding: subprocess.Popen[bytes] | None) -> Path:
    seeded = seeded_at(workdir, days, daily)
    while seeding is None and not (seeded / SEEDED).exists():
        time.sleep(10)
    if seeding is not None:
        if seeding.wait() != 0:
            tail = (
                (workdir / f"seed-{days}-{daily}.log").read_text(errors="replace").strip().splitlines()[-1:]
            )
            raise BenchError(f"bench: seeding {days} days failed: {tail[0] if tail else 'no error output'}")
        (seeded / SEEDED).touch()
    return seeded


def prepare(lakehouse: list[str], lake: Path, seeded: Path, *, gold: bool) -> None:
    """The history as the pipeline leaves it: a copy of the seeded lake (kept for the next run in the same
    ``--workdir``), its order index rebuilt by a silver run, gold built."""
    shutil.copytree(seeded, lake, symlinks=True, ignore=shutil.ignore_patterns(SEEDED, "_tmp", "_runs"))
    warm, _ = silver_run(lakehouse, lake)
    if not warm["order_index_rebuilt"] or warm["rows_read"]:
        raise BenchError(
            f"bench: the first silver run on the seeded {lake} did not rebuild the order index alone"
        )
    if gold:
        # gold's first build is a full one: profiled, it is the full refresh's figure (of the history without
        # the new day: 1/30 and 1/1,095 fewer orders than a refresh after it)
        profile = lake.parent / f"full-{lake.name}.json"
        seconds, _ = timed(
            [
                sys.executable,
                "-m",
                "bench.gold_bytes",
                "--lake",
                str(lake),
                "--full-refresh",
                "--out",
                str(profile),
            ]
        )
        profile.write_text(json.dumps({**json.loads(profile.read_text()), "seconds": seconds}))


def add_new_day(lakehouse: list[str], lake: Path, daily: int) -> None:
    day = ["--rows", str(daily), "--days", "1", "--start-date", NEW_DAY.isoformat(), "--seed", "2"]
    timed([*lakehouse, "ingest", "--lake", str(lake), *day, "--ingested-at", landed(NEW_DAY).isoformat()])
    write_corrections(lake, NEW_DAY)


def silver_figures(run: dict[str, Any], seconds: float) -> SilverFigures:
    storage = run["storage"]
    return SilverFigures(
        storage["bytes_read"],
        run["spark_input_bytes"],
        storage["objects_read"],
        storage["bytes_read_by_area"],
        round(seconds, 2),
        run["partitions_touched"],
        run["superseded"],
    )


def gold_figures(lake: Path, work: Path, full: Path) -> GoldFigures:
    """Gold's incremental build of the new day, profiled (bench/gold_bytes.py) and timed, beside the history's
    full build (``full``: its profile)."""
    profile = [sys.executable, "-m", "bench.gold_bytes", "--lake", str(lake)]
    incremental_s, _ = timed([*profile, "--out", str(work / "incremental.json")])
    incremental = json.loads((work / "incremental.json").read_text())
    built = json.loads(full.read_text())
    node, largest = next(iter(incremental["by_node"].items()))
    return GoldFigures(
        incremental["total_bytes"],
        built["total_bytes"],
        node,
        largest,
        round(incremental_s, 2),
        round(built["seconds"], 2),
        incremental["queries"],
        dict(list(incremental["by_node"].items())[:12]),
    )


def measure_history(
    lakehouse: list[str], workdir: Path, days: int, daily: int, seeded: Path, *, gold: bool
) -> dict[str, Any]:
    lake = workdir / f"history-{days}"
    shutil.rmtree(lake, ignore_errors=True)
    log.info("history of %d days: rebuilding the index%s", days, ", building gold" if gold else "")
    prepare(lakehouse, lake, seeded, gold=gold)
    add_new_day(lakehouse, lake, daily)
    log.info("history of %d days: the new day's silver run", days)
    silver = silver_figures(*silver_run(lakehouse, lake))
    result: dict[str, Any] = {"days": days, "history_orders": days * daily, "silver": asdict(silver)}
    result["silver"]["total_bytes"] = silver.total_bytes
    if gold:
        log.info("history of %d days: gold incremental (profiled)", days)
        result["gold"] = asdict(gold_figures(lake, workdir, workdir / f"full-{lake.name}.json"))
    shutil.rmtree(lake, ignore_errors=True)
    return result


def ratios(short: dict[str, Any], long: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each acceptance figure: its value, its bound and whether it holds."""
    found = {
        "silver_outside_spark": long["silver"]["outside_spark_bytes"]
        / short["silver"]["outside_spark_bytes"],
        "silver_total": long["silver"]["total_bytes"] / short["silver"]["total_bytes"],
    }
    if "gold" in long and "gold" in short:
        found["gold_incremental"] = long["gold"]["incremental_bytes"] / short["gold"]["incremental_bytes"]
        found["gold_incremental_vs_full"] = (
            long["gold"]["incremental_bytes"] / long["gold"]["full_refresh_bytes"]
        )
    return {
        name: {"value": round(value, 3), "bound": BOUNDS[name], "pass": value <= BOUNDS[name]}
        for name, value in found.items()
    }


def run(workdir: Path, daily: int, histories: Sequence[int], *, gold: bool) -> dict[str, Any]:
    lakehouse = [sys.executable, "-m", "lakehouse.cli", "-q"]
    os.environ["DBT_CORRECTION_HORIZON_DAYS"] = correction_horizon_days()
    seeding = {days: start_seeding(workdir, days, daily) for days in histories}
    measured = []
    try:
        for days in histories:
            log.info("history of %d days: waiting for its seed", days)
            seeded = wait_for_seed(workdir, days, daily, seeding[days])
            measured.append(measure_history(lakehouse, workdir, days, daily, seeded, gold=gold))
    finally:
        for process in seeding.values():
            if process is not None and process.poll() is None:
                process.kill()
    return {
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "daily": daily,
        "new_day": NEW_DAY.isoformat(),
        "corrections": f"1 in {CORRECTION_SHARE} orders of the {CORRECTION_DAYS} days before the new day",
        "correction_horizon_days": int(os.environ["DBT_CORRECTION_HORIZON_DAYS"]),
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30),
        "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        "platform": platform.platform(),
        "versions": versions(),
        "histories": measured,
        "ratios": ratios(measured[0], measured[-1]),
    }


def with_silver_of(full: dict[str, Any], silver: dict[str, Any]) -> dict[str, Any]:
    """``full``'s gold figures with the silver figures of ``silver`` (a ``--silver-only`` run of the same day and
    histories, e.g. after a change to the silver job: gold's figures do not depend on how the job finds its
    rows); ``full``'s own silver figures are kept as ``silver_before``."""
    if (full["daily"], full["new_day"]) != (silver["daily"], silver["new_day"]) or [
        h["days"] for h in full["histories"]
    ] != [h["days"] for h in silver["histories"]]:
        raise BenchError("bench: the two results measured different days or histories: they do not combine")
    histories = [
        {**h, "silver": s["silver"], "silver_before": h["silver"]}
        for h, s in zip(full["histories"], silver["histories"], strict=True)
    ]
    return {
        **full,
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "silver_measured_at": silver["measured_at"],
        "gold_measured_at": full["measured_at"],
        "histories": histories,
        "ratios": ratios(histories[0], histories[-1]),
        "ratios_before": full["ratios"],
    }


def _mb(n: float) -> str:
    return f"{n / 1e6:,.2f} MB"


def render(report: dict[str, Any]) -> str:
    histories = report["histories"]
    head = "| figure | " + " | ".join(
        f"{h['days']:,} days ({h['history_orders']:,} orders)" for h in histories
    )
    lines = [
        f"The same new day ({report['daily']:,} orders, {report['corrections']}) on each history, "
        f"{report['daily']:,} orders a day; gold's correction horizon {report['correction_horizon_days']} days. "
        f"Times on a shared {report['cores']}-core machine (load {report['load_average_1m_at_end']} at the end): "
        "noisy, compare bytes.",
        "",
        head + " |",
        "|---|" + "--:|" * len(histories),
    ]

    def row(name: str, cells: list[str]) -> None:
        lines.append(f"| {name} | " + " | ".join(cells) + " |")

    after = "silver after: " if all("silver_before" in h for h in histories) else "silver: "
    for key, label in (("silver_before", "silver before: "), ("silver", after)):
        if not all(key in h for h in histories):
            continue
        silver = [h[key] for h in histories]
        row(f"{label}bytes read outside Spark", [_mb(s["outside_spark_bytes"]) for s in silver])
        for area in sorted({a for s in silver for a in s["bytes_read_by_area"]}):
            row(f"&nbsp;&nbsp;of which {area}", [_mb(s["bytes_read_by_area"].get(area, 0)) for s in silver])
        row(f"{label}Spark's input bytes", [_mb(s["spark_input_bytes"]) for s in silver])
        row(f"{label}total bytes read", [_mb(s["total_bytes"]) for s in silver])
        row(f"{label}objects read", [f"{s['objects_read']:,}" for s in silver])
        row(f"{label}partitions rewritten", [str(s["order_dates_touched"]) for s in silver])
        row(f"{label}run, s", [f"{s['seconds']:.1f}" for s in silver])
    if all("gold" in h for h in histories):
        gold = [h["gold"] for h in histories]
        row("gold: incremental build scans", [_mb(g["incremental_bytes"]) for g in gold])
        row("gold: full refresh scans", [_mb(g["full_refresh_bytes"]) for g in gold])
        row(
            "gold: incremental / full refresh",
            [f"{g['incremental_bytes'] / g['full_refresh_bytes']:.1%}" for g in gold],
        )
        row(
            "gold: largest reader",
            [f"{g['largest_node'].split('.')[-1]} {_mb(g['largest_node_bytes'])}" for g in gold],
        )
        row("gold: incremental build (profiled), s", [f"{g['incremental_seconds']:.1f}" for g in gold])
        row("gold: full build (profiled), s", [f"{g['full_refresh_seconds']:.1f}" for g in gold])
    names = {
        "silver_outside_spark": "silver's bytes outside Spark, long / short",
        "silver_total": "silver's total bytes, long / short",
        "gold_incremental": "gold's incremental scan, long / short",
        "gold_incremental_vs_full": "gold's incremental / full refresh, long history",
    }
    before = report.get("ratios_before", {})
    lines += [
        "",
        "| acceptance | measured | bound | |" + (" before |" if before else ""),
        "|---|--:|--:|---|" + ("--:|" if before else ""),
    ]

    def shown(name: str, value: float) -> str:
        return f"{value:.1%}" if name == "gold_incremental_vs_full" else f"{value:.2f}x"

    for name, r in report["ratios"].items():
        bound = f"{r['bound']:.0%}" if name == "gold_incremental_vs_full" else f"{r['bound']:.1f}x"
        then = f" {shown(name, before[name]['value'])} |" if before else ""
        verdict = "pass" if r["pass"] else "FAIL"
        lines.append(f"| {names[name]} | {shown(name, r['value'])} | {bound} | {verdict} |{then}")
    return "\n".join(lines)


def write(report: dict[str, Any], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"history_growth_{report['measured_at'].replace(':', '')}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    (out / "latest_history_growth.md").write_text(render(report) + "\n")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench.history_growth", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--daily", type=int, default=DAILY, help=f"orders a day (default {DAILY:,})")
    parser.add_argument(
        "--histories", type=int, nargs=2, default=HISTORIES, metavar=("SHORT", "LONG"), help="days of history"
    )
    parser.add_argument(
        "--workdir", type=Path, help="scratch folder (default: a temporary one, removed after)"
    )
    parser.add_argument("--silver-only", action="store_true", help="measure silver alone, not gold")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON and Markdown results go")
    parser.add_argument(
        "--combine",
        type=Path,
        nargs=2,
        metavar=("FULL", "SILVER_ONLY"),
        help="measure nothing: FULL's gold figures with SILVER_ONLY's silver ones, written as a new result",
    )
    args = parser.parse_args(argv)
    if args.combine:
        full, silver = (json.loads(p.read_text()) for p in args.combine)
        try:
            report = with_silver_of(full, silver)
        except BenchError as exc:
            parser.exit(1, f"{exc}\n")
        print(render(report))
        print(f"\nwritten: {write(report, args.out)}")
        return 0
    short, long = args.histories
    if not 1 <= short < long or args.daily < CORRECTION_SHARE or short < CORRECTION_DAYS:
        parser.exit(
            2,
            f"bench.history_growth: error: --histories SHORT LONG with {CORRECTION_DAYS} <= SHORT < LONG, "
            f"--daily {CORRECTION_SHARE} or more\n",
        )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    try:
        with scratch_folder(args.workdir, "lakehouse-history-") as scratch:
            check_disk(scratch, long * args.daily)
            scratch.mkdir(parents=True, exist_ok=True)
            report = run(scratch, args.daily, (short, long), gold=not args.silver_only)
    except BenchError as exc:
        parser.exit(1, f"{exc}\n")
    path = write(report, args.out)
    print(render(report))
    print(f"\nwritten: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
