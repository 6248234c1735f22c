"""dbt-tests-adapter's contract suites that apply to Athena, on the stand-in: an enforced contract's column
names and types checked before the build, for a table, a view and an incremental model. Athena enforces no
constraint (no NOT NULL, CHECK or keys in its DDL), so the runtime DDL-enforcement suites do not apply."""

from __future__ import annotations

import pytest
from dbt.tests.adapter.constraints.test_constraints import (
    BaseIncrementalConstraintsColumnsEqual,
    BaseTableConstraintsColumnsEqual,
    BaseViewConstraintsColumnsEqual,
)

pytestmark = [pytest.mark.dbt, pytest.mark.filterwarnings("ignore:Tried to parse AWS::")]


class AthenaTypes:
    """Athena's names for the contract's types: (SQL value, YAML data_type, the type dbt reports)."""

    @pytest.fixture
    def string_type(self) -> str:
        return "varchar"

    @pytest.fixture
    def int_type(self) -> str:
        return "integer"

    @pytest.fixture
    def data_types(self, schema_int_type: str, int_type: str, string_type: str) -> list[list[str]]:
        return [
            ["1", schema_int_type, int_type],
            ["'1'", string_type, string_type],
            ["true", "boolean", "boolean"],
            ["cast('2013-11-03 00:00:00' as timestamp(6))", "timestamp", "timestamp"],
            ["cast(1 as decimal(10, 2))", "decimal(10,2)", "decimal"],
            ["cast('2013-11-03' as date)", "date", "date"],
            ["cast(1 as double)", "double", "double"],
        ]


class TestTableContractIceberg(AthenaTypes, BaseTableConstraintsColumnsEqual):
    """A table model's contract."""


class TestViewContractIceberg(AthenaTypes, BaseViewConstraintsColumnsEqual):
    """A view model's contract."""


class TestIncrementalContractIceberg(AthenaTypes, BaseIncrementalConstraintsColumnsEqual):
    """An incremental model's contract."""
