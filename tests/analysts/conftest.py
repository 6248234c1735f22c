"""Fixtures of the analysts' tests: one small built lake shared by the session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.analysts.helpers import build_small_lake


@pytest.fixture(scope="session")
def small_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_small_lake(tmp_path_factory.mktemp("analysts") / "lake")
