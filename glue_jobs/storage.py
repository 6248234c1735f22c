"""The few file-system operations the job needs outside Spark, for a local folder and for S3.

Spark reads and writes the data itself; this interface lists bronze files, reads headers and reference data,
keeps the bookmark, the run metrics and the staging journal, and swaps partitions into place.

Atomicity: locally a partition swap is two ``rename(2)`` calls (old -> trash, staged -> live), each atomic, so a
reader sees either the old or the new partition (or, for the instant between the two renames, none of it) and
never a half-written one. S3 has no rename: a "move" is copy + delete, so during a swap a reader may briefly see
the partition missing or, for a moment, partly copied. The journal makes the swap *recoverable* (a killed run is
rolled forward by the next one) but not invisible in S3; true snapshot isolation in AWS would need a table format
(Iceberg) or swapping the Glue catalog's partition location to a new prefix. See ``glue_jobs.commit``.
"""

from __future__ import annotations

import os
import shutil
import stat
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class FileInfo:
    path: str
    size: int
    etag: str = ""  # S3's name for the object's content ("" locally)
    mtime_ns: int = 0  # a local file's modification time
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


def hidden(rel: str) -> bool:
    """A path (relative to a listed root) with a part starting with ``_`` or ``.``: staging, temporary files."""
    return any(part.startswith(("_", ".")) for part in rel.split("/"))


class Storage(Protocol):
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

    def replace_dir(self, staged: str, target: str, trash: str) -> None:
        """Put the folder ``staged`` in place of ``target`` (which may not exist). ``trash`` is a scratch location
        for the old version; the caller deletes it later."""

    def move_files(self, staged: str, target: str) -> None:
        """Move every file of folder ``staged`` into folder ``target`` (same names)."""

    def move_file(self, staged: str, target: str) -> None:
        """Put the file ``staged`` in place of the file ``target``, atomically for readers of ``target``."""

    def tidy_staged(self, path: str) -> None:
        """Remove side files a writer leaves next to the data (Hadoop's local ``.crc`` checksums)."""


class LocalStorage:
    """A folder on this machine; paths are absolute path strings."""

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
                except FileNotFoundError:  # removed since it was listed
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
                return handle.read() if length is None else handle.read(length)
        except FileNotFoundError:
            return None

    def iter_bytes(self, path: str) -> Iterator[bytes]:
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK):
                yield chunk

    def write_text(self, path: str, text: str) -> None:
        self.write_bytes(path, text.encode("utf-8"))

    def write_bytes(self, path: str, data: bytes) -> None:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{uuid.uuid4().hex}.tmp"
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

    def replace_dir(self, staged: str, target: str, trash: str) -> None:
        if os.path.exists(target):
            self.delete_tree(trash)
            os.makedirs(os.path.dirname(trash), exist_ok=True)
            os.rename(target, trash)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.rename(staged, target)

    def move_files(self, staged: str, target: str) -> None:
        os.makedirs(target, exist_ok=True)
        for name in sorted(os.listdir(staged)):
            os.replace(os.path.join(staged, name), os.path.join(target, name))

    def move_file(self, staged: str, target: str) -> None:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.replace(staged, target)

    def tidy_staged(self, path: str) -> None:
        for dirpath, _, filenames in os.walk(path):
            for name in filenames:
                if name.endswith(".crc") or name == "_SUCCESS":
                    os.remove(os.path.join(dirpath, name))


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
            return self.s3.get_object(Bucket=bucket, Key=key, **kwargs)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None
        except Exception as exc:  # an empty object answers a Range request with InvalidRange
            if getattr(exc, "response", {}).get("Error", {}).get("Code") in {"InvalidRange", "404"}:
                return b"" if exc.response["Error"]["Code"] == "InvalidRange" else None
            raise

    def iter_bytes(self, path: str) -> Iterator[bytes]:
        bucket, key = split_s3(path)
        yield from self.s3.get_object(Bucket=bucket, Key=key)["Body"].iter_chunks(CHUNK)

    def write_text(self, path: str, text: str) -> None:
        self.write_bytes(path, text.encode("utf-8"))

    def write_bytes(self, path: str, data: bytes) -> None:
        bucket, key = split_s3(path)
        self.s3.put_object(Bucket=bucket, Key=key, Body=data)  # a PUT is atomic

    def _delete_keys(self, bucket: str, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):
            chunk = [{"Key": k} for k in keys[start : start + 1000]]
            self.s3.delete_objects(Bucket=bucket, Delete={"Objects": chunk, "Quiet": True})

    def delete_tree(self, path: str) -> None:
        bucket, key = split_s3(path)
        keys = [k for _, k, _ in self._keys(path)]
        self._delete_keys(bucket, keys)
        self.s3.delete_object(Bucket=bucket, Key=key)

    def _copy_tree(self, src: str, dst: str) -> list[str]:
        _, src_prefix = split_s3(src)
        dst_bucket, dst_prefix = split_s3(dst)
        copied = []
        for bucket, key, _ in self._keys(src):
            rel = key[len(src_prefix.rstrip("/")) + 1 :]
            self.s3.copy_object(
                Bucket=dst_bucket,
                Key=f"{dst_prefix.rstrip('/')}/{rel}",
                CopySource={"Bucket": bucket, "Key": key},
            )
            copied.append(key)
        return copied

    def replace_dir(self, staged: str, target: str, trash: str) -> None:
        # No rename in S3: drop the old objects, then copy the new ones in. ``staged`` is left in place so
        # that an interrupted copy can be redone from it; the caller deletes it once the swap is journalled.
        self.delete_tree(target)
        self._copy_tree(staged, target)

    def move_files(self, staged: str, target: str) -> None:
        self._copy_tree(staged, target)

    def move_file(self, staged: str, target: str) -> None:
        # A copy is one atomic PUT of the target; ``staged`` stays until the swap is journalled as done.
        src_bucket, src_key = split_s3(staged)
        bucket, key = split_s3(target)
        self.s3.copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": src_bucket, "Key": src_key})

    def tidy_staged(self, path: str) -> None:
        bucket, _ = split_s3(path)
        keys = [k for _, k, _ in self._keys(path) if k.endswith(("/_SUCCESS", ".crc"))]
        self._delete_keys(bucket, keys)


def storage_for(path: str) -> Storage:
    return S3Storage() if path.startswith(("s3://", "s3a://")) else LocalStorage()
