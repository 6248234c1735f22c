"""dbt-tests-adapter's snapshot suites on the stand-in, Iceberg snapshots and seeds: both strategies."""

from __future__ import annotations

import pytest
from dbt.tests.adapter.basic.test_snapshot_check_cols import BaseSnapshotCheckCols
from dbt.tests.adapter.basic.test_snapshot_timestamp import BaseSnapshotTimestamp

pytestmark = [pytest.mark.dbt, pytest.mark.filterwarnings("ignore:Tried to parse AWS::")]


class TestSnapshotTimestampIceberg(BaseSnapshotTimestamp):
    """The timestamp strategy; the seeds are updated in place between snapshots (UPDATE on Iceberg)."""


class TestSnapshotCheckColsIceberg(BaseSnapshotCheckCols):
    """The check strategy on one, two and all columns."""
