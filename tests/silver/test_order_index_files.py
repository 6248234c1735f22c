"""The order index's pure parts, without Spark: the key of an order_id, lookups across files, compaction."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest

from glue_jobs import order_index
from glue_jobs.order_index import Index, IndexDamaged, IndexFile
from glue_jobs.storage import LocalStorage

MASK = (1 << 64) - 1
IDS = [
    "a",
    "a-much-longer-order-id-0123456789",
    "é-ü",
    "",
    "0123456",
    "01234567",
    "012345678",
    "3f9c0a1b2c3d4e5f6a7b",
]


def _mix(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def reference_key(order_id: str) -> int:
    """The key, one id at a time in plain Python: what the vectorised version must compute."""
    data = order_id.encode()
    h = _mix(0x9E3779B97F4A7C15 ^ len(data))
    for start in range(0, len(data), 8):
        h = _mix(h ^ int.from_bytes(data[start : start + 8], "little"))
    return h


def test_keys_are_the_reference_hash_in_any_batch() -> None:
    expected = [reference_key(i) for i in IDS]
    assert [int(k) for k in order_index.keys(pa.array(IDS))] == expected
    assert [int(order_index.keys(pa.array([i]))[0]) for i in IDS] == expected
    chunked = pa.chunked_array([pa.array(IDS[:3]), pa.array(IDS[3:])])
    assert [int(k) for k in order_index.keys(chunked)] == expected
    assert [int(k) for k in order_index.keys(pa.array(IDS).slice(2))] == expected[2:]
    assert len(set(expected)) == len(IDS)


def _index(tmp_path: Path, *files: list[tuple[str, str]]) -> Index:
    """An index of in-memory files, oldest first, each of (order_id, order_date) pairs."""
    tables = {}
    for n, pairs in enumerate(files):
        ids = pa.array([p[0] for p in pairs], pa.string())
        dates = pa.array([dt.date.fromisoformat(p[1]) for p in pairs], pa.date32())
        tables[f"f{n}.parquet"] = order_index.entries(ids, dates)
    return Index(LocalStorage(), str(tmp_path), [IndexFile(k, t.num_rows) for k, t in tables.items()], tables)


def test_a_lookup_returns_every_date_any_file_records(tmp_path: Path) -> None:
    index = _index(tmp_path, [("a", "2026-03-01"), ("b", "2026-03-02")], [("a", "2026-03-05")])
    assert order_index.lookup(index, pa.array(["a"])) == {"2026-03-01", "2026-03-05"}
    assert order_index.lookup(index, pa.array(["b", "z"])) == {"2026-03-02"}
    assert order_index.lookup(index, pa.array([], pa.string())) == set()


def test_compaction_merges_by_size_and_the_newer_entry_wins(tmp_path: Path) -> None:
    big = [(f"o{n}", "2026-01-01") for n in range(10)]
    index = _index(tmp_path, big, [("o1", "2026-03-01"), ("x", "2026-03-02")], [("o2", "2026-03-03")])
    assert [f.rows for f in order_index.compact(index, "run").files] == [10, 2, 1], "2 >= 2 * 1: kept apart"
    newest = [("o1", "2026-03-04"), *[(f"y{n}", "2026-03-05") for n in range(6)]]
    compacted = order_index.compact(_index(tmp_path, big, [("o1", "2026-03-01")], newest), "run")
    assert [f.rows for f in compacted.files] == [16], "1 < 2 * 7, then 10 < 2 * 7: all merged, o1 once"
    merged = compacted.tables[compacted.files[0].name]
    pairs = dict(zip(merged["order_id"].to_pylist(), map(str, merged["order_date"].to_pylist()), strict=True))
    assert pairs["o1"] == "2026-03-04" and pairs["y5"] == "2026-03-05" and pairs["o2"] == "2026-01-01"


def test_a_written_file_reads_back_and_a_wrong_row_count_is_damage(tmp_path: Path) -> None:
    index = _index(tmp_path, [("a", "2026-03-01"), ("b", "2026-03-02")])
    puts, _ = order_index.stage(index, str(tmp_path / "staging"))
    assert [Path(p.staged).name for p in puts] == ["f0.parquet"]
    table = order_index.read_file(LocalStorage(), puts[0].staged, 2)
    assert table.equals(index.tables["f0.parquet"])
    with pytest.raises(IndexDamaged, match="holds 2 rows, the bookmark says 3"):
        order_index.read_file(LocalStorage(), puts[0].staged, 3)
    with pytest.raises(IndexDamaged, match="lists no order index"):
        order_index.load(LocalStorage(), {"version": 1, "files": {}}, str(tmp_path), silver_has_rows=True)
    assert (
        order_index.load(
            LocalStorage(), {"version": 1, "files": {}}, str(tmp_path), silver_has_rows=False
        ).files
        == []
    )
    empty = {"version": 1, "files": {}, "order_index": {"version": 1, "files": []}}
    with pytest.raises(IndexDamaged, match="is empty while silver holds orders"):
        order_index.load(LocalStorage(), empty, str(tmp_path), silver_has_rows=True)
    assert order_index.load(LocalStorage(), empty, str(tmp_path), silver_has_rows=False).files == []
