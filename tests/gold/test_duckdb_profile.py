"""The local target's DuckDB limits work once DuckDB has spilled: the connection dbt-duckdb builds from
`profiles/profiles.yml` is used as dbt uses it, one new cursor per node.

At 30M orders `lakehouse run` failed 40 nodes with "Cannot switch temporary directory after the current one has
been used": dbt-duckdb applies `settings` to every new cursor, and DuckDB refuses to set `temp_directory` again (even
to the same folder) once it has spilled there. And on a lake without `_tmp/`, the first spill failed: DuckDB creates
only the last level of its spill folder."""

from __future__ import annotations

import os
from argparse import Namespace
from pathlib import Path

import pytest

pytestmark = pytest.mark.dbt

REPO = Path(__file__).resolve().parents[2]
SPILLS = "select count(*) from (select range, random() as r from range(4000000) order by r)"


@pytest.fixture
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    """dbt-duckdb's environment for the `local` target of our profile, on a fresh lake, with 64 MB of memory."""
    from dbt.adapters.duckdb.environments.local import LocalEnvironment
    from dbt.config.profile import Profile, read_profile
    from dbt.config.renderer import ProfileRenderer
    from dbt.flags import set_from_args
    from dbt_common.context import set_invocation_context

    monkeypatch.setenv("LAKEHOUSE_LAKE", str(tmp_path / "lake"))
    monkeypatch.setenv("DUCKDB_MEMORY_LIMIT", "64MB")
    monkeypatch.delenv("DUCKDB_TEMP_DIRECTORY", raising=False)
    set_from_args(Namespace(), None)
    set_invocation_context(os.environ)
    raw = read_profile(str(REPO / "profiles"))
    profile = Profile.from_raw_profiles(raw, "lakehouse", ProfileRenderer({}), target_override="local")
    env = LocalEnvironment(profile.credentials)
    yield env
    env.close()


def test_nodes_after_a_spill_still_run(environment: object, tmp_path: Path) -> None:
    first = environment.handle()  # type: ignore[attr-defined]
    assert first.cursor().execute(SPILLS).fetchall() == [(4_000_000,)]
    assert (tmp_path / "lake" / "_tmp" / "duckdb").is_dir(), (
        "the query did not spill: the test proves nothing"
    )
    second = environment.handle()  # type: ignore[attr-defined]  # the next node's cursor
    assert second.cursor().execute(SPILLS).fetchall() == [(4_000_000,)]
    for handle in (first, second):
        handle.close()
