"""Every run's figures say what it read and wrote: through Storage (outside Spark), split by area, and what
Spark's tasks read, by Spark's own metrics; the run file on storage holds them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.silver.helpers import bronze_file

pytestmark = pytest.mark.spark


def test_a_run_reports_its_reads_and_writes(lake: Path, run_job: Callable[..., dict]) -> None:
    bronze_file(lake, "20260302_080000", "day1", [f"o{n},2026-03-01,C1,US,P001,1,1.00" for n in range(50)])
    first = run_job(lake)
    bronze_file(lake, "20260303_080000", "day2", ["o1,2026-03-02,C1,US,P001,2,1.00"])
    second = run_job(lake)

    bronze_bytes = sum(p.stat().st_size for p in (lake / "bronze").rglob("*.csv"))
    for run in (first, second):
        io = run.storage
        assert io["bytes_read"] > 0 and io["objects_read"] > 0
        assert io["bytes_written"] > 0 and io["objects_written"] > 0
        assert sum(io["bytes_read_by_area"].values()) == io["bytes_read"]
        # Spark read the new CSV and, for the merge, the touched partitions' Parquet
        assert run.spark_input_bytes > 0
    # the first run read its one bronze file to count its records; the second its own new file only
    first_areas, second_areas = first.storage["bytes_read_by_area"], second.storage["bytes_read_by_area"]
    assert first_areas["bronze"] <= bronze_bytes
    assert 0 < second_areas["bronze"] < first_areas["bronze"]
    # the second run looked its order up in the index the first one built (the first found none)
    assert "order_index" not in first_areas
    assert second_areas["order_index"] > 0

    run_file = lake / "_runs" / "silver" / f"{second.run_id}.json"
    written = json.loads(run_file.read_text())
    assert written["storage"] == second.storage
    assert written["spark_input_bytes"] == second.spark_input_bytes
