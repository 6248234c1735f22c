"""The few file-system operations the job needs outside Spark, for a local folder and for S3.

Spark reads and writes the data itself; this interface lists bronze files, reads headers and reference data,
keeps the bookmark, the run metrics and the staging journal, and swaps partitions into place.

What a reader may see during a commit (see ``glue_jobs.commit``): a partition is swapped by first putting the new
version's files beside the old ones (:meth:`Storage.put_copy`, each one atomic PUT or rename), then deleting the
old version's files (:meth:`Storage.delete_files`). A reader that lists a partition's folder, as Athena and DuckDB
do, therefore always finds every file of the old version or every file of the new one, never fewer rows than either
holds; for the moment between the two steps it finds both, so an order the commit rewrote may be read twice. Local
folders and S3 behave the same way (neither has an atomic rename of a folder).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import stat
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class FileInfo:
    path: str
    size: int
    # S3's name for the object's content ("" locally)
    etag: str = ""
    # a local file's modification time
    mtime_ns: int = 0
    # why it is no regular file and is never opened (a symbolic link, a named pipe, ...); "" for a file
    not_regular: str = ""


def join(base: str, *parts: str) -> str:
    out = base.rstrip("/")
    for part in parts:
        out = f"{out}/{part.strip('/')}"
    return out


def relative(root: str, path: str) -> str:
    root = root.rstrip("/") + "/"
    return path[len(root) :] if path.startswith(root) else path


CHUNK = 8 * 1024 * 1024
# What a ranged S3 read fetches first: the end of the object, where a Parquet file keeps its footer (pyarrow's
# own first read of a footer is 64 KiB too, so it is served from these bytes).
TAIL = 64 * 1024


@dataclass
class IoCounts:
    """What a :class:`Storage` read and wrote: bytes, and objects (an object read in several ranges, or opened
    twice, counts once; a server-side copy counts as an object written, its bytes are not known without asking)."""

    bytes_read: int = 0
    bytes_written: int = 0
    objects_written: int = 0
    # bytes read from each path, so a run can say how much of what it read was its index, its state, bronze
    read_by_path: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def objects_read(self) -> int:
        return len(self.read_by_path)

    def read(self, path: str, size: int) -> None:
        with self.lock:
            self.bytes_read += size
            self.read_by_path[path] = self.read_by_path.get(path, 0) + size

    def wrote(self, size: int) -> None:
        with self.lock:
            self.bytes_written += size
            self.objects_written += 1


# What S3 answers a conditional write whose condition failed (412), or that raced another one (409).
CONFLICT = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}


def error_code(exc: BaseException) -> str:
    """The S3 error code of a botocore ClientError ("" for any other exception)."""
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def hidden(rel: str) -> bool:
    """A path (relative to a listed root) with a part starting with ``_`` or ``.``: staging, temporary files."""
    return any(part.startswith(("_", ".")) for part in rel.split("/"))


class Storage(Protocol):
    counts: IoCounts

    def list_files(self, root: str, suffix: str = "", *, include_hidden: bool = False) -> list[FileInfo]:
        """Every file below ``root`` (recursively) whose name ends with ``suffix``, sorted by path; files and
        folders whose name starts with ``_`` or ``.`` only with ``include_hidden``."""

    def list_dirs(self, root: str) -> list[str]:
        """Names of the immediate sub-folders of ``root``."""

    def list_entries(self, root: str) -> list[FileInfo]:
        """Everything below ``root``, hidden names included, with what identifies each file's content (ETag,
        modification time); an entry that is not a regular file (a symbolic link, to a file or a folder, a named
        pipe, a socket, a device) is listed with ``not_regular`` set and never followed or opened."""

    def exists(self, path: str) -> bool: ...

    def read_bytes(self, path: str, length: int | None = None) -> bytes | None:
        """The file's content (the first ``length`` bytes when given), or None when it does not exist."""

    def iter_bytes(self, path: str) -> Iterator[bytes]:
        """The file's content as a stream of chunks (bounded memory for large files)."""

    def write_text(self, path: str, text: str) -> None:
        """Write a whole file atomically: readers see the old content or the new, never a part."""

    def write_bytes(self, path: str, data: bytes) -> None:
        """Write a whole file of bytes atomically, like :meth:`write_text`."""

    def delete_tree(self, path: str) -> None:
        """Remove a folder (or file) and everything below it; no error when it is absent."""

    def delete_files(self, paths: list[str]) -> None:
        """Remove exactly these files (no listing: a file created since the caller listed them is left alone)."""

    def put_copy(self, src: str, dst: str) -> None:
        """Make the file ``dst`` a copy of ``src`` in one atomic write for readers of ``dst``; ``src`` stays."""

    def write_new(self, path: str, text: str) -> bool:
        """Create the file only if it does not exist (S3: ``If-None-Match: *``); False if it already did."""

    def move_file(self, staged: str, target: str) -> None:
        """Put the file ``staged`` in place of the file ``target``, atomically for readers of ``target``."""

    def tidy_staged(self, path: str) -> None:
        """Remove side files a writer leaves next to the data (Hadoop's local ``.crc`` checksums)."""

    def open_for_columns(self, path: str, size: int | None = None) -> pa.NativeFile | None:
        """The file to parse Parquet from (None: it does not exist), read only where the parser reads: a local
        file opened in place, an S3 object fetched by ranged GETs through the storage's own client (pyarrow's
        own S3 client, its credential chain and region discovery, is never used). ``size``: the file's size,
        known already (its footer read before): S3 then fetches no tail first."""

    def local_path(self, path: str) -> str | None:
        """``path`` on this machine's file system; None when the storage is not a local folder."""

    def s3_client(self) -> Any | None:
        """The S3 client behind the storage, for S3's conditional requests (the lake's lease); None locally."""


class LocalStorage:
    """A folder on this machine; paths are absolute path strings."""

    def __init__(self) -> None:
        self.counts = IoCounts()

    def list_files(self, root: str, suffix: str = "", *, include_hidden: bool = False) -> list[FileInfo]:
        base = Path(root)
        if not base.is_dir():
            return []
        out = []
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if include_hidden or not hidden(d))
            for name in filenames:
                if name.endswith(suffix) and (include_hidden or not hidden(name)):
                    full = os.path.join(dirpath, name)
                    out.append(FileInfo(full, os.path.getsize(full)))
        return sorted(out, key=lambda f: f.path)

    def list_dirs(self, root: str) -> list[str]:
        base = Path(root)
        return sorted(p.name for p in base.iterdir() if p.is_dir()) if base.is_dir() else []

    def list_entries(self, root: str) -> list[FileInfo]:
        if not Path(root).is_dir():
            return []
        out = []
        for dirpath, dirnames, filenames in os.walk(root):
            # (os.walk lists a symbolic link to a folder among the folders, and does not descend into it)
            links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
            dirnames[:] = sorted(d for d in dirnames if d not in links)
            for name in [*links, *filenames]:
                full = os.path.join(dirpath, name)
                try:
                    info = os.lstat(full)
                # removed since it was listed
                except FileNotFoundError:
                    continue
                why = _not_regular(info.st_mode)
                size = info.st_size if not why else 0
                out.append(FileInfo(full, size, mtime_ns=info.st_mtime_ns, not_regular=why))
        return sorted(out, key=lambda f: f.path)

    def exists(self, path: str) -> bool:
        return os.path.exists(path)

    def read_bytes(self, path: str, length: int | None = None) -> bytes | None:
        try:
            with open(path, "rb") as handle:
                data = handle.read() if length is None else handle.read(length)
        except FileNotFoundError:
            return None
        self.counts.read(path, len(data))
        return data

    def iter_bytes(self, path: str) -> Iterator[bytes]:
        with open(path, "rb") as handle:
            self.counts.read(path, 0)
            while chunk := handle.read(CHUNK):
                self.counts.read(path, len(chunk))
                yield chunk

    def write_text(self, path: str, text: str) -> None:
        self.write_bytes(path, text.encode("utf-8"))

    def write_bytes(self, path: str, data: bytes) -> None:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{uuid.uuid4().hex}.tmp"
        self.counts.wrote(len(data))
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)

    def delete_tree(self, path: str) -> None:
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.remove(path)

    def delete_files(self, paths: list[str]) -> None:
        folders = set()
        for path in paths:
            if os.path.isdir(path):
                folders.add(path)
                continue
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
            folders.add(os.path.dirname(path))
        # a folder left empty goes too (S3 has no folders): no lister may find an empty partition
        for folder in sorted(folders, reverse=True):
            with contextlib.suppress(OSError):
                os.rmdir(folder)

    def put_copy(self, src: str, dst: str) -> None:
        folder = os.path.dirname(dst)
        os.makedirs(folder, exist_ok=True)
        # a hidden temporary name (no lister reads it), then one rename(2) onto ``dst``; a hard link costs no copy
        tmp = os.path.join(folder, f".{os.path.basename(dst)}.{uuid.uuid4().hex}.tmp")
        try:
            os.link(src, tmp)
        # another file system, or links not allowed: a real copy
        except OSError:
            shutil.copyfile(src, tmp)
        # (renaming a link onto another link of the same file does nothing, and leaves the temporary name)
        os.replace(tmp, dst)
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)

    def write_new(self, path: str, text: str) -> bool:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        self.counts.wrote(len(text.encode("utf-8")))
        return True

    def move_file(self, staged: str, target: str) -> None:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.replace(staged, target)

    def tidy_staged(self, path: str) -> None:
        for dirpath, _, filenames in os.walk(path):
            for name in filenames:
                if name.endswith(".crc") or name == "_SUCCESS":
                    os.remove(os.path.join(dirpath, name))

    def open_for_columns(self, path: str, size: int | None = None) -> pa.NativeFile | None:
        import pyarrow as pa

        try:
            size = os.path.getsize(path)
            handle = open(path, "rb")  # noqa: SIM115 (closed by the NativeFile that wraps it)
        except FileNotFoundError:
            return None
        self.counts.read(path, 0)
        ranges = _Ranges(path, size, _local_fetch(handle), self.counts, release=handle.close)
        return pa.PythonFile(ranges, mode="r")

    def local_path(self, path: str) -> str | None:
        return path

    def s3_client(self) -> Any | None:
        return None


def _not_regular(mode: int) -> str:
    """Why an entry of this ``st_mode`` (from lstat) is not read: "" for a regular file."""
    if stat.S_ISREG(mode):
        return ""
    if stat.S_ISLNK(mode):
        return (
            "a symbolic link (to a file or a folder, or dangling): links are not followed; copy or move the real"
            " file into bronze"
        )
    if stat.S_ISFIFO(mode):
        return "a named pipe, not a file: reading it could wait forever; remove it and copy the real file in"
    return "not a regular file (a socket or a device): remove it and copy the real file in"


def split_s3(uri: str) -> tuple[str, str]:
    if not uri.startswith(("s3://", "s3a://")):
        raise ValueError(f"not an S3 URI: {uri}")
    bucket, _, key = uri.split("://", 1)[1].partition("/")
    return bucket, key


class S3Storage:
    """An S3 prefix through boto3; paths are ``s3://bucket/key`` URIs. "Moves" are copy + delete."""

    def __init__(self, client: object | None = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("s3")
        self.s3 = client
        self.counts = IoCounts()

    def _keys(self, prefix_uri: str) -> Iterable[tuple[str, str, int]]:
        bucket, prefix = split_s3(prefix_uri)
        prefix = prefix.rstrip("/") + "/" if prefix else ""
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                yield bucket, obj["Key"], obj["Size"]

    def list_files(self, root: str, suffix: str = "", *, include_hidden: bool = False) -> list[FileInfo]:
        _, prefix = split_s3(root)
        prefix = prefix.rstrip("/") + "/" if prefix else ""
        out = []
        for bucket, key, size in self._keys(root):
            if not include_hidden and hidden(key[len(prefix) :]):
                continue
            if key.endswith(suffix) and not key.endswith("/"):
                out.append(FileInfo(f"s3://{bucket}/{key}", size))
        return sorted(out, key=lambda f: f.path)

    def list_entries(self, root: str) -> list[FileInfo]:
        bucket, prefix = split_s3(root)
        prefix = prefix.rstrip("/") + "/" if prefix else ""
        out = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                if not obj["Key"].endswith("/"):
                    etag = obj.get("ETag", "").strip('"')
                    out.append(FileInfo(f"s3://{bucket}/{obj['Key']}", obj["Size"], etag=etag))
        return sorted(out, key=lambda f: f.path)

    def list_dirs(self, root: str) -> list[str]:
        bucket, prefix = split_s3(root)
        prefix = prefix.rstrip("/") + "/" if prefix else ""
        names = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix, Delimiter="/"
        ):
            names += [p["Prefix"][len(prefix) :].rstrip("/") for p in page.get("CommonPrefixes", [])]
        return sorted(names)

    def exists(self, path: str) -> bool:
        bucket, key = split_s3(path)
        if self.read_bytes(path, 1) is not None:
            return True
        response = self.s3.list_objects_v2(Bucket=bucket, Prefix=key.rstrip("/") + "/", MaxKeys=1)
        return response.get("KeyCount", 0) > 0

    def read_bytes(self, path: str, length: int | None = None) -> bytes | None:
        bucket, key = split_s3(path)
        kwargs = {"Range": f"bytes=0-{length - 1}"} if length else {}
        try:
            data = self.s3.get_object(Bucket=bucket, Key=key, **kwargs)["Body"].read()
            self.counts.read(path, len(data))
            return data
        except self.s3.exceptions.NoSuchKey:
            return None
        # an empty object answers a Range request with InvalidRange
        except Exception as exc:
            if getattr(exc, "response", {}).get("Error", {}).get("Code") in {"InvalidRange", "404"}:
                return b"" if exc.response["Error"]["Code"] == "InvalidRange" else None
            raise

    def iter_bytes(self, path: str) -> Iterator[bytes]:
        bucket, key = split_s3(path)
        self.counts.read(path, 0)
        for chunk in self.s3.get_object(Bucket=bucket, Key=key)["Body"].iter_chunks(CHUNK):
            self.counts.read(path, len(chunk))
            yield chunk

    def write_text(self, path: str, text: str) -> None:
        self.write_bytes(path, text.encode("utf-8"))

    def write_bytes(self, path: str, data: bytes) -> None:
        bucket, key = split_s3(path)
        # a PUT is atomic
        self.s3.put_object(Bucket=bucket, Key=key, Body=data)
        self.counts.wrote(len(data))

    def _delete_keys(self, bucket: str, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):
            chunk = [{"Key": k} for k in keys[start : start + 1000]]
            self.s3.delete_objects(Bucket=bucket, Delete={"Objects": chunk, "Quiet": True})

    def delete_tree(self, path: str) -> None:
        bucket, key = split_s3(path)
        keys = [k for _, k, _ in self._keys(path)]
        self._delete_keys(bucket, keys)
        self.s3.delete_object(Bucket=bucket, Key=key)

    def delete_files(self, paths: list[str]) -> None:
        by_bucket: dict[str, list[str]] = {}
        for path in paths:
            bucket, key = split_s3(path)
            by_bucket.setdefault(bucket, []).append(key)
        for bucket, keys in by_bucket.items():
            self._delete_keys(bucket, keys)

    def put_copy(self, src: str, dst: str) -> None:
        # A copy is one atomic PUT of the target; ``src`` stays until the swap is journalled as done.
        src_bucket, src_key = split_s3(src)
        bucket, key = split_s3(dst)
        self.s3.copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": src_bucket, "Key": src_key})
        self.counts.wrote(0)

    def move_file(self, staged: str, target: str) -> None:
        self.put_copy(staged, target)

    def write_new(self, path: str, text: str) -> bool:
        bucket, key = split_s3(path)
        try:
            self.s3.put_object(Bucket=bucket, Key=key, Body=text.encode("utf-8"), IfNoneMatch="*")
        except Exception as exc:
            if error_code(exc) in CONFLICT:
                return False
            raise
        self.counts.wrote(len(text.encode("utf-8")))
        return True

    def tidy_staged(self, path: str) -> None:
        bucket, _ = split_s3(path)
        keys = [k for _, k, _ in self._keys(path) if k.endswith(("/_SUCCESS", ".crc"))]
        self._delete_keys(bucket, keys)

    def open_for_columns(self, path: str, size: int | None = None) -> pa.NativeFile | None:
        import pyarrow as pa

        bucket, key = split_s3(path)

        def fetch(start: int, end: int) -> bytes:
            ranged = self.s3.get_object(Bucket=bucket, Key=key, Range=f"bytes={start}-{end - 1}")
            return ranged["Body"].read()

        if size:
            self.counts.read(path, 0)
            return pa.PythonFile(_Ranges(path, size, fetch, self.counts), mode="r")
        try:
            # a suffix range: the object's end (its footer) and, in Content-Range, its size, in one request
            answer = self.s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=-{TAIL}")
        except self.s3.exceptions.NoSuchKey:
            return None
        # an empty object answers a Range request with InvalidRange
        except Exception as exc:
            if error_code(exc) == "InvalidRange":
                self.counts.read(path, 0)
                return pa.BufferReader(b"")
            raise
        tail = answer["Body"].read()
        self.counts.read(path, len(tail))
        size = int(answer.get("ContentRange", f"/{len(tail)}").rsplit("/", 1)[1])
        return pa.PythonFile(_Ranges(path, size, fetch, self.counts, tail), mode="r")

    def local_path(self, path: str) -> str | None:
        return None

    def s3_client(self) -> Any | None:
        return self.s3


def _local_fetch(handle: io.BufferedReader) -> Callable[[int, int], bytes]:
    def fetch(start: int, end: int) -> bytes:
        handle.seek(start)
        return handle.read(end - start)

    return fetch


class _Ranges(io.RawIOBase):
    """A read-only, seekable file whose reads fetch only the bytes asked for (``fetch(start, end)``), counted in
    ``counts``; ``tail``: the object's last bytes, fetched already, served from memory."""

    def __init__(
        self,
        path: str,
        size: int,
        fetch: Callable[[int, int], bytes],
        counts: IoCounts,
        tail: bytes = b"",
        release: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__()
        self.path, self.size, self.fetch, self.counts, self.release = path, size, fetch, counts, release
        self.tail, self.tail_start = tail, size - len(tail)
        self.position = 0

    def close(self) -> None:
        self.release()
        super().close()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def read(self, size: int = -1) -> bytes:
        end = self.size if size is None or size < 0 else min(self.size, self.position + size)
        start = self.position
        if start >= end:
            return b""
        if self.tail and start >= self.tail_start:
            data = self.tail[start - self.tail_start : end - self.tail_start]
        else:
            data = self.fetch(start, end)
            self.counts.read(self.path, len(data))
        self.position = start + len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def storage_for(path: str) -> Storage:
    return S3Storage() if path.startswith(("s3://", "s3a://")) else LocalStorage()
