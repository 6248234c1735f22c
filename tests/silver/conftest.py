"""Fixtures for the silver job's tests: a lake folder, and the real job run on the shared Spark session.

The plain helpers (bronze files, reading silver back) are in tests/silver/helpers.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    return tmp_path / "lake"


@pytest.fixture
def run_job(spark: object) -> Callable[..., dict]:
    """Run the real job (its Glue ``main()`` through ``run_silver``) on the shared Spark session."""
    from glue_jobs.local import run_silver

    def run(lake: Path, **kwargs: Any) -> dict:
        return run_silver(lake, **kwargs)

    return run
