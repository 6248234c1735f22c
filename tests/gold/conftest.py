"""Fixtures of the gold tests: one fully built lake shared by the whole session (each dbt build costs seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gold.helpers import base_orders, build, write_silver


@pytest.fixture(scope="session")
def built_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lake with the base silver orders and a full `dbt build` (seeds, models, unit and data tests)."""
    lake = tmp_path_factory.mktemp("gold") / "lake"
    write_silver(lake, base_orders())
    build(lake)
    return lake
