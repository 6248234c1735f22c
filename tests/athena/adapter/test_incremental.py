"""dbt-tests-adapter's incremental suites on the stand-in, Iceberg tables: append, a unique key (MERGE), merge
with excluded columns, on_schema_change."""

from __future__ import annotations

import pytest
from dbt.tests.adapter.basic.test_incremental import BaseIncremental
from dbt.tests.adapter.incremental.test_incremental_merge_exclude_columns import BaseMergeExcludeColumns
from dbt.tests.adapter.incremental.test_incremental_on_schema_change import BaseIncrementalOnSchemaChange
from dbt.tests.adapter.incremental.test_incremental_unique_id import BaseIncrementalUniqueKey

pytestmark = [pytest.mark.dbt, pytest.mark.filterwarnings("ignore:Tried to parse AWS::")]


class TestIncrementalIceberg(BaseIncremental):
    """An incremental model over a seed, then over a larger seed; full refresh. No unique key: append."""

    @pytest.fixture(scope="class")
    def project_config_update(self) -> dict[str, object]:
        return {"name": "incremental", "models": {"+incremental_strategy": "append"}}


# dbt-athena's merge needs a unique key: without one, or with an empty one, the model fails on Athena too
# (lakehouse/athena_local/README.md, "Suites that fail on Athena too").
NO_KEY = "dbt-athena: the merge strategy needs a non-empty unique_key; fails on Athena too (README: fail-on-athena)"


class TestIncrementalUniqueKeyIceberg(BaseIncrementalUniqueKey):
    """unique_key as a string, a list, missing, duplicated: MERGE on Iceberg."""

    @pytest.mark.xfail(reason=NO_KEY, strict=True)
    def test__no_unique_keys(self, project: object) -> None:
        super().test__no_unique_keys(project)

    @pytest.mark.xfail(reason=NO_KEY, strict=True)
    def test__empty_str_unique_key(self, project: object) -> None:
        super().test__empty_str_unique_key(project)

    @pytest.mark.xfail(reason=NO_KEY, strict=True)
    def test__empty_unique_key_list(self, project: object) -> None:
        super().test__empty_unique_key_list(project)


class TestMergeExcludeColumnsIceberg(BaseMergeExcludeColumns):
    """merge_exclude_columns: the excluded columns keep their old values."""


class TestIncrementalOnSchemaChangeIceberg(BaseIncrementalOnSchemaChange):
    """on_schema_change: ignore, fail, append_new_columns, sync_all_columns."""
