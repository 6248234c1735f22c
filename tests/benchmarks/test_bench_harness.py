"""The bench harness itself (no timing assertions: benchmarks are not tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.run import REPO, Measurement, Row, render, timed, write

ALLOCATE_IN_GRANDCHILD = (
    "import subprocess, sys; subprocess.run([sys.executable, '-c', "
    "\"import time; block = bytearray(300 * 2**20); block[::4096] = b'x' * len(block[::4096]); time.sleep(0.5)\"], check=True)"
)


def test_peak_memory_counts_the_processes_a_stage_starts() -> None:
    # The Spark JVM is a child of the stage's process: its memory must be in the stage's peak.
    _, peak_mb = timed([sys.executable, "-c", ALLOCATE_IN_GRANDCHILD])
    assert peak_mb >= 300


def test_a_failing_stage_is_reported_with_its_stderr() -> None:
    try:
        timed([sys.executable, "-c", "import sys; sys.exit('boom')"])
    except RuntimeError as exc:
        assert "boom" in str(exc)
    else:
        raise AssertionError("a failing command must raise")


def test_report_is_written_as_json_csv_and_table(tmp_path: Path) -> None:
    run, base = Measurement([3.0, 1.0, 2.0], [10, 30, 20]), Measurement([1.0, 1.0, 1.0], [5, 5, 5])
    report = {
        "measured_at": "2026-11-25T00:00:00+00:00",
        "rows": 1000,
        "repeat": 3,
        "cores": 2,
        "memory_gb": 24,
        "platform": "test",
        "versions": {"python": "3.11"},
        "results": [Row("silver", "work", run, "duckdb", base).as_dict()],
    }
    assert report["results"][0]["median_s"] == 2.0 and report["results"][0]["ratio"] == 2.0
    assert report["results"][0]["peak_mb"] == 30
    stem = write(report, tmp_path)
    assert json.loads(stem.with_suffix(".json").read_text())["results"][0]["stage"] == "silver"
    assert stem.with_suffix(".csv").read_text().splitlines()[0].startswith("stage,work,median_s")
    assert "| silver | 2.00 | 30 | duckdb | 1.00 | 2.00x |" in render(report)


@pytest.mark.e2e
def test_bench_runs_end_to_end_on_a_tiny_lake(tmp_path: Path) -> None:
    """A smoke run of `make bench` itself (every stage and baseline once, on 1,000 rows): it must finish and
    report a ratio for every stage. The figures themselves are not asserted: benchmarks are not tests."""
    out = tmp_path / "results"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "--rows", "1000", "--repeat", "1",
         "--workdir", str(tmp_path / "work"), "--out", str(out)],
        capture_output=True, text=True, cwd=REPO, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    (report,) = [json.loads(p.read_text()) for p in out.glob("bench_1000_*.json")]
    stages = [r["stage"] for r in report["results"]]
    assert stages == ["ingest", "silver", "gold", "silver incremental", "gold incremental", "lakehouse run"]
    assert all(r["ratio"] and r["ratio"] > 0 and r["peak_mb"] > 0 for r in report["results"])
    assert (out / "latest_1000.md").read_text().count("x |") == len(stages)
