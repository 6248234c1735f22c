"""Fixtures of the fault-injection suite: two landings of bronze, and the lake a clean run makes of them."""

from __future__ import annotations

import pytest

from tests.reliability.helpers import LANDINGS, Fingerprint, Lakes, fingerprint, land


@pytest.fixture(scope="session")
def lakes(tmp_path_factory: pytest.TempPathFactory, spark: object) -> Lakes:
    from glue_jobs.local import run_silver

    root = tmp_path_factory.mktemp("reliability")
    day1 = root / "day1" / "lake"
    land(day1, LANDINGS[0])
    run_silver(day1)
    day2_files = land(root / "day2" / "lake", LANDINGS[1])
    lakes = Lakes(day1, day2_files, Fingerprint({}, {}, {}))
    clean = lakes.lake_with_day2(root / "clean" / "lake")
    run_silver(clean)
    return Lakes(day1, day2_files, fingerprint(clean))
