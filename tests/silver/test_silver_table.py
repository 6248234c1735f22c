"""The silver table's commit protocol through its one seam, :class:`glue_jobs.table.SilverTable`, without Spark:
Parquet written by pyarrow, on a local folder and on moto's S3.

A commit killed before each of its swaps is completed by the next ``recover()`` into exactly the lake an
uninterrupted commit leaves; a journal written before the seam existed still recovers; swaps are typed; a run
whose lease was taken over commits nothing."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from glue_jobs import commit, table
from glue_jobs.journal import Journal, Paths, StateError, Swap, dumps, read_journal
from glue_jobs.lease import TTL_S, LakeBusy, LeaseLost
from glue_jobs.metrics import ReconciliationError, RunMetrics
from glue_jobs.storage import LocalStorage, S3Storage, Storage, join
from glue_jobs.table import Bookmark, Plan, RunIndex, SilverTable
from tests.reliability.helpers import Clock

BUCKET = "table-bucket"
RUN = "20260305T020000000000Z-feedbeef"
KEPT, REWRITTEN, GONE, NEW = "2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"
BOOKMARKED = {"ingest_date=2026-03-05/orders_lambda_20260305_020000_a.csv": 120}
CONTENT = {"ingest_date=2026-03-05/orders_lambda_20260305_020000_a.csv": {"id": "etag:x", "mtime_ns": 0}}


class Killed(BaseException):
    """Not an Exception: nothing in the protocol may catch it, as nothing can catch SIGKILL."""


@pytest.fixture(params=["local", "s3"])
def silver(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SilverTable]:
    """An empty table: on a local folder, or on moto's S3."""
    if request.param == "local":
        yield _table(LocalStorage(), str(tmp_path / "lake"))
    else:
        yield _table(request.getfixturevalue("s3"), f"s3://{BUCKET}/lake")


def _table(storage: Storage, base: str) -> SilverTable:
    return SilverTable(storage, Paths(f"{base}/silver", f"{base}/_state/silver", f"{base}/_runs/silver"))


def _parquet(order_ids: list[str], version: int) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.table({"order_id": order_ids, "version": [version] * len(order_ids)}), buffer)
    return buffer.getvalue()


def _partition(silver: SilverTable, root: str, day: str, order_ids: list[str], version: int) -> None:
    silver.storage.write_bytes(
        join(root, f"order_date={day}", "part-0.parquet"), _parquet(order_ids, version)
    )


def _staged_run(silver: SilverTable, run_id: str = RUN) -> Plan:
    """A live table of three days, and a run that staged a new version of one, a new day, and the removal of
    another: the plan it would commit (its figures reconcile: it read nothing)."""
    layout = silver.layout(run_id)
    _partition(silver, layout.silver_table, KEPT, ["k1", "k2"], 1)
    _partition(silver, layout.silver_table, REWRITTEN, ["r1", "r2"], 1)
    _partition(silver, layout.silver_table, GONE, ["g1"], 1)
    _partition(silver, layout.staged_silver, REWRITTEN, ["r1", "r2", "g1"], 2)
    _partition(silver, layout.staged_silver, NEW, ["n1"], 2)
    swaps = [
        Swap.replace(join(layout.staged_silver, f"order_date={REWRITTEN}"), join(layout.silver_table, f"order_date={REWRITTEN}")),
        Swap.delete(join(layout.silver_table, f"order_date={GONE}")),
        Swap.replace(join(layout.staged_silver, f"order_date={NEW}"), join(layout.silver_table, f"order_date={NEW}")),
    ]  # fmt: skip
    return Plan(run_id, swaps, RunMetrics(run_id))


def _commit(silver: SilverTable, plan: Plan) -> Journal:
    return silver.commit(plan, Bookmark(BOOKMARKED, CONTENT), RunIndex(), fence=commit.unfenced)


def _state(silver: SilverTable) -> dict[str, object]:
    """What a reader and the next run find: every listed file's bytes, the bookmark, the order index's rows."""
    base = silver.paths.silver.rsplit("/", 1)[0]
    files = {
        f.path[len(base) :].replace(RUN, "<run>"): silver.storage.read_bytes(f.path)
        for f in silver.storage.list_files(silver.paths.silver)
    }
    bookmark = json.loads(silver.storage.read_bytes(silver.paths.bookmark) or b"null")
    index = silver.load_order_index(silver_has_rows=True)
    pairs = sorted(
        (i, str(d))
        for entry in index.files
        for i, d in zip(*index.read(entry, ["order_id", "order_date"]).to_pydict().values(), strict=True)
    )
    staging = silver.storage.list_files(silver.paths.staging_root, include_hidden=True)
    return {"files": files, "bookmark": bookmark, "index": pairs, "staging": staging}


def _kill_before(n: int) -> Callable[[int, Swap], None]:
    def hook(index: int, swap: Swap) -> None:
        if index == n:
            raise Killed(f"killed before swap {n} ({swap.kind} {swap.target})")

    return hook


def test_a_commit_killed_before_each_swap_is_completed_by_recover(
    silver: SilverTable, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = _table(LocalStorage(), str(tmp_path / "reference"))
    journal = _commit(reference, _staged_run(reference))
    expected = _state(reference)
    assert expected["staging"] == [] and expected["bookmark"]["files"] == BOOKMARKED
    # a run that found no index indexes what it staged
    assert expected["index"] == [("g1", REWRITTEN), ("n1", NEW), ("r1", REWRITTEN), ("r2", REWRITTEN)]

    kinds = [swap.kind for swap in journal.swaps]
    assert kinds == ["replace", "delete", "replace", "put_file", "put_file", "put_file"], (
        "partitions, an index file for each of the two days, bookmark"
    )
    for n in range(len(journal.swaps)):
        lake = _table(silver.storage, f"{silver.paths.silver.rsplit('/', 1)[0]}-{n}")
        plan = _staged_run(lake)
        monkeypatch.setattr(commit, "before_swap", _kill_before(n))
        with pytest.raises(Killed):
            _commit(lake, plan)
        monkeypatch.setattr(commit, "before_swap", None)
        assert lake.storage.exists(lake.paths.journal(RUN)), f"killed before swap {n}: the journal stays"
        assert lake.recover() == [RUN]
        assert _state(lake) == expected, f"killed before swap {n}, then recovered"
        run_file = json.loads(lake.storage.read_bytes(lake.paths.run_file(RUN)) or b"{}")
        assert run_file["run_id"] == RUN and run_file["recovered"] is True
        assert lake.recover() == [], "nothing is left to recover"


def test_a_commit_that_fails_before_its_journal_leaves_the_table_as_it_was(
    silver: SilverTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = _staged_run(silver)
    before = _state_files(silver)

    def killed(*_: object) -> None:
        raise Killed("killed before the journal")

    monkeypatch.setattr(table, "write_journal", killed)
    with pytest.raises(Killed):
        _commit(silver, plan)
    assert _state_files(silver) == before
    assert not silver.storage.list_files(silver.paths.staging_root, include_hidden=True), "staging discarded"

    # figures that do not reconcile stop the commit there too
    plan = _staged_run(silver)
    plan.metrics.rows_read = 1
    monkeypatch.undo()
    with pytest.raises(ReconciliationError):
        _commit(silver, plan)
    assert _state_files(silver) == before and silver.storage.read_bytes(silver.paths.bookmark) is None


def _state_files(silver: SilverTable) -> dict[str, bytes | None]:
    return {f.path: silver.storage.read_bytes(f.path) for f in silver.storage.list_files(silver.paths.silver)}


def test_a_staging_without_a_journal_is_discarded_by_recover(silver: SilverTable) -> None:
    _staged_run(silver)
    before = _state_files(silver)
    assert silver.recover() == []
    assert not silver.storage.list_files(silver.paths.staging_root, include_hidden=True)
    assert _state_files(silver) == before


# What the commit wrote before the seam (glue_jobs/commit.py with dict swaps): the same bytes must still recover.
OLD_JOURNAL = """{
  "metrics": {
    "recovered": false,
    "run_id": "<run>"
  },
  "swaps": [
    {
      "kind": "replace",
      "staged": "<silver>/_staging/<run>/silver_orders/order_date=2026-03-02",
      "target": "<silver>/silver_orders/order_date=2026-03-02"
    },
    {
      "kind": "delete",
      "target": "<silver>/silver_orders/order_date=2026-03-03"
    },
    {
      "kind": "put_file",
      "staged": "<silver>/_staging/<run>/_state/bookmark.json",
      "target": "<state>/bookmark.json"
    }
  ]
}
"""


def test_a_journal_in_the_format_before_the_seam_still_recovers(silver: SilverTable) -> None:
    layout = silver.layout(RUN)
    _staged_run(silver)
    text = OLD_JOURNAL.replace("<silver>", silver.paths.silver).replace("<state>", silver.paths.state)
    text = text.replace("<run>", RUN)
    silver.storage.write_text(
        join(layout.staging, "_state", "bookmark.json"), '{"files": {}, "version": 1}\n'
    )
    silver.storage.write_text(silver.paths.journal(RUN), text)

    journal = read_journal(silver.storage, silver.paths, RUN)
    assert journal is not None and dumps(journal.to_dict()) == text, "read and written back byte for byte"
    assert silver.recover() == [RUN]
    days = {f.path.split("order_date=")[1][:10] for f in silver.storage.list_files(layout.silver_table)}
    assert days == {KEPT, REWRITTEN}
    rewritten = silver.storage.read_bytes(
        join(layout.silver_table, f"order_date={REWRITTEN}", "part-0.parquet")
    )
    assert pq.read_table(pa.BufferReader(rewritten))["version"].to_pylist() == [2, 2, 2]
    assert silver.bookmarked_files() == {}
    assert json.loads(silver.storage.read_bytes(silver.paths.run_file(RUN)) or b"{}")["recovered"] is True


def test_a_journal_round_trips_through_its_json() -> None:
    journal = Journal(
        (
            Swap.replace("/l/silver/_staging/r/silver_orders/order_date=2026-03-01", "/l/silver/silver_orders/order_date=2026-03-01"),
            Swap.delete("/l/silver/silver_orders/order_date=2026-03-02"),
            Swap("add_files", "/l/silver/silver_orders_rejected/ingest_date=2026-03-03", "/l/silver/_staging/r/x"),
            Swap.put_file("/l/silver/_staging/r/_state/bookmark.json", "/l/_state/silver/bookmark.json"),
        ),
        {"run_id": "r", "rows_read": 3, "rejected_by_reason": {"bad_date": 1}},
    )  # fmt: skip
    data = json.loads(dumps(journal.to_dict()))
    assert Journal.from_dict(data) == journal
    assert data["swaps"][1] == {"kind": "delete", "target": "/l/silver/silver_orders/order_date=2026-03-02"}
    assert journal.recovered().metrics == {**journal.metrics, "recovered": True}
    assert journal.metrics.get("recovered") is None, "marking a journal recovered leaves the original alone"


@pytest.mark.parametrize(
    ("swap", "problem"),
    [
        ({"kind": "rename", "target": "/t", "staged": "/s"}, "unknown swap kind 'rename'"),
        ({"kind": "replace", "target": "", "staged": "/s"}, "a replace swap needs a target"),
        ({"kind": "put_file", "target": "/t"}, "a put_file swap needs what it puts in place"),
        ({"kind": "delete", "target": 7}, "a swap is an object of strings"),
        (["delete", "/t"], "a swap is an object of strings"),
    ],
)
def test_a_swap_is_typed_and_a_bad_one_is_a_damaged_journal(
    tmp_path: Path, swap: object, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        Swap.from_dict(swap)
    silver = _table(LocalStorage(), str(tmp_path / "lake"))
    silver.storage.write_text(silver.paths.journal(RUN), json.dumps({"swaps": [swap], "metrics": {}}))
    with pytest.raises(
        StateError, match=f"{silver.paths.journal(RUN)} is damaged .*{problem}.*--full-refresh"
    ):
        silver.recover()
    assert silver.recover(discard_damaged=True) == [], "a full refresh discards it"
    assert not silver.storage.exists(silver.paths.staging(RUN))


def test_the_lease_fences_a_commit_whose_lease_was_taken_over(s3: S3Storage) -> None:
    silver = _table(s3, f"s3://{BUCKET}/lake")
    clock = Clock(dt.datetime(2026, 3, 5, 2, 0, tzinfo=dt.UTC))
    plan = _staged_run(silver)
    before = _state_files(silver)
    with silver.lease(RUN, "silver", clock=clock) as stalled:
        with (
            pytest.raises(LakeBusy, match=f"silver run {RUN} .* holds it"),
            silver.lease("other", "gold", clock=clock),
        ):
            pass
        clock.now += dt.timedelta(seconds=TTL_S + 60)
        with (
            silver.lease("next", "silver", clock=clock),
            pytest.raises(LeaseLost, match="another run took the lake over; nothing was committed"),
        ):
            silver.commit(plan, Bookmark(BOOKMARKED), RunIndex(), fence=stalled.ensure_held)
    assert _state_files(silver) == before, "nothing of the stalled run reached the table"
    assert (
        not s3.exists(silver.paths.journal(RUN)) and silver.storage.read_bytes(silver.paths.bookmark) is None
    )


def test_storage_says_what_it_can_do_so_no_caller_checks_its_type(tmp_path: Path, s3: S3Storage) -> None:
    local, path = LocalStorage(), str(tmp_path / "f.parquet")
    assert local.local_path(path) == path and local.s3_client() is None
    assert local.open_for_columns(path) is None
    local.write_bytes(path, _parquet(["a"], 1))
    with local.open_for_columns(path) as source:  # type: ignore[union-attr]
        assert pq.read_table(source)["order_id"].to_pylist() == ["a"]

    uri = f"s3://{BUCKET}/f.parquet"
    assert s3.local_path(uri) is None and s3.s3_client() is s3.s3
    assert s3.open_for_columns(uri) is None
    s3.write_bytes(uri, _parquet(["b"], 1))
    with s3.open_for_columns(uri) as source:  # type: ignore[union-attr]
        assert pq.read_table(source)["order_id"].to_pylist() == ["b"]
