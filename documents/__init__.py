"""Encrypted file storage: envelope keys, STREAM segment encryption, the blob store and upload checks.

- ``documents.envelope``: per-file data keys wrapped under the key ring's ``file-key`` keys (rotation).
- ``documents.stream``: the STREAM construction over AES-256-GCM (constant-memory encrypt and decrypt).
- ``documents.storage``: the ``BlobStore`` interface and the local filesystem store.
- ``documents.service``: ``encrypt_to_store`` / ``decrypt_from_store`` tying the three together.
- ``documents.uploads``: content-based type checks, refusals and metadata stripping.
"""
