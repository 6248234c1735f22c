"""An order index in the layout before its parts by order date (one key range for every date, version 1 of the
bookmark's listing) keeps working: the first run rebuilds it from silver by date, says so, and loses nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from glue_jobs import order_index
from glue_jobs.storage import LocalStorage
from tests.silver.helpers import bronze_file, index_files, index_pairs, silver_pairs

pytestmark = pytest.mark.spark

DAY1 = ["a,2026-03-01,C1,US,P001,1,1.00", "b,2026-03-02,C2,GB,P002,2,2.00", "c,2026-03-03,C3,DE,P003,3,3.00"]
# a moves to a new date, c to b's
DAY2 = ["a,2026-03-09,C1,US,P001,1,1.00", "c,2026-03-02,C3,DE,P003,3,3.00", "d,2026-03-04,C4,FR,P004,4,4.00"]
AFTER_DAY2 = {("a", "2026-03-09"), ("b", "2026-03-02"), ("c", "2026-03-02"), ("d", "2026-03-04")}


def _to_the_old_layout(lake: Path) -> Path:
    """Rewrite the index as the job wrote it before the parts: one file of every date, sorted by key, listed in
    a version 1 manifest without days. Returns the old file."""
    folder = lake / "_state" / "silver" / "order_index"
    table = pa.concat_tables([pq.read_table(p) for p in index_files(lake)]).sort_by("key")
    for path in folder.iterdir():
        path.unlink()
    old = folder / "part-before.parquet"
    order_index.write_file(LocalStorage(), table, str(old))
    bookmark = lake / "_state" / "silver" / "bookmark.json"
    data = json.loads(bookmark.read_text())
    data["order_index"] = {"version": 1, "files": [{"name": old.name, "rows": table.num_rows}]}
    bookmark.write_text(json.dumps(data))
    return old


def test_an_index_of_the_old_layout_is_rebuilt_by_date_on_the_first_run(
    lake: Path, run_job: Callable[..., object]
) -> None:
    bronze_file(lake, "20260302_080000", "day1", DAY1)
    run_job(lake)
    old = _to_the_old_layout(lake)

    bronze_file(lake, "20260309_080000", "day2", DAY2)
    second = run_job(lake)
    assert "layout of version 1" in second.order_index_rebuilt, "the run says it rebuilt the index, and why"
    assert silver_pairs(lake) == AFTER_DAY2, "the moved orders left their old dates: nothing doubled"
    assert index_pairs(lake) == AFTER_DAY2
    assert not old.exists(), "the old file is deleted with the commit"
    listing = json.loads((lake / "_state" / "silver" / "bookmark.json").read_text())["order_index"]
    assert listing["version"] == 2 and all(f["day"] for f in listing["files"])

    bronze_file(lake, "20260310_080000", "day3", ["e,2026-03-10,C5,US,P001,1,1.00"])
    assert run_job(lake).order_index_rebuilt == "", "rebuilt once, in the new layout afterwards"
    assert index_pairs(lake) == silver_pairs(lake)
