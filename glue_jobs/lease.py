"""One writer at a time: a lease on the lake's silver state, taken before a run reads anything and given back
after it commits.

Locally the lease is an exclusive ``flock(2)`` on ``<state>/lease.json``: the kernel drops it when the holding
process ends, however it ends (``kill -9`` included), so a killed run never blocks the next one. The file holds
who has it (run id, host, pid, since when) so that a refused run can say so.

On S3 there is no lock, but there are conditional writes: the lease is the object ``<state>/lease.json``, created
with ``If-None-Match: *`` (only one writer can create it), renewed by its holder with ``If-Match: <etag>`` while it
runs, and deleted on release. It carries an expiry: a run killed without releasing it leaves a lease that the
next run takes over, atomically (``If-Match`` on the expired lease's ETag: of two runs taking over, one wins),
once it has expired. Glue's ``MaxConcurrentRuns: 1`` alone does not cover a manual or a local run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from glue_jobs.storage import CONFLICT, Storage, error_code, join, split_s3

log = logging.getLogger(__name__)
LEASE = "lease.json"
# S3: a killed run's lease is taken over 10 minutes after its last renewal
TTL_S = 600
Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Holder:
    """Who holds the lake: shown to a run that is refused."""

    run_id: str
    command: str
    host: str
    pid: int
    since: str
    expires: str | None = None

    @classmethod
    def me(cls, run_id: str, command: str, now: dt.datetime | None = None) -> Holder:
        return cls(run_id, command, socket.gethostname(), os.getpid(), _stamp(now or utc_now()))

    def describe(self) -> str:
        return (
            f"{self.command} run {self.run_id} (host {self.host}, pid {self.pid}) holds it since {self.since}"
        )

    def dumps(self) -> str:
        return json.dumps(asdict(self), sort_keys=True) + "\n"

    @classmethod
    def loads(cls, raw: bytes | str | None) -> Holder | None:
        try:
            data = json.loads(raw or "")
            return cls(
                **{k: data[k] for k in ("run_id", "command", "host", "pid", "since")},
                expires=data.get("expires"),
            )
        except (ValueError, TypeError, KeyError):
            return None


class LakeBusy(RuntimeError):
    """Another run holds the lake; the message names it and says what to do."""

    def __init__(self, where: str, holder: Holder | None) -> None:
        who = holder.describe() if holder else "another process holds it (it has not said who yet)"
        wait = "wait for it to finish, then run again"
        if holder and holder.expires:
            wait += f" (if it was killed, its lease expires at {holder.expires} and the next run takes over)"
        super().__init__(f"the lake is in use: {who}; {wait} [lease {where}]")
        self.holder = holder


class LeaseLost(RuntimeError):
    """This run's S3 lease expired and another run took it over: this run must not commit."""


class LeaseUnsupported(RuntimeError):
    """The S3 client cannot make the conditional writes the lease is built on (a botocore older than 1.35.69)."""


# The oldest botocore whose S3 model has put_object's IfNoneMatch and IfMatch and delete_object's IfMatch.
CONDITIONAL_WRITES_SINCE = "1.35.69"


def _unsupported(exc: BaseException) -> LeaseUnsupported:
    import botocore

    return LeaseUnsupported(
        f"the S3 lease needs conditional writes (put_object IfNoneMatch/IfMatch, delete_object IfMatch), which "
        f"botocore {botocore.__version__} does not have ({str(exc).splitlines()[-1].strip()}): run the job on "
        f"requirements/glue.txt (the Glue job installs it through --additional-python-modules) or on botocore "
        f">= {CONDITIONAL_WRITES_SINCE}"
    )


class LocalLease:
    """An exclusive ``flock`` on a local file, released by the kernel if the process dies."""

    def __init__(self, path: str, holder: Holder) -> None:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raw = os.pread(fd, 64 * 1024, 0)
            os.close(fd)
            raise LakeBusy(path, Holder.loads(raw)) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, holder.dumps().encode(), 0)
        self.fd: int | None = fd

    def ensure_held(self) -> None:
        """Always true while the process lives: the kernel holds a flock until it is released."""

    def release(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self.fd, 0)
            # closing the last descriptor drops the flock
            os.close(self.fd)
            self.fd = None


class S3Lease:
    """A lease object on S3, created and renewed with conditional writes; a daemon thread renews it."""

    def __init__(
        self, client: Any, uri: str, holder: Holder, *, ttl_s: int = TTL_S, clock: Clock = utc_now
    ) -> None:
        self.s3, self.uri, self.ttl_s, self.clock = client, uri, ttl_s, clock
        self.bucket, self.key = split_s3(uri)
        self.holder = holder
        # the renewer thread and ensure_held() must not race on the ETag
        self._lock = threading.Lock()
        self.etag = self._take()
        self.lost = False
        self._stop = threading.Event()
        self._renewer = threading.Thread(target=self._renew_loop, name="lake-lease", daemon=True)
        self._renewer.start()

    def _body(self) -> bytes:
        expires = _stamp(self.clock() + dt.timedelta(seconds=self.ttl_s))
        self.holder = Holder(**{**asdict(self.holder), "expires": expires})
        return self.holder.dumps().encode()

    def _put(self, **condition: str) -> str:
        from botocore.exceptions import ParamValidationError

        try:
            return self.s3.put_object(Bucket=self.bucket, Key=self.key, Body=self._body(), **condition)[
                "ETag"
            ]
        except ParamValidationError as exc:
            raise _unsupported(exc) from None

    def _take(self) -> str:
        # the lease may be released or taken over between our two requests: look again
        for _ in range(3):
            try:
                return self._put(IfNoneMatch="*")
            except Exception as exc:
                if error_code(exc) not in CONFLICT:
                    raise
            try:
                current = self.s3.get_object(Bucket=self.bucket, Key=self.key)
            except self.s3.exceptions.NoSuchKey:
                continue
            holder = Holder.loads(current["Body"].read())
            expires = _parse(holder.expires) if holder else None
            if expires is not None and expires > self.clock():
                raise LakeBusy(self.uri, holder)
            log.warning(
                "lease %s: taking over the expired lease of %s", self.uri, holder and holder.describe()
            )
            try:
                return self._put(IfMatch=current["ETag"])
            except Exception as exc:
                if error_code(exc) not in CONFLICT | {"NoSuchKey", "404"}:
                    raise
        current_holder = self._current()
        raise LakeBusy(self.uri, current_holder)

    def _current(self) -> Holder | None:
        try:
            return Holder.loads(self.s3.get_object(Bucket=self.bucket, Key=self.key)["Body"].read())
        except Exception:
            return None

    def renew(self) -> None:
        """Push the expiry forward; if the lease is no longer ours, remember it (the run must not commit)."""
        with self._lock:
            if self.lost:
                raise LeaseLost(f"lease {self.uri} was taken over")
            try:
                self.etag = self._put(IfMatch=self.etag)
            except Exception as exc:
                if error_code(exc) in CONFLICT | {"NoSuchKey", "404"}:
                    self.lost = True
                raise

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.ttl_s / 4):
            try:
                self.renew()
            # a network blip: the next renewal tries again before the lease expires
            except Exception as exc:
                log.warning("lease %s: renewal failed: %s", self.uri, exc)
                if self.lost:
                    return

    def ensure_held(self) -> None:
        """Renew now; raise :class:`LeaseLost` if another run has taken the lease (this run must not commit)."""
        try:
            self.renew()
        except Exception as exc:
            if self.lost:
                raise LeaseLost(
                    f"this run's lease {self.uri} expired and another run took the lake over; nothing was "
                    "committed: run again"
                ) from exc
            raise

    def release(self) -> None:
        self._stop.set()
        self._renewer.join()
        if not self.lost:
            from botocore.exceptions import ParamValidationError

            try:
                self.s3.delete_object(Bucket=self.bucket, Key=self.key, IfMatch=self.etag)
            except ParamValidationError as exc:
                raise _unsupported(exc) from None
            # already taken over or gone: nothing of ours to delete
            except Exception as exc:
                if error_code(exc) not in CONFLICT | {"NoSuchKey", "404"}:
                    raise


def _parse(stamp: str | None) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(stamp or "", "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return None


Lease = LocalLease | S3Lease


@contextlib.contextmanager
def hold(storage: Storage, state_path: str, holder: Holder, **s3_options: Any) -> Iterator[Lease]:
    """Hold the lake's lease (``<state_path>/lease.json``) for the duration of the block, or raise LakeBusy.
    ``s3_options`` (``ttl_s``, ``clock``) tune the S3 lease."""
    path = join(state_path, LEASE)
    client, local = storage.s3_client(), storage.local_path(path)
    lease: Lease
    if client is not None:
        lease = S3Lease(client, path, holder, **s3_options)
    elif local is not None:
        lease = LocalLease(local, holder)
    else:
        raise LeaseUnsupported(
            f"no lease can be taken on {path}: its storage is neither S3 nor a local folder"
        )
    try:
        yield lease
    finally:
        lease.release()
