"""Where each order lives: an ``order_id -> order_date`` index kept with the job's state, so that an incremental
run finds the dates a correction moves orders away from without scanning silver's history.

Layout: Parquet files ``<state>/order_index/part-<run_id>-<day>-<n>.parquet`` with columns ``key`` (a 64-bit hash
of the order_id, :func:`keys`), ``order_id`` and ``order_date``, each file sorted by ``key`` and holding the
orders of one ``order_date`` (its *day*): the index is split into one part per day. Which files make the index,
with each one's day and row count, is recorded in ``bookmark.json`` (``"order_index"``, version 2), so the index
moves with the bookmark in the run's atomic commit (:mod:`glue_jobs.commit`): the new files are put in place,
then the bookmark that lists them, then the files it no longer lists are deleted. Silver holds one row per
order_id, so the index is exactly silver's set of (order_id, order_date) pairs, and can always be rebuilt from
silver.

A run looks each of its ids up only in the parts of the days within the correction horizon of that id's own
order_date (:func:`window_days`, :func:`lookup`): its reads are its own keys in a bounded number of days, however
long the history (docs/decisions/0008-silver-reads.md). It reads the ``key`` and ``order_date`` columns of the row
groups whose key range holds one of its keys (the order_id strings are never read) and binary-searches its
sorted keys in each file. A lookup returns *every* date any file records for a key: two order_ids sharing a hash
can only make the run rewrite one partition more than needed, never miss one. Each run adds, for each day its
orders now live on, one file of those orders, removes the orders it moved from the parts of the days they left
(:func:`after_run`), and merges each changed day's newest files while a file is less than twice the size of the
next newer one (:func:`compact`): a day holds O(log(orders)) files and compaction reads at most a day's part.

Memory is bounded by :data:`MAX_FILE_ROWS`, not by the number of orders: a full refresh (or a rebuild) writes the
index as files of at most that many rows, each written to the run's staging as soon as it is complete, and
compaction never makes a file larger than that (bench/README.md has what one unbounded file cost).

Any file that is missing, not Parquet, of another schema, of another row count than the bookmark says, or not
sorted raises :class:`IndexDamaged`, and so does an index in the layout before the day parts (version 1): the run
then rebuilds the index from silver and reports it.

All I/O goes through :class:`glue_jobs.storage.Storage` (boto3 on S3, as every other part of the job): a file is
read by ranged reads of the bytes pyarrow asks for, and written by serialising it in memory, so pyarrow's own S3
client (its credential chain, its region discovery) is never used.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from glue_jobs.journal import Swap
from glue_jobs.storage import Storage, join, relative

INDEX_DIR = "order_index"
SCHEMA = pa.schema(
    [("key", pa.uint64(), False), ("order_id", pa.string(), False), ("order_date", pa.date32(), False)]
)
CHUNK = 1 << 20
# The cap on one file's rows, and so on the memory it takes to build, sort and serialise (bench/README.md)
MAX_FILE_ROWS = 1 << 22
# A lookup reads only the row groups whose key range holds one of the run's keys: small groups make that a small
# read (4096 keys and dates, about 40 KB), at a few hundred bytes of footer each
ROW_GROUP_ROWS = 1 << 12
_SEED = np.uint64(0x9E3779B97F4A7C15)
# the bookmark's "order_index": version 2 lists each file with the order_date (day) its rows hold
MANIFEST_VERSION = 2


class IndexDamaged(RuntimeError):
    """The index does not match what the bookmark says of it: rebuild it from silver."""


@dataclass(frozen=True)
class IndexFile:
    """One index file: its name under the index folder, its row count, and the order_date its rows hold
    (``YYYY-MM-DD``)."""

    name: str
    rows: int
    day: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "rows": self.rows, "day": self.day}


@dataclass(frozen=True)
class Footer:
    """An index file's footer, and the file's size in bytes."""

    metadata: pq.FileMetaData
    size: int


@dataclass
class Index:
    """The index files, oldest first. This run's files, not yet in the state folder, are in memory (``tables``)
    or already written to the run's staging (``staged``: name -> path)."""

    storage: Storage
    root: str
    files: list[IndexFile]
    tables: dict[str, pa.Table] = field(default_factory=dict)
    staged: dict[str, str] = field(default_factory=dict)
    # each file's footer and size, as :func:`load` checked it: a lookup does not fetch it again
    footers: dict[str, Footer] = field(default_factory=dict)
    # the files a lookup read (names): what the run reports of how it bounded its lookups
    files_read: set[str] = field(default_factory=set)

    def path(self, entry: IndexFile) -> str:
        return self.staged.get(entry.name, join(self.root, entry.name))

    def read(self, entry: IndexFile, columns: list[str] | None = None) -> pa.Table:
        if entry.name in self.tables:
            table = self.tables[entry.name]
            return table.select(columns) if columns else table
        return read_file(self.storage, self.path(entry), entry.rows, columns)


# ------------------------------------------------------------------------------------------ the manifest
def parse_manifest(data: Any) -> list[IndexFile] | None:
    """The files the bookmark lists (None: it lists no index, e.g. a lake from before the index existed);
    IndexDamaged for an index in the layout before the day parts (version 1), which is rebuilt by day."""
    if not isinstance(data, dict) or "order_index" not in data:
        return None
    listed = data["order_index"]
    files = listed.get("files") if isinstance(listed, dict) else None
    if not isinstance(files, list) or not all(
        isinstance(f, dict)
        and isinstance(f.get("name"), str)
        and isinstance(f.get("rows"), int)
        and not isinstance(f.get("rows"), bool)
        for f in files
    ):
        raise IndexDamaged("the bookmark's 'order_index' is not a list of files with their row counts")
    if files and listed.get("version") != MANIFEST_VERSION:
        raise IndexDamaged(
            f"the order index is in the layout of version {listed.get('version')}, one key range for every date, "
            f"not version {MANIFEST_VERSION}'s parts by order_date"
        )
    if not all(_is_day(f.get("day")) for f in files):
        raise IndexDamaged("the bookmark's 'order_index' lists a file without its day (YYYY-MM-DD)")
    return [IndexFile(f["name"], f["rows"], f["day"]) for f in files]


def _is_day(value: Any) -> bool:
    try:
        return isinstance(value, str) and dt.date.fromisoformat(value).isoformat() == value
    except ValueError:
        return False


def manifest(files: list[IndexFile]) -> dict[str, Any]:
    return {"version": MANIFEST_VERSION, "files": [f.to_dict() for f in files]}


# ------------------------------------------------------------------------------------------ keys
def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer: every input bit affects every output bit."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _chunk_keys(ids: pa.Array) -> np.ndarray:
    arr = ids.cast(pa.large_binary())
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    data = np.frombuffer(arr.buffers()[2] or b"\0", dtype=np.uint8)
    starts, lengths = offsets[:-1], np.diff(offsets).astype(np.uint64)
    h = _mix(_SEED ^ lengths)
    for word_start in range(0, int(lengths.max(initial=0)), 8):
        word = np.zeros(len(arr), dtype=np.uint64)
        for j in range(8):
            inside = lengths > np.uint64(word_start + j)
            byte = data[np.where(inside, starts + word_start + j, 0)].astype(np.uint64)
            word |= np.where(inside, byte, np.uint64(0)) << np.uint64(8 * j)
        h = np.where(lengths > np.uint64(word_start), _mix(h ^ word), h)
    return h


def keys(ids: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A 64-bit hash of each order_id (its UTF-8 bytes), the same in every process and version of the job."""
    if isinstance(ids, pa.ChunkedArray):
        ids = ids.combine_chunks()
    with np.errstate(over="ignore"):
        parts = [_chunk_keys(ids.slice(i, CHUNK)) for i in range(0, len(ids), CHUNK)]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)


def entries(order_ids: pa.Array | pa.ChunkedArray, order_dates: pa.Array | pa.ChunkedArray) -> pa.Table:
    """Index rows for (order_id, order_date) pairs, sorted by key."""
    table = pa.table(
        {"key": pa.array(keys(order_ids), pa.uint64()), "order_id": order_ids, "order_date": order_dates},
        schema=SCHEMA,
    )
    return table.sort_by("key")


# ------------------------------------------------------------------------------------------ files
@contextlib.contextmanager
def _checked(
    storage: Storage, path: str, rows: int, footer: Footer | None
) -> Iterator[tuple[pq.ParquetFile, int]]:
    """An index file opened for reading, checked against the bookmark's row count and the index schema;
    IndexDamaged if not, or if it cannot be read. ``footer``: its footer, read already (not fetched again)."""
    source = storage.open_for_columns(path, footer.size if footer else None)
    if source is None:
        raise IndexDamaged(f"{path} is missing")
    try:
        parquet = pq.ParquetFile(source, metadata=footer.metadata if footer else None)
        if not parquet.schema_arrow.equals(SCHEMA):
            raise IndexDamaged(f"{path} has the schema {parquet.schema_arrow}, not the index's")
        if parquet.metadata.num_rows != rows:
            raise IndexDamaged(f"{path} holds {parquet.metadata.num_rows} rows, the bookmark says {rows}")
        yield parquet, source.size()
    except (OSError, pa.ArrowException) as exc:
        raise IndexDamaged(f"{path} cannot be read ({str(exc).splitlines()[0]})") from None
    finally:
        source.close()


def read_file(
    storage: Storage,
    path: str,
    rows: int,
    columns: list[str] | None = None,
    *,
    footer: Footer | None = None,
    groups: Callable[[pq.FileMetaData], list[int]] | None = None,
) -> pa.Table:
    """One index file (checked: :func:`_checked`); ``groups``: which of its row groups to read (all by
    default), chosen from its footer."""
    with _checked(storage, path, rows, footer) as (parquet, _):
        if groups is None:
            return parquet.read(columns=columns)
        return parquet.read_row_groups(groups(parquet.metadata), columns=columns)


def read_footer(storage: Storage, path: str, rows: int) -> Footer:
    """An index file's footer (only its bytes are fetched), checked like :func:`read_file`."""
    with _checked(storage, path, rows, None) as (parquet, size):
        return Footer(parquet.metadata, size)


def write_file(storage: Storage, table: pa.Table, path: str) -> None:
    sink = pa.BufferOutputStream()
    # the keys are random: compressing them gains nothing and costs reading them (bench/README.md)
    compression = {"key": "none", "order_id": "zstd", "order_date": "zstd"}
    pq.write_table(
        table, sink, compression=compression, use_dictionary=["order_date"], row_group_size=ROW_GROUP_ROWS
    )
    storage.write_bytes(path, sink.getvalue().to_pybytes())


def partition_date(table_path: str, path: str) -> dt.date:
    """The ``order_date`` of a silver file's Hive partition folder (``<table>/order_date=YYYY-MM-DD/...``)."""
    folder = relative(table_path, path).split("/", 1)[0]
    name, _, value = folder.partition("=")
    if name != "order_date":
        raise ValueError(f"{path} is not in an order_date=YYYY-MM-DD partition of {table_path}")
    return dt.date.fromisoformat(value)


def file_pairs(storage: Storage, table_path: str, path: str) -> pa.Table:
    """The (order_id, order_date) pairs of one silver file."""
    ids = _column(storage, path, "order_id")
    day = pa.scalar(partition_date(table_path, path), pa.date32())
    return pa.table({"order_id": ids.cast(pa.string()), "order_date": pa.repeat(day, len(ids))})


def _column(storage: Storage, path: str, column: str) -> pa.Array:
    source = storage.open_for_columns(path)
    if source is None:
        raise FileNotFoundError(f"{path} vanished while it was read")
    with source:
        return pq.read_table(source, columns=[column])[column].combine_chunks()


def read_pairs(storage: Storage, table_path: str, only: pa.Array | None = None) -> pa.Table:
    """Index rows of the (order_id, order_date) pairs of a silver table (Hive-partitioned by order_date),
    read file by file through ``storage`` (no Spark job); ``only``: of those order_ids only (filtered once, on
    all the pairs: a filter per file would hash ``only`` again for every file, minutes for a large run)."""
    files = storage.list_files(table_path, ".parquet")
    if not files:
        return SCHEMA.empty_table()
    pairs = pa.concat_tables([file_pairs(storage, table_path, f.path) for f in files])
    if only is not None:
        pairs = pairs.filter(pc.is_in(pairs["order_id"], value_set=only))
    return entries(pairs["order_id"], pairs["order_date"])


def read_pairs_in_files(storage: Storage, table_path: str, max_rows: int) -> Iterator[pa.Table]:
    """Index rows of all the pairs of a silver table, as tables of about ``max_rows`` rows (at most ``max_rows``
    plus one silver file), one at a time: each holds whole silver files, so no order_id is in two of them."""
    group: list[pa.Table] = []
    rows = 0
    for f in storage.list_files(table_path, ".parquet"):
        pairs = file_pairs(storage, table_path, f.path)
        group.append(pairs)
        rows += pairs.num_rows
        if rows >= max_rows:
            yield _entries_of(group)
            group, rows = [], 0
    if group:
        yield _entries_of(group)


def _entries_of(group: list[pa.Table]) -> pa.Table:
    pairs = pa.concat_tables(group)
    return entries(pairs["order_id"], pairs["order_date"])


def staged_pairs(storage: Storage, parsed_path: str, columns: list[str]) -> pa.Table:
    """The distinct (order_id, order_date) pairs of the Parquet files under ``parsed_path``, from the two
    ``columns`` that hold them, rows without an id left out (the run's valid orders and their new dates in the
    rows it staged: read with pyarrow, not collected through Spark)."""
    id_column, date_column = columns
    files = storage.list_files(parsed_path, ".parquet")
    tables = []
    for f in files:
        source = storage.open_for_columns(f.path)
        if source is None:
            raise FileNotFoundError(f"{f.path} vanished while it was read")
        with source:
            tables.append(pq.read_table(source, columns=columns))
    empty = pa.table({id_column: pa.array([], pa.string()), date_column: pa.array([], pa.date32())})
    if not tables:
        return empty
    read = pa.concat_tables(tables)
    read = read.filter(pc.is_valid(read[id_column]))
    pairs = pa.table(
        {id_column: read[id_column].cast(pa.string()), date_column: read[date_column].cast(pa.date32())}
    )
    return pairs.group_by([id_column, date_column]).aggregate([]).combine_chunks()


# ------------------------------------------------------------------------------------------ lookup
def check_sorted(name: str, file_keys: np.ndarray) -> None:
    if len(file_keys) > 1 and not bool(np.all(file_keys[1:] >= file_keys[:-1])):
        raise IndexDamaged(f"{name} is not sorted by key")


def key_ranges(footer: pq.FileMetaData) -> list[tuple[int, int]]:
    """Each row group's (smallest, largest) key, from the footer; IndexDamaged when the groups are not in key
    order or a group has no key statistics (a file not written by :func:`write_file`)."""
    ranges = []
    for n in range(footer.num_row_groups):
        stats = footer.row_group(n).column(0).statistics
        if stats is None or not stats.has_min_max:
            raise IndexDamaged("an index file's row group has no key statistics")
        ranges.append((int(stats.min), int(stats.max)))
    if any(later[0] < earlier[1] for earlier, later in itertools.pairwise(ranges)):
        raise IndexDamaged("an index file's row groups are not sorted by key")
    return ranges


def groups_holding(wanted: np.ndarray) -> Callable[[pq.FileMetaData], list[int]]:
    """The row groups whose key range holds one of the ``wanted`` keys (sorted)."""

    def pick(footer: pq.FileMetaData) -> list[int]:
        picked = []
        for n, (low, high) in enumerate(key_ranges(footer)):
            at = int(np.searchsorted(wanted, np.uint64(low), "left"))
            if at < len(wanted) and int(wanted[at]) <= high:
                picked.append(n)
        return picked

    return pick


def _epoch_days(days: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(days.cast(pa.date32()).cast(pa.int32()).to_numpy(zero_copy_only=False), dtype=np.int64)


def _day_number(day: str) -> int:
    return (dt.date.fromisoformat(day) - dt.date(1970, 1, 1)).days


@dataclass(frozen=True)
class Bound:
    """A lookup bounded by the correction horizon: each id (``ids``) is looked up only in the parts of the days
    within ``horizon_days`` of its own order_date (``days``, the same length: an id with two new dates in a run
    appears twice)."""

    ids: pa.Array | pa.ChunkedArray
    days: pa.Array | pa.ChunkedArray
    horizon_days: int

    def near(self, day: str) -> np.ndarray:
        """Which of the ids are within the horizon of ``day``."""
        return np.abs(_epoch_days(self.days) - _day_number(day)) <= self.horizon_days


def window_days(files: list[IndexFile], bound: Bound) -> set[str]:
    """The days of ``files`` within the horizon of one of the bound's order_dates: the parts a run reads."""
    own = np.unique(_epoch_days(bound.days))
    picked = set()
    for day in {f.day for f in files if f.day}:
        number = _day_number(day)
        # the nearest of the bound's dates at or after number - horizon must be at most number + horizon
        at = int(np.searchsorted(own, number - bound.horizon_days, "left"))
        if at < len(own) and int(own[at]) <= number + bound.horizon_days:
            picked.add(day)
    return picked


def lookup(
    index: Index, order_ids: pa.Array | pa.ChunkedArray | None, bound: Bound | None = None
) -> set[str]:
    """Every order_date the index records for any of ``order_ids`` (ISO strings): see :func:`locate`."""
    _, days = locate(index, order_ids, bound)
    return {str(np.datetime64(int(d), "D")) for d in np.unique(days)}


def locate(
    index: Index, order_ids: pa.Array | pa.ChunkedArray | None, bound: Bound | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Every (key, order_date as days since the epoch) the index records for any of ``order_ids``, reading only
    the keys and dates of the row groups whose key range holds one of the ids' keys (and no footer :func:`load`
    read already); IndexDamaged when a file does not match the bookmark. With a ``bound``, each of its ids is
    looked up only in the files of the days within its horizon (``order_ids`` is then ignored)."""
    ids = bound.ids if bound is not None else order_ids
    all_keys = keys(ids if ids is not None else pa.array([], pa.string()))
    found_keys: list[np.ndarray] = [np.zeros(0, np.uint64)]
    found_days: list[np.ndarray] = [np.zeros(0, np.int64)]
    if len(all_keys) == 0:
        return found_keys[0], found_days[0]
    window = window_days(index.files, bound) if bound is not None else set()
    for entry in index.files:
        if bound is None:
            wanted = np.unique(all_keys)
        elif entry.day not in window:
            continue
        else:
            wanted = np.unique(all_keys[bound.near(entry.day)])
        if len(wanted) == 0:
            continue
        file_keys, file_days = _lookup_file(index, entry, wanted)
        found_keys.append(file_keys)
        found_days.append(file_days)
    return np.concatenate(found_keys), np.concatenate(found_days)


def vacated_days(found_keys: np.ndarray, found_days: np.ndarray, bound: Bound) -> set[str]:
    """The days the index found one of the bound's orders on that are not one of that order's new days: the
    days a correction moves orders away from, whose parts must forget them."""
    own = set(zip(keys(bound.ids).tolist(), _epoch_days(bound.days).tolist(), strict=True))
    return {
        str(np.datetime64(day, "D"))
        for key, day in zip(found_keys.tolist(), found_days.tolist(), strict=True)
        if (key, day) not in own
    }


def _lookup_file(index: Index, entry: IndexFile, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The (keys, days since the epoch) one file records for the ``wanted`` keys (sorted, distinct)."""
    if entry.name in index.tables:
        table = index.read(entry, ["key", "order_date"])
    else:
        table = read_file(
            index.storage,
            index.path(entry),
            entry.rows,
            ["key", "order_date"],
            footer=index.footers.get(entry.name),
            groups=groups_holding(wanted),
        )
    index.files_read.add(entry.name)
    file_keys = table["key"].to_numpy()
    check_sorted(entry.name, file_keys)
    days = table["order_date"].cast(pa.int32()).to_numpy().astype(np.int64)
    hits = np.zeros(len(file_keys), dtype=bool)
    left = np.searchsorted(file_keys, wanted, "left")
    right = np.searchsorted(file_keys, wanted, "right")
    for lo, hi in zip(left[right > left], right[right > left], strict=True):
        hits[lo:hi] = True
    return file_keys[hits], days[hits]


# ------------------------------------------------------------------------------------------ compaction
def merge(older: pa.Table, newer: pa.Table) -> pa.Table:
    """One file of two: the newer entry of each order_id wins."""
    kept = older.filter(pc.invert(pc.is_in(older["order_id"], value_set=newer["order_id"])))
    return pa.concat_tables([kept, newer]).sort_by("key")


def compact(index: Index, name: str, days: set[str] | None = None) -> Index:
    """Merge each day's newest files (of ``days``, all by default) while one is less than twice the size of the
    next newer one and the two hold at most :data:`MAX_FILE_ROWS` (a merged file is named
    ``<name>-m<n>.parquet``, kept in memory, in the place of the newer one): sizes grow geometrically up to the
    cap, so a day has O(log) files plus one per ``MAX_FILE_ROWS`` orders, and a merge reads one day's files."""
    work = _copy(index)
    for day in sorted({f.day for f in work.files} if days is None else days):
        while True:
            mine = [n for n, f in enumerate(work.files) if f.day == day]
            if len(mine) < 2:
                break
            older, newer = work.files[mine[-2]], work.files[mine[-1]]
            if not (older.rows < 2 * newer.rows and older.rows + newer.rows <= MAX_FILE_ROWS):
                break
            merged = merge(work.read(older), work.read(newer))
            entry = IndexFile(f"{name}-m{len(work.tables)}.parquet", merged.num_rows, day)
            work.tables[entry.name] = merged
            work.files[mine[-1]] = entry
            del work.files[mine[-2]]
    return _kept(work)


def _copy(index: Index) -> Index:
    return Index(
        index.storage,
        index.root,
        list(index.files),
        dict(index.tables),
        dict(index.staged),
        dict(index.footers),
    )


def _kept(work: Index) -> Index:
    """The index without the tables and staged files it no longer lists."""
    listed = {f.name for f in work.files}
    return Index(
        work.storage,
        work.root,
        work.files,
        {k: v for k, v in work.tables.items() if k in listed},
        {k: v for k, v in work.staged.items() if k in listed},
        {k: v for k, v in work.footers.items() if k in listed},
    )


# ------------------------------------------------------------------------------------------ a run's index
def load(
    storage: Storage, bookmark: Any, root: str, silver_has_rows: bool, days: set[str] | None = None
) -> Index:
    """The index the bookmark lists, the footers of its files of ``days`` (all by default) checked;
    IndexDamaged when it cannot be trusted (including a bookmark that lists none while silver holds rows: a lake
    from before the index; and an index in the layout before the day parts)."""
    files = parse_manifest(bookmark)
    if files is None:
        if silver_has_rows:
            raise IndexDamaged("the bookmark lists no order index while silver holds orders")
        files = []
    if silver_has_rows and not any(f.rows for f in files):
        raise IndexDamaged("the bookmark's order index is empty while silver holds orders")
    index = Index(storage, root, files)
    for entry in files:
        if days is None or entry.day in days:
            index.footers[entry.name] = read_footer(storage, index.path(entry), entry.rows)
    return index


def rebuild(storage: Storage, silver_table: str, root: str, name: str, staging: str) -> Index:
    """The index of what silver holds now (see :func:`of_full_refresh`)."""
    return of_full_refresh(storage, silver_table, root, f"{name}-rebuilt", staging)


def by_day(table: pa.Table) -> Iterator[tuple[str, pa.Table]]:
    """Index rows split by their order_date, each part sorted by key (one sort, then slices)."""
    if table.num_rows == 0:
        return
    ordered = table.sort_by([("order_date", "ascending"), ("key", "ascending")])
    days = ordered["order_date"].cast(pa.int32()).to_numpy()
    bounds = [0, *(np.flatnonzero(np.diff(days)) + 1).tolist(), len(days)]
    for low, high in itertools.pairwise(bounds):
        yield str(np.datetime64(int(days[low]), "D")), ordered.slice(low, high - low)


def after_run(
    index: Index, staged_silver: str, run_ids: pa.Array, name: str, left: frozenset[str] = frozenset()
) -> Index:
    """The index once the run commits: for each day its orders now live on, a file of those orders (read back
    from the partitions it staged, which hold every one of them); the run's orders removed from the parts of
    the days in ``left`` they no longer live on (:func:`vacated_days`); then each changed day compacted."""
    if len(run_ids) == 0:
        return index
    delta = read_pairs(index.storage, staged_silver, run_ids)
    work = _copy(index)
    changed = set()
    for n, (day, part) in enumerate(by_day(delta)):
        entry = IndexFile(f"{name}-{day}-{n}.parquet", part.num_rows, day)
        work.files.append(entry)
        work.tables[entry.name] = part
        changed.add(day)
    changed |= _forget_moved(work, delta, left, name)
    return compact(_kept(work), name, changed)


def _forget_moved(work: Index, delta: pa.Table, left: frozenset[str], name: str) -> set[str]:
    """Drop, from the files of the days in ``left``, the entries of orders the run placed on another day; the
    days changed. Only the entries this run staged are compared (``delta``: each of its orders' new day)."""
    changed = set()
    for position, entry in enumerate(list(work.files)):
        if entry.day not in left or entry.name in work.tables:
            continue
        elsewhere = delta.filter(
            pc.not_equal(delta["order_date"], pa.scalar(dt.date.fromisoformat(entry.day)))
        )
        if elsewhere.num_rows == 0:
            continue
        table = work.read(entry)
        kept = table.filter(pc.invert(pc.is_in(table["order_id"], value_set=elsewhere["order_id"])))
        if kept.num_rows == table.num_rows:
            continue
        replaced = IndexFile(f"{name}-{entry.day}-f{position}.parquet", kept.num_rows, entry.day)
        work.files[position] = replaced
        work.tables[replaced.name] = kept
        changed.add(entry.day)
    work.files = [f for f in work.files if f.rows or f.name not in work.tables]
    return changed


def of_full_refresh(storage: Storage, staged_silver: str, root: str, name: str, staging: str) -> Index:
    """A full refresh stages every partition of silver: the index is all of it, a part per day, in files of at
    most :data:`MAX_FILE_ROWS` rows (``<name>-<day>-<n>.parquet``), each written to ``staging`` as soon as it is
    built (memory: one file's worth)."""
    index = Index(storage, root, [])
    for n, table in enumerate(read_pairs_in_files(storage, staged_silver, MAX_FILE_ROWS)):
        for day, part in by_day(table):
            entry = IndexFile(f"{name}-{day}-{n}.parquet", part.num_rows, day)
            index.files.append(entry)
            index.staged[entry.name] = join(staging, entry.name)
            write_file(storage, part, index.staged[entry.name])
    return index


def stage(index: Index, staging: str) -> tuple[list[Swap], list[IndexFile]]:
    """Write this run's files to ``staging``; the put_file swaps that put them in place, and the files the
    index is made of (what the bookmark lists)."""
    puts = []
    for entry in index.files:
        if entry.name in index.tables:
            staged = join(staging, entry.name)
            write_file(index.storage, index.tables[entry.name], staged)
        elif entry.name in index.staged:
            staged = index.staged[entry.name]
        else:
            continue
        puts.append(Swap.put_file(staged, join(index.root, entry.name)))
    return puts, index.files
