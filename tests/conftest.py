"""Fixtures shared by every test folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses the shared Spark session, directly or through another fixture, is marked `spark`: `make
    test-fast` leaves such tests out without each module having to remember the marker."""
    for item in items:
        if "spark" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.spark)


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


@pytest.fixture
def s3(request: pytest.FixtureRequest) -> Iterator[object]:
    """The job's S3Storage on moto's in-process S3, with the bucket named by the test module's ``BUCKET``."""
    import boto3
    from moto import mock_aws

    from glue_jobs.storage import S3Storage

    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=request.module.BUCKET)
        yield S3Storage(client)
