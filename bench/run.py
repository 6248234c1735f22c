"""`make bench`: every stage of the real pipeline timed beside a DuckDB baseline doing the same work, in one run.

Each measurement is a separate process (the real `lakehouse` command, or `python -m bench.baseline`), timed by
wall clock and sampled for the peak resident memory of its whole process tree (the Spark JVM included). Each is
repeated (median reported) and the ratio stage / baseline is printed, so the figures hold on a noisy machine.

Each gold run (full refresh, incremental) is also run once more, untimed, with DuckDB profiling every query dbt
sends: the bytes it reads (bench/gold_bytes.py) stand for what Athena would scan and bill.

The incremental rows add the same day (DAY_ROWS orders, fixed seed, whatever --rows) on the year of --rows orders
and, in the same run, on a year of HISTORY_ROWS orders: their ratio says how the cost of a day grows with history.
--days shortens the "year" (default 365 daily files): the smoke test (tests/benchmarks) runs every stage on a few days.

    python -m bench.run --rows 1000000 [--repeat 3] [--workdir DIR] [--day-rows 27397] [--history-rows 1000000]
        [--days 365]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import json
import logging
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import psutil

log = logging.getLogger("bench")
REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
YEAR_START = dt.date(2025, 1, 1)
YEAR_DAYS = 365
# a day of a 10M-order year: the same day on every history, so the days compare
DAY_ROWS = 27_397
# the reference history the day is also run on
HISTORY_ROWS = 1_000_000
STATE_DIRS = ("silver", "_state", "warehouse.duckdb")
TOP_READERS = 10
# Disk a run needs per order at its peak: the lake, the two incremental snapshots, the baselines' outputs and the
# whole-pipeline lake, with room for DuckDB's and Spark's spill (the per-layer sizes: bench/README.md).
DISK_BYTES_PER_ROW = 600
DISK_HEADROOM = 2 * 2**30


class BenchError(RuntimeError):
    """The bench cannot run, or a stage failed: one line that says why."""


@dataclass
class Measurement:
    seconds: list[float] = field(default_factory=list)
    peak_mb: list[float] = field(default_factory=list)

    @property
    def median_s(self) -> float:
        return statistics.median(self.seconds)

    @property
    def peak(self) -> float:
        return max(self.peak_mb)


@dataclass
class Row:
    stage: str
    work: str
    run: Measurement
    baseline_name: str
    baseline: Measurement | None
    # the orders the stage processes: time per row (us) is median_s / rows
    rows: int = 0

    def as_dict(self) -> dict[str, object]:
        ratio = self.run.median_s / self.baseline.median_s if self.baseline else None
        return {
            "stage": self.stage,
            "work": self.work,
            "rows": self.rows,
            "median_s": round(self.run.median_s, 2),
            "us_per_row": round(self.run.median_s / self.rows * 1e6, 3) if self.rows else None,
            "runs_s": [round(s, 2) for s in self.run.seconds],
            "peak_mb": round(self.run.peak),
            "baseline": self.baseline_name,
            "baseline_median_s": round(self.baseline.median_s, 2) if self.baseline else None,
            "baseline_peak_mb": round(self.baseline.peak) if self.baseline else None,
            "ratio": round(ratio, 2) if ratio else None,
        }


def tree_rss(root: psutil.Process) -> int:
    """The resident memory of a process and its descendants. A child still running its parent's program (forked,
    not yet exec'd: the JVM spawns ``chmod`` and the like this way, hundreds of times in a silver run) shares its
    parent's pages and reports the parent's whole RSS: it is counted once, as the parent."""
    total = root.memory_info().rss
    for child in root.children(recursive=True):
        try:
            parent = child.parent()
            if parent is None or child.cmdline() != parent.cmdline():
                total += child.memory_info().rss
        except psutil.Error:
            pass
    return total


def timed(cmd: Sequence[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Run a command; return its wall time and the peak RSS (MiB) of it and every process it started."""
    started = time.perf_counter()
    proc = psutil.Popen(list(cmd), cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            with contextlib.suppress(psutil.Error):
                peak = max(peak, tree_rss(proc))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    if proc.returncode != 0:
        tail = err.decode(errors="replace").strip().splitlines()[-20:]
        log.error("%s", "\n".join(tail))
        last = tail[-1] if tail else "no error output"
        raise BenchError(f"bench: {' '.join(cmd[-6:])} exited {proc.returncode}: {last}")
    return elapsed, peak / 2**20


def measure(repeat: int, cmd: Sequence[str], before: Callable[[], None] | None = None) -> Measurement:
    result = Measurement()
    for _ in range(repeat):
        if before:
            before()
        seconds, peak = timed(cmd)
        result.seconds.append(seconds)
        result.peak_mb.append(peak)
        log.info("  %-60s %7.2f s  %6.0f MiB", " ".join(cmd[-6:])[:60], seconds, peak)
    return result


def _reset(*paths: Path) -> Callable[[], None]:
    def reset() -> None:
        for path in paths:
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)

    return reset


def _copy_state(src: Path, dst: Path) -> None:
    """Copy the lake's state (silver, the job's bookmark, the warehouse) from one folder to another."""
    for name in STATE_DIRS:
        if (src / name).is_dir():
            shutil.copytree(src / name, dst / name)
        elif (src / name).exists():
            shutil.copy2(src / name, dst / name)


def _snapshot(lake: Path, into: Path) -> None:
    shutil.rmtree(into, ignore_errors=True)
    into.mkdir(parents=True)
    _copy_state(lake, into)


def _restore(snapshot: Path, lake: Path) -> Callable[[], None]:
    def restore() -> None:
        _reset(*(lake / name for name in STATE_DIRS))()
        _copy_state(snapshot, lake)

    return restore


def landed(day: dt.date) -> dt.datetime:
    """When the Lambda lands a day's orders: 02:00 UTC the next day."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(2), tzinfo=dt.UTC)


def new_day_date(days: int) -> dt.date:
    """The incremental runs' new day: the day after the last day of history."""
    return YEAR_START + dt.timedelta(days=days)


def backfill_year(lake: Path, rows: int, days: int = YEAR_DAYS) -> None:
    """Bronze as a year of daily ingestion would leave it: each day's orders in its own file, stamped as landed the
    next night. The incremental marts' lookback then covers the last few days, as in production, instead of the
    whole year (which a one-shot ingest, every file stamped with the same minute, would make it)."""
    from ingestion.local import ingest_to_lake

    _reset(lake / "bronze")()
    for i in range(days):
        day = YEAR_START + dt.timedelta(days=i)
        share = rows // days + (1 if i < rows % days else 0)
        ingest_to_lake(
            lake, rows=share, days=1, start_date=day, seed=1, progress=False, ingested_at=landed(day)
        )


def duckdb_settings(lake: Path) -> dict[str, str]:
    """DuckDB's limits in this run: the local dbt profile's and the baselines' (same variables, same defaults)."""
    from bench.baselines.duckdb_config import settings

    return {k: v for k, v in settings(lake).items() if k != "temp_directory"}


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in ("pyspark", "duckdb", "dbt-core", "dbt-duckdb", "pyarrow", "numpy"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "absent"
    return found


def gold_bytes(lake: Path, out: Path, *, full_refresh: bool) -> dict[str, object]:
    """One profiled, untimed `dbt build` on the lake: the bytes it reads (bench/gold_bytes.py), top readers only."""
    flag = ["--full-refresh"] if full_refresh else []
    timed([sys.executable, "-m", "bench.gold_bytes", "--lake", str(lake), *flag, "--out", str(out)])
    result = json.loads(out.read_text())
    result["by_node"] = dict(list(result["by_node"].items())[:TOP_READERS])
    return result


@contextlib.contextmanager
def scratch_folder(workdir: Path | None, prefix: str) -> Iterator[Path]:
    """``workdir`` (kept), or a temporary folder removed afterwards."""
    scratch = workdir or Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield scratch
    finally:
        if workdir is None:
            shutil.rmtree(scratch, ignore_errors=True)


def check_disk(workdir: Path, rows: int) -> None:
    """Refuse to start a run that would fill the disk hours in."""
    need = rows * DISK_BYTES_PER_ROW + DISK_HEADROOM
    existing = next(p for p in (workdir, *workdir.parents) if p.exists())
    free = shutil.disk_usage(existing).free
    if free < need:
        raise BenchError(
            f"bench: {rows:,} rows need about {need / 2**30:.0f} GiB free under {existing}, only "
            f"{free / 2**30:.0f} GiB are: free some space, or pass --workdir on a larger disk"
        )


def new_day(day_rows: int, days: int = YEAR_DAYS) -> list[str]:
    """`lakehouse ingest` arguments of the incremental runs' new day: the same rows whatever the history."""
    date = new_day_date(days)
    day = ["--rows", str(day_rows), "--days", "1", "--start-date", date.isoformat(), "--seed", "2"]
    return [*day, "--ingested-at", landed(date).isoformat()]


def silver_day_on_history(
    lakehouse: list[str], history_rows: int, day_rows: int, repeat: int, workdir: Path, days: int = YEAR_DAYS
) -> Measurement:
    """The incremental silver run of the new day on a year of ``history_rows`` orders (built untimed)."""
    lake, snapshot = workdir / "history", workdir / "history-snapshot"
    backfill_year(lake, history_rows, days)
    timed([*lakehouse, "silver", "--lake", str(lake), "--full-refresh"])
    _snapshot(lake, snapshot)
    timed([*lakehouse, "ingest", "--lake", str(lake), *new_day(day_rows, days)])
    result = measure(repeat, [*lakehouse, "silver", "--lake", str(lake)], before=_restore(snapshot, lake))
    _reset(lake, snapshot)()
    return result


def run_bench(
    rows: int,
    repeat: int,
    workdir: Path,
    *,
    day_rows: int = DAY_ROWS,
    history_rows: int = HISTORY_ROWS,
    days: int = YEAR_DAYS,
) -> dict[str, object]:
    py = sys.executable
    lakehouse = [py, "-m", "lakehouse.cli", "-q"]
    baseline = [py, "-m", "bench.baseline"]
    lake, base = workdir / "lake", workdir / "baseline"
    base.mkdir(parents=True, exist_ok=True)
    year = ["--rows", str(rows), "--days", str(days), "--start-date", YEAR_START.isoformat(), "--seed", "1"]
    rows_out: list[Row] = []

    log.info("ingest: %s rows over %d days", f"{rows:,}", days)
    ingest = measure(
        repeat, [*lakehouse, "ingest", "--lake", str(lake), *year], before=_reset(lake / "bronze")
    )
    ingest_base = measure(
        repeat, [*baseline, "ingest", "--out", str(base / "orders.csv"), "--rows", str(rows)]
    )
    _reset(base / "orders.csv")()
    rows_out.append(
        Row(
            "ingest",
            f"{rows:,} orders -> bronze CSV",
            ingest,
            "DuckDB COPY of generated rows",
            ingest_base,
            rows,
        )
    )

    log.info("bronze: the same year as %d daily files, each stamped as landed the next night", days)
    backfill_year(lake, rows, days)

    log.info("silver: full refresh")
    silver = measure(repeat, [*lakehouse, "silver", "--lake", str(lake), "--full-refresh"])
    silver_base = measure(
        repeat,
        [*baseline, "silver", "--bronze", str(lake / "bronze" / "orders"), "--out", str(base / "silver")],
        before=_reset(base / "silver"),
    )
    _reset(base / "silver")()
    rows_out.append(
        Row(
            "silver",
            "bronze -> silver (full refresh)",
            silver,
            "DuckDB streaming SQL, same rules",
            silver_base,
            rows,
        )
    )

    log.info("gold: dbt build, full refresh")
    gold = measure(repeat, [*lakehouse, "gold", "--lake", str(lake), "--full-refresh"])
    gold_base = measure(
        repeat,
        [*baseline, "gold", "--silver", str(lake / "silver"), "--db", str(base / "gold.duckdb")],
        before=_reset(base / "gold.duckdb"),
    )
    _reset(base / "gold.duckdb")()
    rows_out.append(
        Row(
            "gold",
            "dbt build (models + tests), full refresh",
            gold,
            "DuckDB SQL, same marts",
            gold_base,
            rows,
        )
    )
    log.info("gold: bytes read by a full refresh (profiled, untimed)")
    read_full = gold_bytes(lake, workdir / "bytes-full.json", full_refresh=True)

    log.info("incremental: one new day (%s rows) on top of the year", f"{day_rows:,}")
    snapshot = workdir / "snapshot"
    _snapshot(lake, snapshot)
    timed([*lakehouse, "ingest", "--lake", str(lake), *new_day(day_rows, days)])
    inc_silver = measure(repeat, [*lakehouse, "silver", "--lake", str(lake)], before=_restore(snapshot, lake))
    rows_out.append(
        Row(
            "silver incremental",
            "one new day on a year of silver",
            inc_silver,
            "silver full refresh",
            silver,
            day_rows,
        )
    )
    log.info("incremental: the same day on a year of %s orders", f"{history_rows:,}")
    on_history = silver_day_on_history(lakehouse, history_rows, day_rows, repeat, workdir, days)
    rows_out.append(
        Row(
            "silver incremental, history growth",
            f"the day on {rows:,} / on {history_rows:,} orders",
            inc_silver,
            f"the same day on {history_rows:,} orders",
            on_history,
            day_rows,
        )
    )
    after_silver = workdir / "snapshot-day"
    _snapshot(lake, after_silver)
    # gold's state is the warehouse as it was before the day: restore it, keep the day's silver.
    shutil.copy2(snapshot / "warehouse.duckdb", after_silver / "warehouse.duckdb")
    inc_gold = measure(repeat, [*lakehouse, "gold", "--lake", str(lake)], before=_restore(after_silver, lake))
    rows_out.append(
        Row(
            "gold incremental", "one new day on a year of gold", inc_gold, "gold full refresh", gold, day_rows
        )
    )
    log.info("gold: bytes read by the incremental run (profiled, untimed)")
    _restore(after_silver, lake)()
    read_incremental = gold_bytes(lake, workdir / "bytes-incremental.json", full_refresh=False)
    _reset(snapshot, after_silver)()

    log.info("whole pipeline: lakehouse run on an empty lake")
    fresh = workdir / "fresh"
    whole = measure(repeat, [*lakehouse, "run", "--lake", str(fresh), *year], before=_reset(fresh))
    _reset(fresh)()
    whole_base = Measurement(
        seconds=[
            a + b + c
            for a, b, c in zip(ingest_base.seconds, silver_base.seconds, gold_base.seconds, strict=True)
        ],
        peak_mb=[
            max(a, b, c)
            for a, b, c in zip(ingest_base.peak_mb, silver_base.peak_mb, gold_base.peak_mb, strict=True)
        ],
    )
    rows_out.append(
        Row("lakehouse run", "ingest + silver + gold", whole, "sum of the three baselines", whole_base, rows)
    )

    return {
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "rows": rows,
        "day_rows": day_rows,
        "history_rows": history_rows,
        "days": days,
        "repeat": repeat,
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30),
        "platform": platform.platform(),
        "versions": versions(),
        "duckdb_settings": duckdb_settings(lake),
        "results": [row.as_dict() for row in rows_out],
        "gold_bytes": {"full": read_full, "incremental": read_incremental},
    }


def _mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


def render(report: dict[str, object]) -> str:
    header = ["stage", "rows", "median s", "us/row", "peak MiB", "baseline", "baseline s", "ratio"]
    lines = [
        f"rows={report['rows']:,}  repeat={report['repeat']} (median)  cores={report['cores']}  "
        f"memory={report['memory_gb']} GiB  " + " ".join(f"{k}={v}" for k, v in report["versions"].items()),
        "DuckDB: " + ", ".join(f"{k}={v}" for k, v in report.get("duckdb_settings", {}).items()),
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" if h in ("stage", "baseline") else "--:" for h in header) + "|",
    ]
    for r in report["results"]:
        per_row = f"{r['us_per_row']:.2f}" if r.get("us_per_row") is not None else "-"
        lines.append(
            f"| {r['stage']} | {r.get('rows', 0):,} | {r['median_s']:.2f} | {per_row} | {r['peak_mb']:,} | "
            f"{r['baseline']} | {r['baseline_median_s']:.2f} | {r['ratio']:.2f}x |"
        )
    read = report.get("gold_bytes")
    if read:
        lines += [
            "",
            "Bytes gold reads (DuckDB's profile of every query; on Athena, the scanned bytes it bills):",
            "",
            "| gold run | total | models | data tests | hooks | vs full refresh |",
            "|---|--:|--:|--:|--:|--:|",
        ]
        full = read["full"]["total_bytes"]
        for name, run in (("full refresh", read["full"]), ("incremental", read["incremental"])):
            kinds = run["by_kind"]
            lines.append(
                f"| {name} | {_mb(run['total_bytes'])} | {_mb(kinds.get('model', 0))} | "
                f"{_mb(kinds.get('test', 0))} | {_mb(kinds.get('hooks', 0))} | "
                f"{run['total_bytes'] / full:.2f}x |"
            )
        top = list(read["incremental"]["by_node"].items())[:5]
        lines += [
            "",
            "Largest readers, incremental: " + ", ".join(f"{n.split('.')[2]} {_mb(b)}" for n, b in top),
        ]
    return "\n".join(lines)


def write(report: dict[str, object], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"bench_{report['rows']}_{report['measured_at'].replace(':', '')}"
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    with stem.with_suffix(".csv").open("w", newline="") as handle:
        writer = csv.DictWriter(
            handle, fieldnames=[k for k in report["results"][0] if k != "runs_s"], extrasaction="ignore"
        )
        writer.writeheader()
        writer.writerows(report["results"])
    (out / f"latest_{report['rows']}.md").write_text(render(report) + "\n")
    return stem


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="orders in the year of data (default 1M)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is reported")
    parser.add_argument(
        "--day-rows", type=int, default=DAY_ROWS, help=f"orders of the incremental day (default {DAY_ROWS:,})"
    )
    parser.add_argument(
        "--history-rows",
        type=int,
        default=HISTORY_ROWS,
        help=f"the other history the same day is run on (default {HISTORY_ROWS:,})",
    )
    parser.add_argument(
        "--days",
        type=int,
        default=YEAR_DAYS,
        help=f"days of history, one bronze file each (default {YEAR_DAYS}: a year; the smoke test runs a few)",
    )
    parser.add_argument(
        "--workdir", type=Path, help="scratch folder (default: a temporary one, removed after)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the CSV/JSON results go")
    args = parser.parse_args(argv)
    if min(args.rows, args.history_rows) < 1000 or min(args.repeat, args.day_rows, args.days) < 1:
        parser.exit(
            2,
            "bench: error: --rows and --history-rows must be at least 1000, --repeat, --day-rows and --days 1 or "
            "more\n",
        )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    try:
        with scratch_folder(args.workdir, "lakehouse-bench-") as scratch:
            check_disk(scratch, args.rows)
            report = run_bench(
                args.rows,
                args.repeat,
                scratch,
                day_rows=args.day_rows,
                history_rows=args.history_rows,
                days=args.days,
            )
    except BenchError as exc:
        parser.exit(1, f"{exc}\n")
    stem = write(report, args.out)
    print(render(report))
    # a cycle at import time otherwise: bench.report reads this module's RESULTS
    from bench.report import newest_history_report, newest_per_size, render_cost

    history = newest_history_report(args.out)
    if history is not None:
        # the history bench (bench/history_growth.py) measures what a day costs as the history grows
        print("\n" + (args.out / "latest_history_growth.md").read_text())
    print("\n" + render_cost([json.loads(p.read_text()) for p in newest_per_size(args.out)], history))
    print(f"\nwritten: {stem}.json, {stem}.csv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
