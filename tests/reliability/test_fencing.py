"""Fencing on S3 (moto, no Spark): a run that stalls past its lease's expiry while applying its journal, and the
next run's recover() applying the same journal meanwhile. The stalled run stops at its next step with one line;
silver ends as one clean commit would leave it: nothing lost, nothing doubled."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from glue_jobs import commit
from glue_jobs.journal import Paths, Swap
from glue_jobs.lease import TTL_S, Holder, LeaseLost, S3Lease
from glue_jobs.storage import S3Storage
from tests.reliability.helpers import Clock
from tests.silver.commit_lake import BOOKMARK, GONE, RUN, new_files, read_partition, rows, staged_commit

BUCKET = "lake"
BASE = f"s3://{BUCKET}/lake"
LEASE = f"{BASE}/_state/silver/lease.json"
DAYS = ["order_date=2026-03-01", "order_date=2026-03-02", "order_date=2026-03-03"]
T0 = dt.datetime(2026, 3, 5, 2, 0, tzinfo=dt.UTC)
PATHS = Paths(f"{BASE}/silver", f"{BASE}/_state/silver", f"{BASE}/_runs/silver")


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def stalled(s3: S3Storage, clock: Clock) -> Iterator[S3Lease]:
    """The lease of the run that will stall (its renewer never fires: the test's clock does not move on its own)."""
    lease = S3Lease(s3.s3, LEASE, Holder.me("stalled", "silver", T0), clock=clock)
    yield lease
    lease.release()


def _take_over_and_recover(s3: S3Storage, clock: Clock) -> list[str]:
    """The stalled run's lease expires; the next run takes it over and rolls the journal forward."""
    clock.now += dt.timedelta(seconds=TTL_S + 60)
    successor = S3Lease(s3.s3, LEASE, Holder.me("next", "silver", clock.now), clock=clock)
    try:
        return commit.recover(S3Storage(s3.s3), PATHS, fence=successor.ensure_held)
    finally:
        successor.release()


def _once(action: Callable[[], Any]) -> Callable[[], None]:
    done: list[bool] = []

    def run() -> None:
        if not done:
            done.append(True)
            action()

    return run


def _stall_before_swap(n: int, stall: Callable[[], None]) -> Callable[[int, Swap], None]:
    def hook(index: int, swap: Swap) -> None:
        if index == n:
            stall()

    return hook


def _stall_inside(storage: S3Storage, method: str, stall: Callable[[], None], monkeypatch: Any) -> None:
    """Stall the run's own storage (not the successor's) on its first call of ``method``, then go on."""
    original = getattr(storage, method)

    def stalled_call(*args: Any, **kwargs: Any) -> Any:
        stall()
        return original(*args, **kwargs)

    monkeypatch.setattr(storage, method, stalled_call)


@pytest.mark.parametrize(
    "where",
    [
        # the fence at the top of each swap stops it
        "before its second swap",
        # its staged files are gone: it stops, deleting nothing
        "half-way through copying a partition",
        # the marker exists already (If-None-Match): it stops
        "before marking its first swap done",
    ],
)
def test_a_stalled_run_stops_and_the_recovered_commit_is_whole(
    s3: S3Storage, stalled: S3Lease, clock: Clock, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    lake = staged_commit(s3, BASE, DAYS)
    recovered: list[str] = []
    stall = _once(lambda: recovered.extend(_take_over_and_recover(s3, clock)))
    # the stalled run's own storage object
    storage = S3Storage(s3.s3)
    if where == "before its second swap":
        monkeypatch.setattr(commit, "before_swap", _stall_before_swap(1, stall))
    elif where == "half-way through copying a partition":
        calls: list[int] = []
        _stall_inside(
            storage, "put_copy", lambda: calls.append(1) or (len(calls) == 2 and stall()), monkeypatch
        )
    else:
        _stall_inside(storage, "write_new", stall, monkeypatch)

    with pytest.raises(LeaseLost) as stopped:
        commit.apply(storage, lake.paths, RUN, lake.journal, stalled.ensure_held)
    monkeypatch.setattr(commit, "before_swap", None)

    message = str(stopped.value)
    assert "\n" not in message and message.startswith(f"silver run {RUN} stopped before swap ")
    assert "another run took the lake over" in message
    assert recovered == [RUN], "the successor rolled the stalled run's commit forward"
    for day in DAYS:
        assert read_partition(s3, lake.partition(day)) == rows(new_files(day)), day
        names = sorted(
            f.path.rsplit("/", 1)[1] for f in s3.list_files(lake.partition(day), include_hidden=True)
        )
        assert names == sorted(new_files(day)), "each new file once, no old file left"
    assert not s3.exists(lake.partition(GONE))
    assert json.loads(s3.read_bytes(lake.paths.bookmark))["files"] == BOOKMARK
    assert json.loads(s3.read_bytes(lake.paths.run_file(RUN)))["recovered"] is True
    # the stalled run may have left a done-marker behind the successor (a staging without a journal): the next
    # run discards it, and applies nothing twice
    assert not s3.exists(lake.paths.journal(RUN))
    assert commit.recover(s3, lake.paths) == []
    assert not s3.list_files(lake.paths.staging(RUN), include_hidden=True)


def test_a_run_that_keeps_its_lease_commits_with_a_fence_at_every_swap(
    s3: S3Storage, stalled: S3Lease, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = staged_commit(s3, BASE, DAYS)
    checks: list[int] = []
    ensure_held = stalled.ensure_held
    commit.apply(s3, lake.paths, RUN, lake.journal, lambda: (checks.append(1), ensure_held())[1])
    swaps = len(lake.journal.swaps)
    # once before each swap, once more before each replace or delete removes files
    assert len(checks) == swaps + len(DAYS) + 1
    markers = s3.list_files(f"{lake.paths.staging(RUN)}/_done", include_hidden=True)
    assert not markers, "the staging, markers included, is gone once the commit is applied"
    for day in DAYS:
        assert read_partition(s3, lake.partition(day)) == rows(new_files(day))
