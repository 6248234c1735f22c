"""Fixtures shared by the Athena stand-in's test modules."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from lakehouse.athena_local.standin import AthenaStandIn
from lakehouse.moto_aws import ACCOUNT, REGION

# the smallest per-query cutoff Athena accepts (and the stack's AthenaBytesScannedCutoff MinValue): 10 MiB
SMALLEST_CUTOFF = 10 * 2**20


@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AthenaStandIn]:
    """One stand-in per test module, its statements logged to a file of the module's own."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    log = tmp_path_factory.mktemp("athena-log") / "statements.sql"
    with AthenaStandIn(statement_log=log) as athena:
        yield athena


@pytest.fixture
def cutoff(standin: AthenaStandIn) -> Iterator[int]:
    """The workgroup's per-query cutoff lowered to Athena's smallest, as an administrator would edit it."""
    from moto.athena.models import athena_backends

    workgroup = athena_backends[ACCOUNT][REGION].work_groups[standin.dbt_env()["DBT_ATHENA_WORKGROUP"]]
    before = workgroup.configuration["BytesScannedCutoffPerQuery"]
    workgroup.configuration["BytesScannedCutoffPerQuery"] = SMALLEST_CUTOFF
    yield SMALLEST_CUTOFF
    workgroup.configuration["BytesScannedCutoffPerQuery"] = before
