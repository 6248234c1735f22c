"""What is in bronze: the files a run reads, those it does not (and why), and each file's records counted
independently of Spark.

A drop zone receives more than the ingestion Lambda's ``.csv`` files: upper-case extensions, gzip-compressed
files, spreadsheets saved as Latin-1, a copy still in progress, a temporary file a killed writer left behind.
Every file under bronze is classified here, in plain Python, before Spark reads anything:

- ``.csv`` (any case) and ``.csv.gz`` (gzip, which Spark decompresses when the ``.gz`` is lower-case) are read;
- a file that is not valid UTF-8 is read as Latin-1 (byte for byte) and all its rows are quarantined as
  ``not_utf8``: its text would otherwise land in silver with replacement characters;
- anything else is *not read* and reported with the reason: other extensions, hidden and temporary files, an
  upper-case ``.GZ`` that Spark would read as zero rows, a broken gzip stream, a file that changed while it was
  being counted (a copy in progress: the next run reads it);
- answer keys (``*.manifest.json``) are the ingestion's companions of its CSV files: neither read nor reported.

Each file read is streamed once here to count its records the way Spark reads them, and to fingerprint its
content. A file without a double quote is read line by line (``\\n``, ``\\r\\n`` or ``\\r``; a line that is blank
after trimming is no record); a file with one is read as RFC 4180 (:mod:`glue_jobs.bronze` reads it with Spark's
``multiLine``), where a quoted field may hold separators, doubled quotes and line breaks, as Python's ``csv``
module reads it: a record ends at a line break outside quotes, and only an empty line is no record. The first
record is the header. The run checks that Spark yields exactly that many rows, file by file, so a file that
yields fewer rows than it holds is caught whatever the reason. The widest record is measured too: Spark's
parser is sized for it, so a row of any width is quarantined rather than failing the run.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import zlib
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from glue_jobs.storage import FileInfo, Storage, hidden, relative

ANSWER_KEY = ".manifest.json"
# what Java's String.trim removes: a line of only these is no record for Spark
BLANK = bytes(range(0x21))
LINE_BREAKS = (b"\n", b"\r")
# A line shorter than this cannot hold more fields than Spark's default parser width (20480): only longer ones
# have their separators counted, so the common case costs nothing.
WIDE_LINE = 16_384


@dataclass(frozen=True)
class BronzeFile:
    """A bronze file a run reads: its header (normalised names), records counted here, and its encoding."""

    path: str
    size: int
    header: tuple[str, ...] = ()
    records: int = 0
    utf8: bool = True
    # a double quote somewhere: read as RFC 4180 (quoted fields may span lines)
    quoted: bool = False
    # fields of its widest record (an upper bound: separators inside quotes count too)
    max_fields: int = 0
    # what identifies its content: "etag:<ETag>" on S3, "sha256:<hex>" for a local file
    content_id: str = ""


@dataclass(frozen=True)
class NotRead:
    path: str
    reason: str


@dataclass
class Inventory:
    """The outcome of looking at the new and changed files of bronze."""

    files: list[BronzeFile] = field(default_factory=list)
    not_read: list[NotRead] = field(default_factory=list)


def not_readable(rel: str) -> str | None:
    """Why a file (path relative to bronze) is not read, from its name alone; None when it is a CSV to read."""
    name = rel.rsplit("/", 1)[-1]
    lower = name.lower()
    if hidden(rel):
        if lower.endswith(".tmp"):
            return "a temporary file (an interrupted write?): `lakehouse ingest` removes its own after 10 minutes"
        return "a hidden file (its name or folder starts with '.' or '_')"
    if lower.endswith(".csv"):
        return None
    if lower.endswith(".csv.gz"):
        if name.endswith(".gz"):
            return None
        return "Spark decompresses only a lower-case .gz extension: rename it to *.csv.gz"
    return "not a CSV: only .csv and .csv.gz files are read"


def parse_header(line: bytes, encoding: str = "utf-8") -> tuple[str, ...]:
    """The normalised column names of a CSV header line (trimmed, lower-case, BOM removed)."""
    text = line.decode(encoding, errors="replace").lstrip("\ufeff")
    row = next(csv.reader(io.StringIO(text.splitlines()[0] if text else "")), [])
    return tuple(name.strip().lower() for name in row)


def _gunzip(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Decompress a gzip stream of one or more members (as Hadoop's codec does); zlib.error when broken."""
    inflate, in_member = zlib.decompressobj(wbits=31), False
    for chunk in chunks:
        while chunk:
            in_member = True
            yield inflate.decompress(chunk)
            chunk = b""
            if inflate.eof:
                chunk, inflate, in_member = inflate.unused_data, zlib.decompressobj(wbits=31), False
    if in_member:
        raise zlib.error("the compressed stream ends early (a truncated file?)")


def open_quote_after(line: bytes, in_quotes: bool) -> bool:
    """Whether a quoted field is still open at the end of ``line`` (given whether one was open at its start),
    as Python's ``csv`` reads it: a quote opens a quoted field only as the field's first character, ``""`` in a
    quoted field is a quote, and after the closing quote the field runs on to the next separator."""
    i, at_field_start = 0, not in_quotes
    while True:
        if in_quotes:
            j = line.find(b'"', i)
            if j < 0:
                return True
            if line.startswith(b'"', j + 1):
                i = j + 2
                continue
            in_quotes, at_field_start, i = False, False, j + 1
        elif at_field_start and line.startswith(b'"', i):
            in_quotes, i = True, i + 1
        else:
            k = line.find(b",", i)
            if k < 0:
                return False
            i, at_field_start = k + 1, True


def iter_records(data: bytes, quoted: bool) -> Iterator[bytes]:
    """A file's records as :mod:`glue_jobs.inventory` counts them (the header first), each with its bytes."""
    lines = data.splitlines(keepends=True)
    if not quoted:
        yield from (line for line in lines if line.strip(BLANK))
        return
    record: list[bytes] = []
    in_quotes = False
    for line in lines:
        record.append(line)
        if b'"' in line or in_quotes:
            in_quotes = open_quote_after(line, in_quotes)
        if not in_quotes:
            joined, record = b"".join(record), []
            if joined.strip(b"\r\n"):
                yield joined
    if record and b"".join(record).strip(b"\r\n"):
        yield b"".join(record)


class _Counter:
    """Streams a file's bytes: the header line, the records after it, whether it is valid UTF-8, whether it
    quotes (then records are counted as RFC 4180), and its widest record."""

    def __init__(self) -> None:
        self.header_line: bytes | None = None
        self.records = 0
        self.utf8 = True
        self.quoted = False
        self.max_fields = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._carry = b""
        # lines a line-based read skips but RFC 4180 counts (blank, not empty): added if the file quotes
        self._blank_not_empty = 0
        self._in_quotes = False
        self._record: list[bytes] = []
        self._record_commas = 0

    def feed(self, chunk: bytes) -> None:
        if self.utf8:
            try:
                self._decoder.decode(chunk)
            except UnicodeDecodeError:
                self.utf8 = False
        lines = (self._carry + chunk).splitlines(keepends=True)
        self._carry = lines.pop() if lines and not lines[-1].endswith(LINE_BREAKS) else b""
        if not self.quoted and b'"' in chunk:
            # every line so far ended a record (no quote yet): only the blank ones count differently
            self.quoted = True
            self.records += self._blank_not_empty
        if self.quoted:
            self._count_records(lines)
        else:
            self._count(lines)

    def _count(self, lines: list[bytes]) -> None:
        for line in lines:
            if not line.strip(BLANK):
                if line.strip(b"\r\n"):
                    self._blank_not_empty += 1
                continue
            if len(line) > WIDE_LINE:
                self.max_fields = max(self.max_fields, line.count(b",") + 1)
            if self.header_line is None:
                self.header_line = line
            else:
                self.records += 1

    def _count_records(self, lines: list[bytes]) -> None:
        for line in lines:
            self._record.append(line)
            self._record_commas += line.count(b",")
            if b'"' in line or self._in_quotes:
                self._in_quotes = open_quote_after(line, self._in_quotes)
            if not self._in_quotes:
                self._end_record()

    def _end_record(self) -> None:
        record, self._record = b"".join(self._record), []
        self.max_fields = max(self.max_fields, self._record_commas + 1)
        self._record_commas = 0
        if not record.strip(b"\r\n"):
            return
        if self.header_line is None:
            self.header_line = record
        else:
            self.records += 1

    def close(self) -> None:
        if self.quoted:
            self._count_records([self._carry] if self._carry else [])
            if self._record:
                self._end_record()
        else:
            self._count([self._carry] if self._carry else [])
        if self.utf8:
            try:
                self._decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                self.utf8 = False


def inspect(storage: Storage, info: FileInfo) -> BronzeFile | NotRead:
    """Read a file once: header, records and encoding; NotRead when it cannot be read or changed meanwhile."""
    raw_bytes = 0
    # S3 names an object's content by its ETag; a local file's is hashed on the way
    digest = None if info.etag else hashlib.sha256()

    def raw() -> Iterator[bytes]:
        nonlocal raw_bytes
        for chunk in storage.iter_bytes(info.path):
            raw_bytes += len(chunk)
            if digest is not None:
                digest.update(chunk)
            yield chunk

    counter = _Counter()
    chunks = _gunzip(raw()) if info.path.endswith(".gz") else raw()
    try:
        for chunk in chunks:
            counter.feed(chunk)
    except zlib.error as exc:
        return NotRead(info.path, f"not a valid gzip file ({exc})")
    except FileNotFoundError:
        return NotRead(info.path, "removed while the run was reading it")
    counter.close()
    if raw_bytes != info.size:
        return NotRead(
            info.path,
            f"changed while it was read ({info.size} bytes listed, {raw_bytes} read): a copy still in progress?"
            " The next run reads it",
        )
    encoding = "utf-8" if counter.utf8 else "latin-1"
    header = parse_header(counter.header_line, encoding) if counter.header_line else ()
    content_id = f"etag:{info.etag}" if digest is None else f"sha256:{digest.hexdigest()}"
    return BronzeFile(
        info.path,
        info.size,
        header,
        counter.records,
        counter.utf8,
        counter.quoted,
        counter.max_fields,
        content_id,
    )


def take_stock(storage: Storage, root: str, listed: list[FileInfo], threads: int = 8) -> Inventory:
    """Classify ``listed`` (files under bronze ``root``), inspecting the readable ones in parallel."""
    stock = Inventory()
    readable = []
    for info in listed:
        rel = relative(root, info.path)
        if rel.endswith(ANSWER_KEY):
            continue
        reason = not_readable(rel)
        if reason is None:
            readable.append(info)
        else:
            stock.not_read.append(NotRead(info.path, reason))
    if len(readable) <= 2:
        results = [inspect(storage, f) for f in readable]
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            results = list(pool.map(lambda f: inspect(storage, f), readable))
    for result in results:
        (stock.files if isinstance(result, BronzeFile) else stock.not_read).append(result)
    return stock
