"""A run's reads are split by area by the longest path prefix that holds them (the index lives in the state
folder, the staging in the silver folder), and each storage is counted once however often it is listed."""

from __future__ import annotations

from pathlib import Path

from glue_jobs.measure import area_of, storage_figures
from glue_jobs.storage import LocalStorage

AREAS = {"/lake/_state": "state", "/lake/_state/order_index": "order_index", "/lake/silver": "silver"}


def test_the_longest_prefix_names_the_area() -> None:
    assert area_of("/lake/_state/order_index/part-1.parquet", AREAS) == "order_index"
    assert area_of("/lake/_state/bookmark.json", AREAS) == "state"
    assert area_of("/lake/_state_other/x", AREAS) == "other"
    assert area_of("/lake/silver", AREAS) == "silver"


def test_figures_count_each_storage_once(tmp_path: Path) -> None:
    storage = LocalStorage()
    target = tmp_path / "_state" / "bookmark.json"
    storage.write_text(str(target), "{}")
    assert storage.read_bytes(str(target)) == b"{}"
    assert storage.read_bytes(str(tmp_path / "missing")) is None
    figures = storage_figures([storage, storage], {str(tmp_path / "_state"): "state"})
    assert (figures.bytes_read, figures.objects_read, figures.bytes_written, figures.objects_written) == (
        2,
        1,
        2,
        1,
    )
    assert figures.bytes_read_by_area == {"state": 2}
