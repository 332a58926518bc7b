"""The local blob store: atomic writes, id validation, listing, and the service functions on top."""

from __future__ import annotations

import os

import pytest

from documents import service
from documents.storage import (
    BlobNotFound,
    InvalidBlobId,
    LocalBlobStore,
    blob_store_from_setting,
    current_blob_store,
    register_backend,
)
from documents.stream import (
    DEFAULT_SEGMENT_SIZE,
    HEADER_SIZE,
    TAG_SIZE,
    StreamIntegrityError,
    ciphertext_size,
)
from portal.keyring import KeyRing


@pytest.fixture
def store(tmp_path):
    return LocalBlobStore(tmp_path / "blobs")


def read(store, blob_id) -> bytes:
    with store.open(blob_id) as handle:
        return handle.read()


def all_files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_put_open_size_exists_delete(store):
    blob_id = store.put([b"abc", b"", b"def"])
    assert len(blob_id) == 32
    assert store.exists(blob_id)
    assert store.size(blob_id) == 6
    with store.open(blob_id) as handle:
        assert handle.read() == b"abcdef"
    path = store.root / blob_id[:2] / blob_id
    assert path.is_file()
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)
    assert oct(store.root.stat().st_mode & 0o777) == oct(0o700)
    assert list(store.iter_ids()) == [blob_id]
    assert store.delete(blob_id) is True
    assert store.delete(blob_id) is False
    assert not store.exists(blob_id)
    with pytest.raises(BlobNotFound):
        store.open(blob_id)
    with pytest.raises(BlobNotFound):
        store.size(blob_id)


def test_ids_are_random_and_listed(store):
    ids = {store.put([b"x"]) for _ in range(5)}
    assert len(ids) == 5
    assert set(store.iter_ids()) == ids


def test_a_failure_mid_write_leaves_no_blob_and_no_temporary_file(store):
    def failing():
        yield b"first part"
        raise ConnectionError("client went away")

    store.put([b"keep"])  # the shard folders exist; only this blob may remain
    before = all_files(store.root)
    with pytest.raises(ConnectionError):
        store.put(failing())
    assert all_files(store.root) == before
    assert list(store.iter_temporaries()) == []


def test_a_blob_is_not_visible_while_it_is_being_written(store):
    seen = []

    def watching():
        yield b"part"
        seen.append(list(store.iter_ids()))
        seen.append([p.name for p in store.iter_temporaries()])
        yield b"more"

    blob_id = store.put(watching())
    assert seen[0] == []
    assert len(seen[1]) == 1 and seen[1][0].startswith(".tmp-")
    assert list(store.iter_ids()) == [blob_id]


def test_a_writer_commits_once_and_aborts_without_a_trace(store):
    store.put([b"keep"])
    before = all_files(store.root)
    with store.writer() as blob:
        blob.write(b"abc")
        blob.write(memoryview(bytearray(b"defg"))[1:])
        assert not store.exists(blob.blob_id)
    assert read(store, blob.blob_id) == b"abcefg"
    with pytest.raises(ValueError):
        blob.write(b"late")
    with pytest.raises(ValueError):
        blob.commit()

    aborted = store.writer()
    aborted.write(b"never")
    aborted.abort()
    aborted.abort()
    with pytest.raises(RuntimeError), store.writer() as failed:
        failed.write(b"half")
        raise RuntimeError("refused")
    assert not store.exists(aborted.blob_id) and not store.exists(failed.blob_id)
    assert sorted(set(all_files(store.root)) - set(before)) == [f"{blob.blob_id[:2]}/{blob.blob_id}"]
    assert list(store.iter_temporaries()) == []


def test_a_failed_fsync_stores_nothing(store, monkeypatch):
    def broken(fd):
        raise OSError("disk full")

    monkeypatch.setattr("documents.storage.os.fsync", broken)
    with pytest.raises(OSError, match="disk full"), store.writer() as blob:
        blob.write(b"x" * 1000)
    assert list(store.iter_ids()) == [] and list(store.iter_temporaries()) == []


def test_short_writes_are_completed(store, monkeypatch):
    real_write = os.write
    monkeypatch.setattr("documents.storage.os.write", lambda fd, data: real_write(fd, data[:1000]))
    data = os.urandom(10_500)
    assert read(store, store.put([data])) == data


def test_write_back_is_started_every_few_megabytes_and_is_only_a_hint(store, monkeypatch):
    from documents import storage

    calls = []
    monkeypatch.setattr(storage, "WRITEBACK_EVERY", 4096)
    monkeypatch.setattr(storage, "_start_writeback", lambda fd, offset, length: calls.append((offset, length)))
    data = os.urandom(10_000)
    blob_id = store.put([data[:3000], data[3000:5000], data[5000:]])
    assert calls == [(0, 5000), (5000, 5000)]
    assert read(store, blob_id) == data
    # Where the C library has no sync_file_range (or it fails), nothing changes.
    monkeypatch.undo()
    monkeypatch.setattr(storage, "WRITEBACK_EVERY", 1)
    monkeypatch.setattr(storage, "_sync_file_range", None)
    assert read(store, store.put([data, data])) == data + data


def test_the_write_back_hint_is_accepted_by_the_kernel(tmp_path):
    from documents import storage

    if storage._sync_file_range is None:
        pytest.skip("no sync_file_range here")
    path = tmp_path / "f"
    path.write_bytes(b"x" * 100_000)
    fd = os.open(path, os.O_WRONLY)
    try:
        assert storage._sync_file_range(fd, 0, 100_000, storage._SYNC_FILE_RANGE_WRITE) == 0
    finally:
        os.close(fd)


def test_stale_temporaries_are_removed_and_not_listed(store):
    blob_id = store.put([b"x"])
    stale = store.root / blob_id[:2] / f".tmp-{'0' * 32}-dead"
    stale.write_bytes(b"half")
    os.utime(stale, (0, 0))
    fresh = store.root / blob_id[:2] / f".tmp-{'1' * 32}-live"
    fresh.write_bytes(b"writing")
    assert list(store.iter_ids()) == [blob_id]
    assert store.remove_stale_temporaries(older_than_seconds=60) == 1
    assert not stale.exists() and fresh.exists()


@pytest.mark.parametrize(
    "bad_id",
    [
        "../../etc/passwd",
        "..",
        "/etc/passwd",
        "ab/../../../../etc/passwd",
        "0123456789abcdef0123456789abcde/",
        "0123456789ABCDEF0123456789ABCDEF",
        "0123456789abcdef0123456789abcdef\x00",
        "0123456789abcdef0123456789abcdef/..",
        "",
        "0" * 31,
        "0" * 33,
        None,
    ],
)
def test_traversal_and_malformed_ids_are_refused(store, bad_id):
    for operation in (store.open, store.delete, store.exists, store.size):
        with pytest.raises(InvalidBlobId):
            operation(bad_id)


def test_files_outside_the_layout_are_ignored(store):
    blob_id = store.put([b"x"])
    (store.root / "notes.txt").write_text("x")
    misplaced = ("00" if blob_id[:2] != "00" else "11") * 16  # a well-formed id in a shard that is not its own
    (store.root / blob_id[:2] / misplaced).write_bytes(b"wrong shard")
    assert list(store.iter_ids()) == [blob_id]


def test_settings_select_a_backend(tmp_path):
    assert isinstance(blob_store_from_setting(str(tmp_path)), LocalBlobStore)
    local = blob_store_from_setting(f"file://{tmp_path}/b")
    assert local.root == (tmp_path / "b").resolve()
    with pytest.raises(ValueError):
        blob_store_from_setting("gopher://bucket/prefix")
    s3 = blob_store_from_setting("s3://bucket/some/prefix/")
    assert (s3.bucket, s3.prefix, s3.location) == ("bucket", "some/prefix", "s3://bucket/some/prefix")
    with pytest.raises(ValueError, match="names a bucket"):
        blob_store_from_setting("s3:///prefix")

    class MemoryStore(LocalBlobStore):
        pass

    register_backend("memtest", lambda url: MemoryStore(tmp_path / "m"))
    assert isinstance(blob_store_from_setting("memtest://x"), MemoryStore)


def test_current_blob_store_defaults_to_the_instance_folder(app_ctx, app, monkeypatch):
    monkeypatch.setitem(app.config, "BLOB_STORE", "")  # the suite may run on S3 (make test-s3)
    monkeypatch.delitem(app.extensions, "blob_store", raising=False)
    store = current_blob_store()
    assert isinstance(store, LocalBlobStore)
    assert str(store.root).startswith(app.config["INSTANCE_PATH"])
    assert store.root.name == "blobs"
    assert current_blob_store() is store


# --------------------------------------------------------------------------- service


MARKER = b"MARKER-7f3a-specimen-passport-SPECIMEN"


def test_encrypt_to_store_and_back(store):
    ring = KeyRing.generate()
    data = (MARKER + os.urandom(1000)) * 300
    stored = service.encrypt_to_store(
        store, [data[i : i + 5000] for i in range(0, len(data), 5000)], 77, ring
    )
    blob_id, wrapped_key, key_id, size = stored
    assert key_id == "k1" and size == len(data)
    assert store.size(blob_id) == ciphertext_size(len(data))
    with service.decrypt_from_store(store, blob_id, wrapped_key, key_id, 77, ring) as reader:
        assert b"".join(reader) == data
    service.verify_stored(store, blob_id, wrapped_key, key_id, 77, ring, size=size)


def test_the_blob_folder_never_holds_plaintext(store):
    ring = KeyRing.generate()
    seen_during_write = []

    def chunks():
        for _ in range(50):
            yield MARKER * 100
            for path in store.root.rglob("*"):
                if path.is_file():
                    seen_during_write.append(MARKER in path.read_bytes())

    stored = service.encrypt_to_store(store, chunks(), "m1", ring)
    assert seen_during_write and not any(seen_during_write)
    for path in store.root.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert MARKER not in content
            assert MARKER[:12] not in content
    assert MARKER in b"".join(service.decrypt_from_store(store, *stored[:3], "m1", ring))


def test_a_refusal_while_storing_leaves_nothing(store):
    ring = KeyRing.generate()

    def refused():
        yield b"a" * 100_000
        raise ValueError("refused half-way")

    with pytest.raises(ValueError):
        service.encrypt_to_store(store, refused(), 1, ring)
    assert all_files(store.root) == []


def test_decrypt_from_store_fails_early_for_another_file_and_late_for_a_damaged_blob(store):
    ring = KeyRing.generate()
    stored = service.encrypt_to_store(store, [os.urandom(200_000)], 5, ring)
    from documents.envelope import KeyUnwrapError

    with pytest.raises(KeyUnwrapError):
        service.decrypt_from_store(store, stored.blob_id, stored.wrapped_key, stored.key_id, 6, ring)
    path = store.root / stored.blob_id[:2] / stored.blob_id
    damaged = bytearray(path.read_bytes())
    damaged[150_000] ^= 1
    path.write_bytes(bytes(damaged))
    reader = service.decrypt_from_store(store, stored.blob_id, stored.wrapped_key, stored.key_id, 5, ring)
    with pytest.raises(StreamIntegrityError):
        list(reader)
    with pytest.raises(StreamIntegrityError):
        service.verify_stored(store, stored.blob_id, stored.wrapped_key, stored.key_id, 5, ring)


def test_verify_stored_checks_the_recorded_size(store):
    ring = KeyRing.generate()
    stored = service.encrypt_to_store(store, [b"hello"], 5, ring)
    service.verify_stored(store, stored.blob_id, stored.wrapped_key, stored.key_id, 5, ring, size=5)
    with pytest.raises(StreamIntegrityError, match="decrypts to 5 bytes, the row records 6"):
        service.verify_stored(store, stored.blob_id, stored.wrapped_key, stored.key_id, 5, ring, size=6)


SEGMENT_ON_DISK = DEFAULT_SEGMENT_SIZE + TAG_SIZE


def _blob_path(store, blob_id):
    return store.root / blob_id[:2] / blob_id


@pytest.mark.parametrize("damage", [
    "flip a bit in the last segment",
    "flip a bit in the first segment",
    "drop the last segment",
    "drop a middle segment",
    "swap two segments",
    "repeat a segment",
    "another file's blob",
])
def test_verify_stored_refuses_every_damage_without_a_plaintext_digest(store, damage):
    """``keys verify`` decrypts every segment: what a plaintext digest used to cross-check is caught by
    the segments' GCM tags, counters and last-segment flag (and the file id bound into each)."""
    ring = KeyRing.generate()
    data = os.urandom(3 * DEFAULT_SEGMENT_SIZE + 100)  # four segments, the last one short
    stored = service.encrypt_to_store(store, [data], "v1", ring)
    path = _blob_path(store, stored.blob_id)
    blob = bytearray(path.read_bytes())
    header, body = blob[:HEADER_SIZE], blob[HEADER_SIZE:]
    segments = [bytes(body[i : i + SEGMENT_ON_DISK]) for i in range(0, len(body), SEGMENT_ON_DISK)]
    assert len(segments) == 4
    if damage == "flip a bit in the last segment":
        blob[-TAG_SIZE - 1] ^= 0x01
    elif damage == "flip a bit in the first segment":
        blob[HEADER_SIZE + 10] ^= 0x80
    elif damage == "drop the last segment":
        blob = header + b"".join(segments[:3])
    elif damage == "drop a middle segment":
        blob = header + segments[0] + segments[2] + segments[3]
    elif damage == "swap two segments":
        blob = header + segments[1] + segments[0] + segments[2] + segments[3]
    elif damage == "repeat a segment":
        blob = header + segments[0] + segments[0] + segments[1] + segments[2] + segments[3]
    else:
        other = service.encrypt_to_store(store, [data], "v2", ring)
        blob = _blob_path(store, other.blob_id).read_bytes()
    path.write_bytes(bytes(blob))
    with pytest.raises(StreamIntegrityError):
        service.verify_stored(store, stored.blob_id, stored.wrapped_key, stored.key_id, "v1", ring,
                              size=stored.size)


def test_rotation_keeps_stored_files_readable(store):
    ring = KeyRing.generate()
    data = os.urandom(70_000)
    stored = service.encrypt_to_store(store, [data], "r1", ring)
    ring2 = ring.with_new_key()
    from documents.envelope import rewrap

    wrapped, key_id = rewrap(stored.wrapped_key, stored.key_id, ring2, "r1")
    only_new = KeyRing({key_id: ring2.keys[key_id]}, key_id)
    with service.decrypt_from_store(store, stored.blob_id, wrapped, key_id, "r1", only_new) as reader:
        assert b"".join(reader) == data


def test_an_unconsumed_reader_can_be_closed(store):
    ring = KeyRing.generate()
    stored = service.encrypt_to_store(store, [b"x" * 10], 1, ring)
    reader = service.decrypt_from_store(store, stored.blob_id, stored.wrapped_key, stored.key_id, 1, ring)
    reader.close()
    with pytest.raises(BlobNotFound):
        service.decrypt_from_store(store, "0" * 32, stored.wrapped_key, stored.key_id, 1, ring)
