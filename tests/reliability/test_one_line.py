"""Every failure a user can cause, or the environment can (a full disk, a locked file), is one line on stderr that
names the cause and the fix, with a failing exit code: never a traceback."""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from glue_jobs.lease import Holder, hold
from glue_jobs.storage import LocalStorage
from lakehouse import cli
from lakehouse.cli import main
from lakehouse.config import load_config
from tests.reliability.helpers import REPO, Lakes, one_line, warehouse_held


def _fails(argv: list[str], capsys: pytest.CaptureFixture[str], code: int) -> str:
    assert main(argv) == code
    return one_line(capsys.readouterr().err)


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        (["ingest", "--start-date", "9999-12-31"], {}, "ingest.start_date is 9999-12-31; it must be between 1900-01-01 and 9999-10-03"),
        (["ingest", "--start-date", "1066-10-14", "--days", "1"], {}, "ingest.start_date is 1066-10-14"),
        (["summary"], {"LAKEHOUSE_SPARK__DRIVER_MEMORY": "abc"}, "spark.driver_memory is 'abc'; it must be a size of at least 512m"),
        (["summary"], {"LAKEHOUSE_SPARK__DRIVER_MEMORY": "100m"}, "spark.driver_memory is '100m'; it must be a size of at least 512m"),
        (["summary"], {"LAKEHOUSE_SPARK__DRIVER_MEMORY": "99999g"}, "spark.driver_memory is '99999g'; it must be at most this machine's memory"),
        (["summary"], {"LAKEHOUSE_SPARK__MASTER": "local[two]"}, "spark.master is 'local[two]'; it must be a Spark master URL"),
    ],
    ids=["start-date-9999", "start-date-1066", "memory-abc", "memory-too-little", "memory-too-much", "master"],
)  # fmt: skip
def test_bad_values_are_one_line(
    argv: list[str],
    env: dict[str, str],
    expected: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert expected in _fails(argv, capsys, 2)


@pytest.mark.parametrize("name", ["it's", "lake[1]", "*"])
@pytest.mark.parametrize("command", ["silver", "gold", "summary"])
def test_a_lake_path_spark_or_duckdb_would_misread_is_refused(
    name: str, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _fails([command, "--lake", str(tmp_path / name / "lake")], capsys, 2)
    assert (
        f"lakehouse {command}: error: lake is {str(tmp_path / name / 'lake')!r}; it must be a path without"
        in line
    )
    assert "pass --lake with another folder" in line


def test_a_lake_that_is_a_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "lake").write_text("not a folder")
    line = _fails(["ingest", "--lake", str(tmp_path / "lake")], capsys, 2)
    assert "it must be a folder, but it is a file: pass --lake with a folder" in line


def test_a_second_gold_while_one_holds_the_lake(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lake = tmp_path / "lake"
    with hold(LocalStorage(), str(lake / "_state" / "silver"), Holder.me("20260305T020000Z", "gold")):
        line = _fails(["-q", "gold", "--lake", str(lake)], capsys, 1)
    assert line.startswith(
        "lakehouse gold: error: gold failed: the lake is in use: gold run 20260305T020000Z (host "
    )
    assert f"pid {os.getpid()}) holds it since " in line and "wait for it to finish, then run again" in line
    assert not (lake / "warehouse.duckdb").exists(), "dbt never started"


def test_summary_while_another_process_writes_the_warehouse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    warehouse = tmp_path / "lake" / "warehouse.duckdb"
    warehouse.parent.mkdir()
    with warehouse_held(warehouse, read_only=False) as writer_pid:
        line = _fails(["summary", "--lake", str(tmp_path / "lake")], capsys, 1)
    assert f"lakehouse summary: error: the warehouse {warehouse} is in use by another process" in line
    assert f"PID {writer_pid}" in line and "then run `lakehouse summary` again" in line


def test_a_killed_ingest_leaves_no_temporary_file_for_long(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "lake" / "bronze" / "orders" / "ingest_date=2026-03-05"
    folder.mkdir(parents=True)
    stale, fresh = folder / ".orders_lambda_a.csv.tmp", folder / ".orders_lambda_b.csv.tmp"
    stale.write_text("order_id,order_da")
    # an ingest writing right now
    fresh.write_text("order_id,order_date,cus")
    an_hour_ago = time.time() - 3600
    os.utime(stale, (an_hour_ago, an_hour_ago))
    args = [
        "-q",
        "ingest",
        "--lake",
        str(tmp_path / "lake"),
        "--rows",
        "10",
        "--days",
        "1",
        "--start-date",
        "2026-03-01",
    ]
    assert main(args) == 0
    assert not stale.exists() and fresh.exists()


@pytest.mark.spark
@pytest.mark.dbt
def test_a_full_disk_is_one_line_for_silver_and_gold(lakes: Lakes, tmp_path: Path) -> None:
    """The lake on a real, tiny file system (tmpfs in a private mount namespace): Spark's and DuckDB's writes
    fail with ENOSPC. Needs unprivileged user namespaces (skipped where the kernel forbids them)."""
    unshare = shutil.which("unshare")
    probe = subprocess.run(
        [unshare or "unshare", "--user", "--map-root-user", "--mount", "true"], capture_output=True, check=False
    ) if unshare else None  # fmt: skip
    if probe is None or probe.returncode != 0:
        pytest.skip("no unprivileged mount namespace here to make a small file system in")
    small, out = tmp_path / "small", tmp_path / "out"
    small.mkdir()
    out.mkdir()
    script = f"""
        set -u
        mount -t tmpfs -o size=64k tmpfs {small}
        mkdir -p {small}/silver-lake {small}/gold-lake
        ln -s {lakes.day1_processed}/bronze {small}/silver-lake/bronze
        {sys.executable} -m lakehouse.cli -q silver --lake {small}/silver-lake > /dev/null 2> {out}/silver.err
        echo $? > {out}/silver.rc
        ln -s {lakes.day1_processed}/silver {small}/gold-lake/silver
        {sys.executable} -m lakehouse.cli -q gold --lake {small}/gold-lake > /dev/null 2> {out}/gold.err
        echo $? > {out}/gold.rc
    """
    subprocess.run(
        [unshare, "--user", "--map-root-user", "--mount", "sh", "-c", script],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=True,
        timeout=600,
    )
    for stage in ("silver", "gold"):
        assert (out / f"{stage}.rc").read_text().strip() == "1"
        line = one_line((out / f"{stage}.err").read_text())
        assert line.startswith(
            f"lakehouse {stage}: error: {stage} failed: the disk is full (No space left on device"
        )
        assert f"free some space, then run `lakehouse {stage}` again" in line


def _files(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` and a hash of its bytes: what a refused command must leave as it was."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


CLEAN_DAY = ["--rows", "10", "--days", "1", "--start-date", "2026-03-01", "--ingested-at", "2026-03-02T02:00:00"]  # fmt: skip


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--start-date", "9999-12-31", "--days", "1"], "lakehouse ingest: error: ingest.start_date is 9999-12-31; it must be between 2020-01-01 (order_dates.earliest) and "),
        (["--start-date", "2019-12-31", "--days", "1"], "lakehouse ingest: error: ingest.start_date is 2019-12-31; it must be between 2020-01-01 (order_dates.earliest) and "),
        (["--start-date", "2026-03-01", "--days", "1", "--ingested-at", "2099-01-01"], "lakehouse ingest: error: --ingested-at is 2099-01-01T00:00:00+00:00; it must be the time its files landed: at most 1 day after now ("),
        (["--start-date", "2026-03-05", "--days", "1", "--ingested-at", "2026-03-02T02:00:00"], "lakehouse ingest: error: ingest.start_date is 2026-03-05; it must be between 2020-01-01 (order_dates.earliest) and 2026-03-03, so that 1 days of orders end by 2026-03-03"),
    ],
    ids=["start-date-9999", "start-date-2019", "ingested-at-2099", "orders-after-their-landing"],
)  # fmt: skip
def test_an_ingest_outside_the_valid_order_dates_is_refused_and_writes_nothing(
    flags: list[str], expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--start-date 9999-12-31` and `--ingested-at 2099` would write files whose every row silver quarantines: the
    configured bounds refuse them, and bronze is left as a clean ingest made it."""
    lake = tmp_path / "lake"
    assert main(["-q", "ingest", "--lake", str(lake), *CLEAN_DAY]) == 0
    clean = _files(lake)
    assert expected in _fails(["-q", "ingest", "--lake", str(lake), "--rows", "10", *flags], capsys, 2)
    assert _files(lake) == clean


@pytest.mark.parametrize(
    ("config", "encoding", "expected"),
    [
        ("ingest:\n  start_date: 2025-02-30\n", "utf-8", "lakehouse ingest: error: ingest.start_date is '2025-02-30'; it must be a date that exists, written YYYY-MM-DD"),
        ("lake: lake\n", "utf-16", "is not UTF-8 text (byte 0xff at offset 0): save it as UTF-8"),
    ],
    ids=["impossible-date", "utf-16"],
)  # fmt: skip
def test_a_bad_config_file_is_one_line_and_writes_nothing(
    config: str,
    encoding: str,
    expected: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An impossible date and a file that is not UTF-8: one line naming the file's problem, no traceback."""
    lake, configs = tmp_path / "lake", tmp_path / "configs"
    assert main(["-q", "ingest", "--lake", str(lake), *CLEAN_DAY]) == 0
    clean = _files(lake)
    configs.mkdir()
    (configs / "local.yaml").write_bytes(config.encode(encoding))
    monkeypatch.setattr(cli, "load_config", functools.partial(load_config, config_dir=configs))
    assert expected in _fails(["-q", "ingest", "--lake", str(lake), *CLEAN_DAY], capsys, 2)
    assert _files(lake) == clean


def test_an_empty_lake_variable_is_refused_not_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """LAKEHOUSE_LAKE='' is refused in one line: it would make the current folder the lake (bronze/ written into it)."""
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    monkeypatch.setenv("LAKEHOUSE_LAKE", "")
    line = _fails(["-q", "ingest", *CLEAN_DAY], capsys, 2)
    assert line == (
        "lakehouse ingest: error: lake is empty; it must be a folder path: set it, or unset LAKEHOUSE_LAKE and "
        "remove the key from the config file to get the default"
    )
    assert _files(here) == {}
