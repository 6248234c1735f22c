"""Fixtures of the infra tests (helpers live in helpers.py)."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from lakehouse.infra import load_package_module
from tests.infra.helpers import Resolver, load_template


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="session")
def resolver(template: dict[str, Any]) -> Resolver:
    return Resolver(template)


@pytest.fixture(scope="session")
def package() -> ModuleType:
    return load_package_module()
