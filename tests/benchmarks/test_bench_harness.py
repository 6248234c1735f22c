"""The bench harness itself (no timing assertions: benchmarks are not tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.report import render_sizes
from bench.run import REPO, BenchError, Measurement, Row, render, timed, write

ALLOCATE_IN_GRANDCHILD = (
    "import subprocess, sys; subprocess.run([sys.executable, '-c', "
    "\"import time; block = bytearray(300 * 2**20); block[::4096] = b'x' * len(block[::4096]); time.sleep(0.5)\"], check=True)"
)


def test_peak_memory_counts_the_processes_a_stage_starts() -> None:
    # The Spark JVM is a child of the stage's process: its memory must be in the stage's peak.
    _, peak_mb = timed([sys.executable, "-c", ALLOCATE_IN_GRANDCHILD])
    assert peak_mb >= 300


FORK_WITHOUT_EXEC = (
    "import os, time; block = bytearray(300 * 2**20); block[::4096] = b'x' * len(block[::4096]); pid = os.fork()\n"
    "if pid == 0:\n    time.sleep(1.0); os._exit(0)\nos.waitpid(pid, 0)"
)


def test_a_forked_child_sharing_its_parents_memory_is_counted_once() -> None:
    # The JVM spawns commands (chmod...) by forking: until the child execs, it reports its parent's whole RSS.
    _, peak_mb = timed([sys.executable, "-c", FORK_WITHOUT_EXEC])
    assert 300 <= peak_mb < 500


def test_a_failing_stage_is_reported_with_its_stderr() -> None:
    try:
        timed([sys.executable, "-c", "import sys; sys.exit('boom')"])
    except BenchError as exc:
        assert "boom" in str(exc) and "\n" not in str(exc)
    else:
        raise AssertionError("a failing command must raise")


def _report(rows: int, seconds: float, read: tuple[int, int] | None = None) -> dict:
    run, base = (
        Measurement([seconds * 1.5, seconds / 2, seconds], [10, 30, 20]),
        Measurement([1.0] * 3, [5] * 3),
    )
    report = {
        "measured_at": "2026-11-25T00:00:00+00:00",
        "rows": rows,
        "repeat": 3,
        "cores": 2,
        "memory_gb": 24,
        "platform": "test",
        "versions": {"python": "3.11"},
        "results": [Row("silver", "work", run, "duckdb", base, rows).as_dict()],
    }
    if read:
        report["gold_bytes"] = {
            name: {
                "total_bytes": n,
                "by_kind": {"model": n // 2, "test": n // 2},
                "by_node": {"test.p.t.1": n // 2},
            }
            for name, n in zip(("full", "incremental"), read, strict=True)
        }
    return report


def test_report_is_written_as_json_csv_and_table(tmp_path: Path) -> None:
    report = _report(1_000_000, 2.0, read=(400_000_000, 100_000_000))
    assert report["results"][0]["median_s"] == 2.0 and report["results"][0]["ratio"] == 2.0
    assert report["results"][0]["peak_mb"] == 30 and report["results"][0]["us_per_row"] == 2.0
    stem = write(report, tmp_path)
    assert json.loads(stem.with_suffix(".json").read_text())["results"][0]["stage"] == "silver"
    assert (
        stem.with_suffix(".csv").read_text().splitlines()[0].startswith("stage,work,rows,median_s,us_per_row")
    )
    table = render(report)
    assert "| silver | 1,000,000 | 2.00 | 2.00 | 30 | duckdb | 1.00 | 2.00x |" in table
    assert "| incremental | 100.0 MB | 50.0 MB | 50.0 MB | 0.0 MB | 0.25x |" in table


def test_the_size_table_shows_the_time_per_row_growth_between_the_two_largest_sizes() -> None:
    # 10M rows in 20 s, 30M in 66 s: 2.0 then 2.2 us per row, 1.10x.
    table = render_sizes([_report(30_000_000, 66.0, read=(300, 30)), _report(10_000_000, 20.0)])
    assert table.splitlines()[0].endswith("| us/row 30M / 10M |")
    assert "| silver | duckdb | 20.0 | 20.00x | 2.00 | 30 | 66.0 | 66.00x | 2.20 | 30 | 1.10 |" in table
    assert "| 30M | 0.0 MB | 0.0 MB | 0.0 MB | 0.0 MB | 0.10x |" in table


def test_a_run_the_disk_cannot_hold_stops_before_it_starts_with_one_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "--rows", str(10**15), "--workdir", str(tmp_path / "work")],
        capture_output=True, text=True, cwd=REPO, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "free some space, or pass --workdir" in proc.stderr, proc.stderr
    assert not (tmp_path / "work" / "lake").exists()


@pytest.mark.e2e
def test_bench_runs_end_to_end_on_a_tiny_lake(tmp_path: Path) -> None:
    """A smoke run of `make bench` itself (every stage and baseline once, on 1,000 rows over a week: the same
    stages as a year, a fraction of the files and partitions): it must finish and report a ratio for every stage,
    and run the same new day on the year and on the other history. The figures themselves are not asserted:
    benchmarks are not tests."""
    out = tmp_path / "results"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "--rows", "1000", "--repeat", "1",
         "--workdir", str(tmp_path / "work"), "--out", str(out), "--day-rows", "50", "--history-rows", "2000",
         "--days", "7"],
        capture_output=True, text=True, cwd=REPO, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    (report,) = [json.loads(p.read_text()) for p in out.glob("bench_1000_*.json")]
    stages = [r["stage"] for r in report["results"]]
    assert stages == [
        "ingest", "silver", "gold", "silver incremental", "silver incremental, history growth", "gold incremental",
        "lakehouse run",
    ]  # fmt: skip
    day = {r["stage"]: r for r in report["results"]}
    assert (report["day_rows"], report["history_rows"], report["days"]) == (50, 2000, 7)
    assert day["silver incremental"]["rows"] == day["silver incremental, history growth"]["rows"] == 50
    assert day["silver incremental, history growth"]["baseline"] == "the same day on 2,000 orders"
    assert all(
        r["ratio"] and r["ratio"] > 0 and r["peak_mb"] > 0 and r["us_per_row"] > 0 for r in report["results"]
    )
    for run in ("full", "incremental"):
        read = report["gold_bytes"][run]
        assert read["by_kind"]["model"] > 0 and read["by_kind"]["test"] > 0, run
        assert read["total_bytes"] == sum(read["by_kind"].values()), run
    assert (out / "latest_1000.md").read_text().count("x |") == len(stages) + 2


def test_the_baselines_run_under_the_duckdb_limits_of_the_dbt_profile() -> None:
    """The same variables and defaults, so a baseline and the stage it is compared with share a memory budget."""
    from bench.baselines.duckdb_config import DEFAULTS

    profile = (REPO / "profiles" / "profiles.yml").read_text()
    for setting, variable in (("memory_limit", "DUCKDB_MEMORY_LIMIT"), ("threads", "DUCKDB_THREADS")):
        assert f"{setting}: \"{{{{ env_var('{variable}', '{DEFAULTS[setting]}') }}}}\"" in profile, setting
    assert "temp_directory: \"{{ env_var('DUCKDB_TEMP_DIRECTORY'" in profile


def test_a_baseline_can_spill_into_a_fresh_output_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DuckDB creates only the last level of its spill folder: the baselines' connection creates the rest."""
    from bench.baselines.duckdb_config import connect

    monkeypatch.setenv("DUCKDB_MEMORY_LIMIT", "64MB")
    monkeypatch.delenv("DUCKDB_TEMP_DIRECTORY", raising=False)
    with connect(temp_root=tmp_path / "out") as con:
        query = "select count(*) from (select range, random() as r from range(4000000) order by r)"
        assert con.execute(query).fetchone() == (4_000_000,)
