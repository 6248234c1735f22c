"""What a reader sees during a commit (no Spark), on moto's S3 and on a local folder.

The guarantee (``glue_jobs.commit.apply_swap``): a reader that lists a partition's folder and reads every file it
finds, as Athena and DuckDB do, always finds every row of the old version or every row of the new one, never
fewer; in between it may find both. The reader here looks after every single write the commit makes (each S3
request; each rename, link or removal locally), so no intermediate state escapes it.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from glue_jobs import commit
from glue_jobs.storage import LocalStorage, Storage
from tests.silver.commit_lake import (
    GONE,
    RUN,
    Rows,
    new_files,
    old_files,
    read_partition,
    rows,
    staged_commit,
)

BUCKET = "lake-bucket"
DAY = "order_date=2026-03-01"


@pytest.fixture(params=["s3", "local"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Storage, str]]:
    if request.param == "local":
        yield LocalStorage(), str(tmp_path / "lake")
    else:
        yield request.getfixturevalue("s3"), f"s3://{BUCKET}/lake"


def _after_every_write(storage: Storage, monkeypatch: pytest.MonkeyPatch, look: Callable[[], None]) -> None:
    """Call ``look`` after each write the commit makes: each S3 request that changes an object, or each
    file-system call that renames, links or removes a file."""
    client = storage.s3_client()
    if client is not None:
        for operation in ("CopyObject", "PutObject", "DeleteObject", "DeleteObjects"):
            client.meta.events.register(f"after-call.s3.{operation}", lambda **_: look())
        return
    for module, name in ((os, "rename"), (os, "replace"), (os, "remove"), (os, "link"), (os, "rmdir")):
        original = getattr(module, name)

        def wrapped(*args: Any, _original: Callable[..., Any] = original, **kwargs: Any) -> Any:
            result = _original(*args, **kwargs)
            look()
            return result

        monkeypatch.setattr(module, name, wrapped)
    rmtree = shutil.rmtree
    monkeypatch.setattr(shutil, "rmtree", lambda *a, **k: (rmtree(*a, **k), look())[0])


def test_a_lister_sees_the_old_day_or_the_new_day_whole_during_a_commit(
    store: tuple[Storage, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    storage, base = store
    lake = staged_commit(storage, base, [DAY])
    day_folder, gone_folder = lake.partition(DAY), lake.partition(GONE)
    old, new, moved = rows(old_files(DAY)), rows(new_files(DAY)), read_partition(storage, gone_folder)
    assert read_partition(storage, day_folder) == old and moved
    seen: list[tuple[Rows, Rows]] = []

    def look() -> None:
        seen.append((read_partition(storage, day_folder), read_partition(storage, gone_folder)))

    _after_every_write(storage, monkeypatch, look)
    commit.apply(storage, lake.paths, RUN, lake.journal)
    monkeypatch.undo()

    assert seen, "the reader looked at nothing"
    for day, gone in seen:
        assert day >= old or day >= new, f"a reader saw {sorted(day.elements())}: less than either version"
        assert gone in (moved, Counter()), (
            f"a reader saw part of a deleted partition: {sorted(gone.elements())}"
        )
    assert read_partition(storage, day_folder) == new, "the commit ends with the new version only"
    assert not storage.exists(gone_folder)
    # the reader did look while the swap was under way: both versions were there at once, for a moment
    assert any(day not in (old, new) for day, _ in seen)
