"""Fixtures shared by every test folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    """One local Spark session for the whole test run: starting a JVM costs seconds, so it is shared.

    Built by the job's own ``glue_jobs.session`` (the settings live there, once); the Glue job calls
    ``SparkSession.builder.getOrCreate()``, which returns this same session."""
    from glue_jobs.session import local_session

    session = local_session("local[2]", shuffle_partitions=2, driver_memory="2g", app_name="lakehouse-tests")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
