"""The encrypted file service and the document library.

- ``documents.envelope``: per-file data keys wrapped under the key ring's ``file-key`` keys (rotation).
- ``documents.stream``: the STREAM construction over AES-256-GCM (constant-memory encrypt and decrypt).
- ``documents.storage``: the ``BlobStore`` interface and the local filesystem store; ``documents.s3_storage``
  the S3-compatible one (``s3://bucket/prefix``), registered here as a backend.
- ``documents.service``: ``encrypt_to_store`` / ``decrypt_from_store`` tying the three together, and
  ``register_file_columns`` (a file model's blobs, with their re-wrap and verify, for ``portal.rotation``).
- ``documents.uploads``: content-based type checks, refusals and metadata stripping.
- ``documents.receive``: the streaming multipart reader (no temporary file, ever).
- ``documents.files``: a row's file stored from a checked upload, and read back (watermarked) for a viewer.
- ``documents.transfer``: the HTTP side every feature's upload and download views call.
- ``documents.models``: ``StoredFileMixin`` and ``register_stored_file``; the library's models.
- ``documents.gc`` and ``documents.cli``: ``blobs gc``.
- ``documents.operations``, ``documents.views``, ``documents.forms``: the library.

Features keep their own files (``alerts.attachments``, ``portal.exchange.attachments``) on top of this.
"""

from __future__ import annotations

from .storage import register_backend


def _s3_store(url: str):
    from .s3_storage import S3BlobStore  # boto3 is imported only where S3 is configured

    return S3BlobStore.from_url(url)


register_backend("s3", _s3_store)


def init_app(app) -> None:
    """What the file service adds to the application besides its blueprint and command (``create_app``):
    the clean-up of uncommitted blobs after every request, and the blob store that backups copy."""
    from portal.backup import register_blob_store

    from .storage import current_blob_store
    from .transfer import init_app as init_transfer

    init_transfer(app)
    register_blob_store(app, current_blob_store)
