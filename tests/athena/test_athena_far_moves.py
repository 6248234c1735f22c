"""The gold stage (`python -m lakehouse.stage gold`, as CodeBuild runs it) on the Athena stand-in absorbs a correction
that moved an order further than the correction horizon once silver's sweep removed the old row: the stage's
build fails the reconciliation naming the order, runs once more absorbing it, and succeeds; every mart then equals
a local full refresh of the same silver. The local path, and why, is in tests/gold/test_far_moves.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench.synthetic_silver import sweep
from lakehouse.athena_local.standin import AthenaStandIn
from lakehouse.stage import main
from tests.athena.helpers import compare_marts
from tests.gold.helpers import REJECTED, base_orders, build, write_rejected, write_silver
from tests.gold.test_far_moves import hour, moves

pytestmark = [pytest.mark.dbt, pytest.mark.filterwarnings("ignore:Tried to parse AWS::")]


def stage(standin: AthenaStandIn, lake: Path, work: Path) -> int:
    standin.upload_silver(lake)
    with standin.environment(DBT_CORRECTION_HORIZON_DAYS="7"):
        return main(["gold", "--work", str(work)])


def test_the_gold_stage_absorbs_a_far_move_after_silvers_sweep(
    standin: AthenaStandIn, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lake = tmp_path / "lake"
    write_silver(lake, base_orders())
    write_rejected(lake, REJECTED)
    assert stage(standin, lake, tmp_path / "run-1") == 0
    hour(lake, "hour-1.parquet", moves())
    assert stage(standin, lake, tmp_path / "run-2") == 0
    sweep(lake)
    caplog.clear()
    assert stage(standin, lake, tmp_path / "run-3") == 0
    warnings = [r.getMessage() for r in caplog.records if r.name == "lakehouse.stage"]
    assert any("gold holds 2 order row(s) that silver no longer holds" in w for w in warnings), warnings

    clean = tmp_path / "clean" / "lake"
    shutil.copytree(lake / "silver", clean / "silver")
    build(clean, "--full-refresh")
    comparison = compare_marts(standin, clean, tmp_path / "run-3" / "target" / "manifest.json")
    assert len(comparison.marts) >= 5 and not comparison.differences, comparison.differences
