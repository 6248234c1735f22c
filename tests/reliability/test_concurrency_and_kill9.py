"""Two runs at once, `kill -9` (the kernel's, not a simulation), and gold on a half-applied commit.

A silver run in its own process is stopped while it writes its staging: a second silver run and a gold run are
refused with one line naming it (they do not discard its staging as an interrupted run's); then it is killed
with SIGKILL: nothing of it is visible, and the next run (the lease died with the process) makes the clean lake.
A run that dies during its commit leaves silver half-swapped: dbt refuses to build on it, `lakehouse gold`
completes the commit first. Every lake ends with exactly the rows of a run that nothing disturbed."""

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
from tests.reliability.helpers import REPO, Lakes, die_during_commit, fingerprint, one_line

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


def test_a_second_run_is_refused_while_the_first_writes_and_kill_9_leaves_nothing_visible(
    lakes: Lakes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from glue_jobs.local import run_silver

    lake = lakes.lake_with_day2(tmp_path / "lake")
    before = fingerprint(lake)
    marker = tmp_path / "paused"
    first = subprocess.Popen(
        [sys.executable, HOOKED, str(lake), "pause-after-write", "1", str(marker)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # the first run has staged its quarantine rows and is about to merge
        _wait_for(marker, first)
        for command in ("silver", "gold"):
            assert main(["-q", command, "--lake", str(lake)]) == 1
            line = one_line(capsys.readouterr().err)
            assert f"lakehouse {command}: error: {command} failed: the lake is in use: silver run " in line
            assert f"pid {first.pid})" in line and "wait for it to finish" in line
        assert list((lake / "silver" / "_staging").glob("*/silver_orders_rejected/*/*.parquet")), (
            "the refused runs left the first run's staging alone"
        )
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(60)
    assert first.returncode == -signal.SIGKILL
    assert not list((lake / "silver" / "_staging").glob("*/_journal.json"))
    assert fingerprint(lake) == before, "readers never see a run that did not reach its commit"

    # the lease died with the process: nothing to wait for
    rerun = run_silver(lake)
    assert rerun.recovered_runs == [] and rerun.files_read == 2
    assert fingerprint(lake) == lakes.clean
    assert not any((lake / "silver" / "_staging").iterdir())


def test_gold_completes_a_commit_that_a_killed_run_left_half_applied(
    lakes: Lakes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from glue_jobs.local import run_silver

    lake = lakes.lake_with_day2(tmp_path / "lake")
    # one partition swapped
    die_during_commit(monkeypatch, lambda: run_silver(lake), lambda n, s: n == 1)
    assert len(list((lake / "silver" / "_staging").glob("*/_journal.json"))) == 1
    with pytest.raises(DbtError, match=r"silver has an unfinished commit .*run `lakehouse gold`"):
        run_dbt(["run", "--select", "stg_orders"], lake)

    assert main(["-q", "gold", "--lake", str(lake)]) == 0
    assert fingerprint(lake) == lakes.clean, "gold completed the killed run's commit before building"
    with duckdb.connect(str(lake / "warehouse.duckdb"), read_only=True) as con:
        built = con.execute("select count(*) from gold.fct_orders").fetchone()[0]
    assert built == lakes.clean.counts["silver_orders"]
