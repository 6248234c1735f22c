"""Fixtures of the fault-injection suite: two landings of bronze, and the lake a clean run makes of them."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.reliability.helpers import LANDINGS, Fingerprint, copy_lake, fingerprint, land


@dataclass(frozen=True)
class Lakes:
    day1_processed: Path  # day 1 landed and through silver
    day2_bronze: list[Path]  # the files day 2 lands (copy them into a lake with `add_day2`)
    clean: Fingerprint  # what silver holds after day 1 and day 2, each run once, nothing going wrong

    def add_day2(self, lake: Path) -> None:
        for f in self.day2_bronze:
            target = lake / f.relative_to(f.parents[3])
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, target)
            shutil.copy2(f"{f}.manifest.json", f"{target}.manifest.json")

    def lake_with_day2(self, into: Path) -> Path:
        """A copy of the lake after day 1, with day 2 landed and not yet read by silver."""
        lake = copy_lake(self.day1_processed, into)
        self.add_day2(lake)
        return lake


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
