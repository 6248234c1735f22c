"""Fixtures shared by the Athena stand-in's test modules."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from lakehouse.athena_local.standin import AthenaStandIn


@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AthenaStandIn]:
    """One stand-in per test module, its statements logged to a file of the module's own."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    log = tmp_path_factory.mktemp("athena-log") / "statements.sql"
    with AthenaStandIn(statement_log=log) as athena:
        yield athena
