"""Where files go: a local folder (laptop) or an S3 bucket (AWS), behind one small interface."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

Body = bytes | memoryview


class Sink(Protocol):
    def put(self, key: str, parts: Sequence[Body], content_type: str) -> str:
        """Store the concatenated ``parts`` under ``key`` (a ``/``-separated path below the lake root); return
        where it went."""
        ...

    def delete(self, key: str) -> None:
        """Remove ``key`` if it exists (best effort clean-up after a half-finished write)."""
        ...


class LocalSink:
    """Files below ``root``. Each write goes to a hidden temporary file first, then is renamed into place,
    so a reader globbing ``*.csv`` never sees a half-written file."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root.joinpath(*key.split("/"))

    def put(self, key: str, parts: Sequence[Body], content_type: str) -> str:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.tmp")
        with temporary.open("wb") as handle:
            # no joined copy of a large file
            for part in parts:
                handle.write(part)
        os.replace(temporary, target)
        return str(target)

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(key).unlink()


class S3Sink:
    """Objects in ``bucket``, encrypted at rest: SSE-KMS with ``kms_key_id`` when given, else SSE-S3 (AES256)."""

    def __init__(self, bucket: str, *, client: Any = None, kms_key_id: str | None = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("s3")
        self.bucket, self.client, self.kms_key_id = bucket, client, kms_key_id

    def encryption(self) -> dict[str, str]:
        if self.kms_key_id:
            return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.kms_key_id}
        return {"ServerSideEncryption": "AES256"}

    def put(self, key: str, parts: Sequence[Body], content_type: str) -> str:
        self.client.put_object(
            Bucket=self.bucket, Key=key, Body=b"".join(parts), ContentType=content_type, **self.encryption()
        )
        return f"s3://{self.bucket}/{key}"

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)
