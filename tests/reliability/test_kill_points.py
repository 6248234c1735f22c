"""A silver run dies at each point of its commit (in this process: the hook raises, as a kill would stop it
there); the next run rolls it forward, and the lake ends exactly as after a run that never died."""

from __future__ import annotations

from pathlib import Path

import pytest

from glue_jobs.storage import LocalStorage
from tests.reliability.helpers import Killed, Lakes, die_during_commit, fingerprint, kill_at_swap
from tests.silver.helpers import index_pairs, silver_pairs

pytestmark = pytest.mark.spark


KILL_POINTS = {
    "after the journal, before any swap": kill_at_swap(lambda n, s: n == 0),
    "between two partition swaps": kill_at_swap(lambda n, s: n == 1),
    "after the partitions, before the bookmark": kill_at_swap(lambda n, s: s.kind == "put_file"),
    "after the order index's files, before the bookmark": kill_at_swap(
        lambda n, s: s.target.endswith("bookmark.json")
    ),
    "after the bookmark, before the old order index files go": kill_at_swap(
        lambda n, s: s.kind == "delete" and "/order_index/" in s.target
    ),
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_killed_during_the_commit_then_rerun_equals_a_clean_run(
    point: str, lakes: Lakes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from glue_jobs.local import run_silver

    lake = lakes.lake_with_day2(tmp_path / "lake")
    die_during_commit(monkeypatch, lambda: run_silver(lake), KILL_POINTS[point])
    assert len(list((lake / "silver" / "_staging").glob("*/_journal.json"))) == 1

    rerun = run_silver(lake)
    assert len(rerun.recovered_runs) == 1 and rerun.files_read == 0, "the day-2 files are not read twice"
    assert fingerprint(lake) == lakes.clean
    assert not any((lake / "silver" / "_staging").iterdir())
    assert index_pairs(lake) == silver_pairs(lake) and rerun.order_index_rebuilt == ""


def test_killed_again_while_recovering(lakes: Lakes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from glue_jobs.local import run_silver

    lake = lakes.lake_with_day2(tmp_path / "lake")
    die_during_commit(monkeypatch, lambda: run_silver(lake), lambda n, s: n == 1)
    # the recovery dies too
    die_during_commit(monkeypatch, lambda: run_silver(lake), lambda n, s: n == 2)
    assert run_silver(lake).order_index_rebuilt == ""
    assert fingerprint(lake) == lakes.clean
    assert index_pairs(lake) == silver_pairs(lake)


def test_killed_after_the_last_swap_before_the_run_file(
    lakes: Lakes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from glue_jobs.local import run_silver

    lake = lakes.lake_with_day2(tmp_path / "lake")
    write_text = LocalStorage.write_text

    def die_on_run_file(self: LocalStorage, path: str, text: str) -> None:
        if "/_runs/" in path:
            raise Killed("killed before the run's metrics were written")
        write_text(self, path, text)

    monkeypatch.setattr(LocalStorage, "write_text", die_on_run_file)
    with pytest.raises(Killed):
        run_silver(lake)
    monkeypatch.undo()
    assert fingerprint(lake) == lakes.clean, "every swap was applied: silver is already complete"
    rerun = run_silver(lake)
    assert len(rerun.recovered_runs) == 1 and rerun.files_read == 0
    assert fingerprint(lake) == lakes.clean
    # day 1, the recovered day 2, the rerun
    assert len(list((lake / "_runs" / "silver").glob("*.json"))) == 3
