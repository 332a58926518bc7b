"""``blobs gc``: only blobs no registered row references (and stale temporaries) are removed."""

from __future__ import annotations

import os
import time

import pytest
from sqlalchemy import select

from documents.storage import LocalBlobStore
from portal.audit.models import AuditEntry
from portal.extensions import db
from tests import test_rotation

SampleFile = test_rotation.SampleFile
# the sample file model's fixture, shared with the rotation tests
sample_files = test_rotation.sample_files

HOUR = 3600


@pytest.fixture
def blob_store(app, tmp_path, monkeypatch):
    """The local folder store, whose files' ages these tests set (the S3 store's gc: test_s3_store.py)."""
    store = LocalBlobStore(tmp_path / "blobs")
    monkeypatch.setitem(app.extensions, "blob_store", store)
    return store


def _age(store, blob_id: str, seconds: float) -> None:
    path = store.root / blob_id[:2] / blob_id
    old = time.time() - seconds
    os.utime(path, (old, old))


def test_gc_removes_only_unreferenced_old_blobs_and_stale_temporaries(app, cli, sample_files, blob_store):
    kept = sample_files(b"referenced specimen", "uid-gc-1")
    _age(blob_store, kept.blob_id, 2 * HOUR)
    orphan = blob_store.put([b"ciphertext left by a crashed upload"])
    _age(blob_store, orphan, 2 * HOUR)
    young = blob_store.put([b"an upload whose row is not committed yet"])
    stale_tmp = blob_store.root / orphan[:2] / f".tmp-{orphan}-dead"
    stale_tmp.write_bytes(b"partial")
    os.utime(stale_tmp, (time.time() - 2 * HOUR,) * 2)
    fresh_tmp = blob_store.root / young[:2] / f".tmp-{young}-live"
    fresh_tmp.write_bytes(b"being written")

    dry = cli("blobs", "gc", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert f"would remove {orphan}" in dry.output
    assert "1 unreferenced blob(s) and 1 stale temporary file(s) would be removed" in dry.output
    assert blob_store.exists(orphan) and stale_tmp.exists()

    head = db.session.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1)) or 0
    result = cli("blobs", "gc")

    assert result.exit_code == 0, result.output
    assert f"removed {orphan}" in result.output
    assert "Removed 1 unreferenced blob(s) and 1 stale temporary file(s); 1 referenced, 1 too recent" in result.output
    assert not blob_store.exists(orphan) and not stale_tmp.exists()
    assert blob_store.exists(kept.blob_id) and blob_store.exists(young) and fresh_tmp.exists()
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.seq > head, AuditEntry.action == "blobs.gc"))
    assert entry is not None and entry.actor_role == "cli"


def test_gc_min_age_zero_removes_at_once_what_a_crash_left(app, cli, sample_files, blob_store):
    kept = sample_files(b"referenced specimen", "uid-gc-0")
    orphan = blob_store.put([b"ciphertext of an upload whose worker was killed before the commit"])
    partial = blob_store.root / orphan[:2] / f".tmp-{orphan}-killed"
    partial.write_bytes(b"half an upload")

    result = cli("blobs", "gc", "--min-age", "0")

    assert result.exit_code == 0, result.output
    assert "Removed 1 unreferenced blob(s) and 1 stale temporary file(s); 1 referenced, 0 too recent" in result.output
    assert not blob_store.exists(orphan) and not partial.exists() and blob_store.exists(kept.blob_id)
    assert cli("blobs", "gc", "--min-age", "-1").exit_code == 2  # a clear usage error, nothing removed


def test_gc_keeps_a_blob_whose_row_was_committed_after_listing(app, sample_files, blob_store, monkeypatch):
    """The referenced set is re-checked per candidate just before it is deleted."""
    from documents import gc

    row = sample_files(b"late row", "uid-gc-2")
    _age(blob_store, row.blob_id, 2 * HOUR)
    monkeypatch.setattr("portal.rotation.referenced_blob_ids", lambda: set())  # a stale listing

    result = gc.collect_garbage(blob_store)

    assert result.unreferenced == [row.blob_id] and result.removed == []
    assert blob_store.exists(row.blob_id)


def test_gc_thumbnail_columns_count_as_references(app, sample_files, blob_store, monkeypatch):
    from documents import gc
    from documents.service import register_file_columns

    row = sample_files(b"image", "uid-gc-3")
    thumb = blob_store.put([b"thumbnail ciphertext"])
    _age(blob_store, thumb, 2 * HOUR)
    # a second blob column on the same model (like StoredFileMixin's thumb_blob_id)
    register_file_columns(SampleFile, "file_uid", "spare_blob_id", "key_id", blob_id_attr="spare_blob_id")
    db.session.get(SampleFile, row.id).spare_blob_id = thumb
    db.session.commit()

    assert gc.collect_garbage(blob_store).removed == []
    assert blob_store.exists(thumb)
