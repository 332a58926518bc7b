"""The S3-compatible blob store (SeaweedFS, MinIO, AWS S3), selected with ``PORTAL_BLOB_STORE=s3://bucket/prefix``.

Objects are ``<prefix>/<blob id>`` in the bucket; they hold ciphertext only (``documents.service`` encrypts
before a byte reaches ``write``). The endpoint comes from ``PORTAL_S3_ENDPOINT`` (the ``S3_ENDPOINT``
setting; empty: AWS itself), the credentials and region from boto3's usual chain (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_DEFAULT_REGION``, a profile or an instance role).

Writing is streamed and all-or-nothing, like the local store's rename:

- ``write`` fills one part buffer (``PART_SIZE``, at least S3's 5 MiB minimum); each full buffer is sent
  as the next part of a multipart upload started at the first full part, so at most one part is in
  memory whatever the file's size;
- ``commit`` sends the last part and completes the upload (``CompleteMultipartUpload``): only then does
  the object exist. A blob smaller than one part is sent as one ``PutObject``, which S3 also makes
  visible whole or not at all;
- ``abort`` (and any failure in ``write`` or ``commit``) aborts the multipart upload, so nothing is
  listed, readable or billed. An upload a killed process never aborted is what ``blobs gc`` removes
  after an hour (``remove_stale_temporaries``: ``ListMultipartUploads`` under the prefix).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .storage import (
    BLOB_ID,
    BlobNotFound,
    BlobStore,
    BlobStoreUnavailable,
    BlobWriter,
    new_blob_id,
    validate_blob_id,
)

PART_SIZE = 8 * 1024 * 1024
_MISSING = {"404", "NoSuchKey", "NotFound"}


def _missing(error: ClientError) -> bool:
    return str(error.response.get("Error", {}).get("Code")) in _MISSING


def _endpoint_setting() -> str:
    from flask import current_app, has_app_context

    if has_app_context() and current_app.config.get("S3_ENDPOINT"):
        return current_app.config["S3_ENDPOINT"]
    return os.environ.get("PORTAL_S3_ENDPOINT", "")


class S3BlobStore(BlobStore):
    """Blobs as objects ``<prefix>/<id>`` of ``bucket``."""

    def __init__(self, bucket: str, prefix: str = "", *, endpoint_url: str | None = None, client=None):
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint_url = endpoint_url or None
        self.client = client or boto3.client(
            "s3", endpoint_url=self.endpoint_url,
            region_name=os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "us-east-1",
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3, "mode": "standard"},
                          connect_timeout=5, read_timeout=60))

    @classmethod
    def from_url(cls, url: str) -> S3BlobStore:
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        if not bucket:
            raise ValueError("BLOB_STORE: an s3:// URL names a bucket (s3://bucket/prefix)")
        return cls(bucket, prefix, endpoint_url=_endpoint_setting())

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def key(self, blob_id: str) -> str:
        validate_blob_id(blob_id)
        return f"{self.prefix}/{blob_id}" if self.prefix else blob_id

    @property
    def _list_prefix(self) -> str:
        return f"{self.prefix}/" if self.prefix else ""

    def ensure_bucket(self) -> None:
        """Create the bucket when it does not exist (``flask setup`` and the tests)."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as error:
            if not _missing(error):
                raise
            self.client.create_bucket(Bucket=self.bucket)

    def check(self) -> None:
        """Raise when the bucket cannot be reached (``/readyz``)."""
        self.client.head_bucket(Bucket=self.bucket)

    def writer(self, blob_id: str | None = None) -> S3BlobWriter:
        return S3BlobWriter(self, blob_id or new_blob_id())

    def open(self, blob_id: str) -> BinaryIO:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self.key(blob_id))["Body"]
        except ClientError as error:
            if _missing(error):
                raise BlobNotFound(blob_id) from None
            raise

    def _head(self, blob_id: str) -> dict:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=self.key(blob_id))
        except ClientError as error:
            if _missing(error):
                raise BlobNotFound(blob_id) from None
            raise

    def delete(self, blob_id: str) -> bool:
        if not self.exists(blob_id):
            return False
        self.client.delete_object(Bucket=self.bucket, Key=self.key(blob_id))
        return True

    def exists(self, blob_id: str) -> bool:
        try:
            self._head(blob_id)
        except BlobNotFound:
            return False
        return True

    def size(self, blob_id: str) -> int:
        return int(self._head(blob_id)["ContentLength"])

    def age_seconds(self, blob_id: str) -> float:
        try:
            modified = self._head(blob_id)["LastModified"]
        except BlobNotFound:
            return 0.0
        return time.time() - modified.timestamp()

    def iter_ids(self) -> Iterator[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self._list_prefix)
        for page in pages:
            for item in page.get("Contents", []):
                name = item["Key"][len(self._list_prefix):]
                if BLOB_ID.fullmatch(name):
                    yield name

    def iter_uploads(self) -> Iterator[dict]:
        """Multipart uploads begun and neither completed nor aborted (``Key``, ``UploadId``, ``Initiated``)."""
        pages = self.client.get_paginator("list_multipart_uploads").paginate(
            Bucket=self.bucket, Prefix=self._list_prefix)
        for page in pages:
            yield from page.get("Uploads", [])

    def _stale_uploads(self, older_than_seconds: float) -> list[dict]:
        cutoff = datetime.now(UTC).timestamp() - older_than_seconds
        return [upload for upload in self.iter_uploads() if upload["Initiated"].timestamp() < cutoff]

    def count_stale_temporaries(self, older_than_seconds: float = 3600) -> int:
        return len(self._stale_uploads(older_than_seconds))

    def remove_stale_temporaries(self, older_than_seconds: float = 3600) -> int:
        """Abort multipart uploads a killed process left (never one a running upload may still be sending)."""
        removed = 0
        for upload in self._stale_uploads(older_than_seconds):
            try:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=upload["Key"],
                                                   UploadId=upload["UploadId"])
            except ClientError as error:
                if not _missing(error) and error.response.get("Error", {}).get("Code") != "NoSuchUpload":
                    raise
                continue
            removed += 1
        return removed

    def import_blob(self, blob_id: str, source: Path) -> None:
        """Store a copy of the file ``source`` as blob ``blob_id`` (``restore``), streamed like an upload."""
        with open(source, "rb") as handle, self.writer(validate_blob_id(blob_id)) as blob:
            for chunk in iter(lambda: handle.read(PART_SIZE), b""):
                blob.write(chunk)


class S3BlobWriter(BlobWriter):
    """One part buffer in memory; full parts go out as a multipart upload begun lazily (see the module)."""

    def __init__(self, store: S3BlobStore, blob_id: str):
        self.blob_id = blob_id
        self._store = store
        self._key = store.key(blob_id)
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict] = []
        self._finished = False

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if self._finished:
            raise ValueError("write to a finished blob writer")
        view = memoryview(data).cast("B")
        size = len(view)
        while view:
            room = PART_SIZE - len(self._buffer)
            self._buffer += view[:room]
            view = view[room:]
            if len(self._buffer) >= PART_SIZE:
                self._send_part()
        return size

    @contextmanager
    def _aborted_on_failure(self) -> Iterator[None]:
        """Any failure abandons the multipart upload (nothing half-visible); S3's own errors become a 503."""
        try:
            yield
        except (BotoCoreError, ClientError) as exc:
            self.abort()
            raise BlobStoreUnavailable(f"blob store write failed: {type(exc).__name__}") from exc
        except BaseException:
            self.abort()
            raise

    def _send_part(self) -> None:
        client, bucket = self._store.client, self._store.bucket
        with self._aborted_on_failure():
            if self._upload_id is None:
                self._upload_id = client.create_multipart_upload(Bucket=bucket, Key=self._key)["UploadId"]
            number = len(self._parts) + 1
            answer = client.upload_part(Bucket=bucket, Key=self._key, UploadId=self._upload_id,
                                        PartNumber=number, Body=bytes(self._buffer))
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"]})
        self._buffer.clear()

    def commit(self) -> str:
        if self._finished:
            raise ValueError("commit of a finished blob writer")
        client, bucket = self._store.client, self._store.bucket
        with self._aborted_on_failure():
            if self._upload_id is None:
                client.put_object(Bucket=bucket, Key=self._key, Body=bytes(self._buffer))
            else:
                if self._buffer:
                    self._send_part()
                client.complete_multipart_upload(Bucket=bucket, Key=self._key, UploadId=self._upload_id,
                                                 MultipartUpload={"Parts": self._parts})
        self._finished = True
        self._buffer = bytearray()
        return self.blob_id

    def abort(self) -> None:
        self._finished = True
        self._buffer = bytearray()
        upload_id, self._upload_id = self._upload_id, None
        if upload_id is not None:
            try:
                self._store.client.abort_multipart_upload(Bucket=self._store.bucket, Key=self._key,
                                                          UploadId=upload_id)
            except (BotoCoreError, ClientError):
                pass  # left for `blobs gc` (remove_stale_temporaries)
