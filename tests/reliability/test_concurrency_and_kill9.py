"""Real processes: a second run while a first holds the lake, and `kill -9` (the kernel's, not a simulation).

One silver run is stopped in the middle of its commit (journal written, one partition swapped): a second silver
run and a gold run are refused with one line naming it; then it is killed with SIGKILL, which leaves silver
half-swapped: dbt refuses to build on it, `lakehouse gold` completes the commit first and builds. Another run
is killed while Spark writes its staging (before the journal): the next run discards it. Every lake ends with
exactly the rows of a run that nothing disturbed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from lakehouse.cli import main
from lakehouse.dbt import DbtError, run_dbt
from tests.reliability.conftest import Lakes
from tests.reliability.helpers import REPO, fingerprint, one_line, run_cli

pytestmark = [pytest.mark.spark, pytest.mark.dbt]
HOOKED = str(Path(__file__).with_name("hooked_silver.py"))


def _wait_for(marker: Path, process: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not marker.exists():
        if process.poll() is not None:
            raise AssertionError(
                f"the hooked run ended early:\n{process.stderr.read() if process.stderr else ''}"
            )
        if time.monotonic() > deadline:
            raise AssertionError("the hooked run never reached its pause")
        time.sleep(0.2)


def test_second_run_is_refused_then_kill_9_mid_commit_is_completed_by_gold(
    lakes: Lakes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = lakes.lake_with_day2(tmp_path / "lake")
    marker = tmp_path / "paused"
    first = subprocess.Popen(
        [sys.executable, HOOKED, str(lake), "pause-at-swap", "1", str(marker)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(marker, first)
        for command in ("silver", "gold"):
            assert main(["-q", command, "--lake", str(lake)]) == 1
            line = one_line(capsys.readouterr().err)
            assert f"lakehouse {command}: error: {command} failed: the lake is in use: silver run " in line
            assert f"pid {first.pid})" in line and "wait for it to finish" in line
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(60)
    assert first.returncode == -signal.SIGKILL

    # Killed mid-commit: the journal is there, one partition is new, the others old. dbt will not read that.
    assert len(list((lake / "silver" / "_staging").glob("*/_journal.json"))) == 1
    with pytest.raises(DbtError, match=r"silver has an unfinished commit .*run `lakehouse gold`"):
        run_dbt(["run", "--select", "stg_orders"], lake)

    assert main(["-q", "gold", "--lake", str(lake)]) == 0
    assert fingerprint(lake) == lakes.clean, "gold completed the killed run's commit before building"
    with duckdb.connect(str(lake / "warehouse.duckdb"), read_only=True) as con:
        built = con.execute("select count(*) from gold.fct_orders").fetchone()[0]
    assert built == lakes.clean.counts["silver_orders"]
    assert main(["-q", "silver", "--lake", str(lake)]) == 0
    assert fingerprint(lake) == lakes.clean, "the next silver run has nothing left to do"


def test_kill_9_while_spark_writes_the_staging(lakes: Lakes, tmp_path: Path) -> None:
    from glue_jobs.local import run_silver

    lake = lakes.lake_with_day2(tmp_path / "lake")
    before = fingerprint(lake)
    killed = run_cli(HOOKED, str(lake), "die-after-write", "1")
    assert killed.returncode == -signal.SIGKILL
    staged = list((lake / "silver" / "_staging").glob("*/silver_orders_rejected/*/*.parquet"))
    assert staged and not list((lake / "silver" / "_staging").glob("*/_journal.json"))
    assert fingerprint(lake) == before, "readers never see a run that did not reach its commit"

    rerun = run_silver(lake)  # the lease died with the process: nothing to wait for
    assert rerun.recovered_runs == [] and rerun.files_read == 2
    assert fingerprint(lake) == lakes.clean
    assert not any((lake / "silver" / "_staging").iterdir())
