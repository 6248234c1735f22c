"""`lakehouse run` ends the Spark JVM its silver stage started before gold starts: the two stages' memory does not
add up in one process tree (Spark's idle heap beside DuckDB's; the peaks are in bench/README.md).

It runs in its own process: in pytest's, a shared Spark session may already be running, which the run leaves alone."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import psutil
    from lakehouse import cli, pipeline

    lake = sys.argv[1]
    seen = {}

    def gold(lake, **kwargs):  # what gold would run beside: this process's children at that moment
        seen.setdefault("children_at_gold", []).append(
            sorted(p.name() for p in psutil.Process().children(recursive=True))
        )

    pipeline.gold = gold
    args = ["--rows", "2000", "--days", "3", "--start-date", "2026-03-01", "--seed", "3"]
    seen["run"] = cli.main(["-q", "run", "--lake", lake, *args])
    seen["run_again"] = cli.main(["-q", "run", "--lake", lake, *args])  # a new JVM when Spark is needed again
    print(json.dumps(seen))
    """
)


def test_lakehouse_run_ends_the_spark_jvm_before_gold(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "lake")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["run"] == 0 and seen["run_again"] == 0, done.stderr[-2000:]
    assert len(seen["children_at_gold"]) == 2
    for children in seen["children_at_gold"]:
        assert not [name for name in children if "java" in name], children
    assert (tmp_path / "lake" / "silver" / "silver_orders").is_dir()
