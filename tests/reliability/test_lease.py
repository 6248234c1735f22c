"""One writer at a time (no Spark): the local flock and the S3 lease (conditional writes, against moto)."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from glue_jobs import commit
from glue_jobs.inventory import BronzeFile, take_stock
from glue_jobs.journal import Paths, StateError
from glue_jobs.lease import Holder, LakeBusy, LeaseLost, S3Lease, hold
from glue_jobs.storage import LocalStorage, S3Storage
from tests.reliability.helpers import REPO, Clock

BUCKET = "lake"
STATE = f"s3://{BUCKET}/_state/silver"
T0 = dt.datetime(2026, 3, 5, 2, 0, tzinfo=dt.UTC)


def _holder(run_id: str) -> Holder:
    return Holder.me(run_id, "silver", T0)


def test_local_lease_refuses_a_second_holder_and_names_the_first(tmp_path: Path) -> None:
    state = str(tmp_path / "_state" / "silver")
    with hold(LocalStorage(), state, _holder("first")):
        with pytest.raises(LakeBusy) as busy, hold(LocalStorage(), state, _holder("second")):
            pass
        assert busy.value.holder is not None and busy.value.holder.run_id == "first"
        assert "silver run first (host " in str(busy.value) and "since 2026-03-05T02:00:00Z" in str(
            busy.value
        )
    with hold(LocalStorage(), state, _holder("third")):
        # released on exit
        pass


def test_local_lease_of_a_killed_process_is_free(tmp_path: Path) -> None:
    state = tmp_path / "_state" / "silver"
    code = (
        "import sys, time; from glue_jobs.lease import Holder, hold; from glue_jobs.storage import LocalStorage\n"
        "with hold(LocalStorage(), sys.argv[1], Holder.me('doomed', 'silver')):\n"
        "    print('held', flush=True); time.sleep(120)\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(state)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    with (
        pytest.raises(LakeBusy, match=rf"silver run doomed .*pid {holder.pid}"),
        hold(LocalStorage(), str(state), _holder("waiting")),
    ):
        pass
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with hold(LocalStorage(), str(state), _holder("next")):
        assert json.loads((state / "lease.json").read_text())["run_id"] == "next"


def test_s3_lease_is_exclusive_until_it_expires_then_taken_over(s3: S3Storage) -> None:
    clock = Clock(T0)
    first = S3Lease(s3.s3, f"{STATE}/lease.json", _holder("first"), ttl_s=600, clock=clock)
    stored = json.loads(s3.read_bytes(f"{STATE}/lease.json"))
    assert stored["run_id"] == "first" and stored["expires"] == "2026-03-05T02:10:00Z"

    clock.now = T0 + dt.timedelta(minutes=9)
    with pytest.raises(LakeBusy, match=r"silver run first .*its lease expires at 2026-03-05T02:10:00Z"):
        S3Lease(s3.s3, f"{STATE}/lease.json", _holder("second"), ttl_s=600, clock=clock)

    # the first run is killed: nobody renews its lease any more
    first._stop.set()
    clock.now = T0 + dt.timedelta(minutes=11)
    second = S3Lease(s3.s3, f"{STATE}/lease.json", _holder("second"), ttl_s=600, clock=clock)
    assert json.loads(s3.read_bytes(f"{STATE}/lease.json"))["run_id"] == "second"
    with pytest.raises(LeaseLost, match="another run took the lake over; nothing was committed"):
        # had the first run survived, it must not commit now
        first.ensure_held()
    first.release()
    assert json.loads(s3.read_bytes(f"{STATE}/lease.json"))["run_id"] == "second", (
        "release deletes only its own"
    )
    second.ensure_held()
    second.release()
    assert s3.read_bytes(f"{STATE}/lease.json") is None


def test_s3_renewal_keeps_a_long_run_s_lease(s3: S3Storage) -> None:
    clock = Clock(T0)
    lease = S3Lease(s3.s3, f"{STATE}/lease.json", _holder("long"), ttl_s=600, clock=clock)
    clock.now = T0 + dt.timedelta(minutes=8)
    lease.renew()
    clock.now = T0 + dt.timedelta(minutes=15)
    with pytest.raises(LakeBusy):
        S3Lease(s3.s3, f"{STATE}/lease.json", _holder("other"), ttl_s=600, clock=clock)
    lease.release()


def test_two_runs_taking_over_an_expired_lease_one_wins(
    s3: S3Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(T0)
    dead = S3Lease(s3.s3, f"{STATE}/lease.json", _holder("dead"), ttl_s=600, clock=clock)
    dead._stop.set()
    clock.now = T0 + dt.timedelta(hours=1)
    get_object = s3.s3.get_object
    raced: list[S3Lease] = []

    def get_then_lose_the_race(**kwargs: Any) -> Any:
        # run A has read the expired lease and its ETag...
        current = get_object(**kwargs)
        # ...when run B takes it over first
        if not raced:
            monkeypatch.setattr(s3.s3, "get_object", get_object)
            raced.append(S3Lease(s3.s3, f"{STATE}/lease.json", _holder("B"), ttl_s=600, clock=clock))
        return current

    monkeypatch.setattr(s3.s3, "get_object", get_then_lose_the_race)
    with pytest.raises(LakeBusy, match="silver run B "):
        S3Lease(s3.s3, f"{STATE}/lease.json", _holder("A"), ttl_s=600, clock=clock)
    assert json.loads(s3.read_bytes(f"{STATE}/lease.json"))["run_id"] == "B"
    raced[0].release()


def test_the_job_s_storage_code_on_s3(s3: S3Storage) -> None:
    """Classifying and counting bronze, and refusing a damaged bookmark, on S3 (moto) as on a disk."""
    root = f"s3://{BUCKET}/bronze/orders"
    header = b"order_id,order_date,customer_id,country,product,quantity,unit_price\n"
    objects = {
        "ingest_date=2026-03-05/a.csv": header
        + b"1,2026-03-01,C1,US,P001,1,1.00\n\n2,2026-03-01,C1,US,P001,1,1.00",
        "ingest_date=2026-03-05/b.csv.gz": gzip.compress(header + b"3,2026-03-01,C1,US,P001,1,1.00\n"),
        "ingest_date=2026-03-05/c.CSV": (header.decode() + "4,2026-03-01,Müller,US,P001,1,1.00\n").encode(
            "cp1252"
        ),
        "ingest_date=2026-03-05/d.CSV.GZ": gzip.compress(header),
        "ingest_date=2026-03-05/a.csv.manifest.json": b"{}",
        "ingest_date=2026-03-05/.e.csv.tmp": header,
    }
    for key, body in objects.items():
        s3.s3.put_object(Bucket=BUCKET, Key=f"bronze/orders/{key}", Body=body)
    stock = take_stock(s3, root, s3.list_files(root, include_hidden=True))
    assert [(Path(f.path).name, f.records, f.utf8) for f in stock.files] == [
        ("a.csv", 2, True),
        ("b.csv.gz", 1, True),
        ("c.CSV", 1, False),
    ]
    assert all(isinstance(f, BronzeFile) and f.header[0] == "order_id" for f in stock.files)
    assert sorted(Path(n.path).name for n in stock.not_read) == [".e.csv.tmp", "d.CSV.GZ"]

    paths = Paths(f"s3://{BUCKET}/silver", STATE, f"s3://{BUCKET}/_runs/silver")
    s3.write_text(paths.bookmark, '{"version": 1, "files": {"a.csv": -1}}')
    with pytest.raises(StateError, match=f"{paths.bookmark} is damaged .*--full-refresh"):
        commit.load_bookmark(s3, paths)
