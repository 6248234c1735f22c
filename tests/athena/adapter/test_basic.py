"""dbt-tests-adapter's basic suites on the stand-in, every table Iceberg: simple materializations, empty,
ephemeral, generic and singular tests."""

from __future__ import annotations

import pytest
from dbt.tests.adapter.basic.test_base import BaseSimpleMaterializations
from dbt.tests.adapter.basic.test_empty import BaseEmpty
from dbt.tests.adapter.basic.test_ephemeral import BaseEphemeral
from dbt.tests.adapter.basic.test_generic_tests import BaseGenericTests
from dbt.tests.adapter.basic.test_singular_tests import BaseSingularTests
from dbt.tests.adapter.basic.test_singular_tests_ephemeral import BaseSingularTestsEphemeral
from dbt.tests.adapter.empty.test_empty import (
    BaseTestEmpty,
    BaseTestEmptyInlineSourceRef,
)

pytestmark = [pytest.mark.dbt, pytest.mark.filterwarnings("ignore:Tried to parse AWS::")]


class TestSimpleMaterializationsIceberg(BaseSimpleMaterializations):
    """Table, view, a model swapped between them, seeds: relation types and row counts."""


class TestEmptyProjectIceberg(BaseEmpty):
    """A project without models runs."""


class TestEmptyFlagIceberg(BaseTestEmpty):
    """`--empty`: every ref and source limited to no rows."""


class TestEmptyFlagInlineSourceRefIceberg(BaseTestEmptyInlineSourceRef):
    """`--empty` with a source referenced inline."""


class TestEphemeralIceberg(BaseEphemeral):
    """An ephemeral model inlined as a CTE into a table and a view."""


class TestGenericTestsIceberg(BaseGenericTests):
    """not_null / unique on seeds, tables and views."""


class TestSingularTestsIceberg(BaseSingularTests):
    """Singular data tests, passing and failing."""


class TestSingularTestsEphemeralIceberg(BaseSingularTestsEphemeral):
    """Singular data tests reading an ephemeral model."""
