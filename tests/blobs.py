"""The blob store the suite runs on: the local folder by default, SeaweedFS's S3 gateway under
``make test-s3`` (``PORTAL_BLOB_STORE=s3://...``), each test store under a fresh prefix.

The helpers reach the raw ciphertext (to check it or corrupt it) and list everything a store holds,
finished or not, whatever the backend."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from documents.storage import BlobStore, LocalBlobStore, blob_store_from_setting, current_blob_store


def s3_base() -> str:
    """``s3://bucket/prefix`` when the suite runs on S3, else ''."""
    setting = os.environ.get("PORTAL_BLOB_STORE", "")
    return setting.rstrip("/") if setting.startswith("s3://") else ""


def fresh_store_setting(name: str) -> str | None:
    """A ``BLOB_STORE`` value for a new, empty store on S3 (None: the default local folder)."""
    base = s3_base()
    return f"{base}/{name}-{secrets.token_hex(4)}" if base else None


def fresh_store(folder: Path, name: str = "t") -> BlobStore:
    """An empty store: on S3 under a new prefix, else the folder ``folder``."""
    setting = fresh_store_setting(name)
    return blob_store_from_setting(setting) if setting else LocalBlobStore(folder)


def raw_blob(store: BlobStore, blob_id: str) -> bytes:
    with store.open(blob_id) as handle:
        return handle.read()


def replace_raw_blob(store: BlobStore, blob_id: str, data: bytes) -> None:
    """Overwrite a stored blob's ciphertext in place (corruption tests)."""
    if isinstance(store, LocalBlobStore):
        (store.root / blob_id[:2] / blob_id).write_bytes(data)
    else:
        store.client.put_object(Bucket=store.bucket, Key=store.key(blob_id), Body=data)


def blob_files() -> set[str]:
    """Everything the application's store holds: ``xx/<id>`` per blob, plus each leftover of an unfinished
    write (a temporary file, an unfinished multipart upload)."""
    store = current_blob_store()
    if isinstance(store, LocalBlobStore):
        root = store.root
        if not root.exists():
            return set()
        return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}
    return {f"{blob_id[:2]}/{blob_id}" for blob_id in store.iter_ids()} | {
        f"upload:{upload['Key']}:{upload['UploadId']}" for upload in store.iter_uploads()}
