"""Key rotation: the key-ring format, the registry, ``keys rotate|verify|retire|export`` end to end."""

from __future__ import annotations

import base64
import json
import os
import stat
from dataclasses import replace

import pytest
from sqlalchemy import LargeBinary, MetaData, String, Text, select, type_coerce, update
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from auth.models import User, email_index
from documents.service import decrypt_from_store, encrypt_to_store, register_file_columns
from portal import rotation, rotation_work
from portal.audit.models import AuditEntry
from portal.crypto import EncryptedText, blind_index
from portal.extensions import db
from portal.keyring import KeyRing, KeyRingError, current_keyring, load_keyring
from tests.alerts.factories import report
from tests.blobs import fresh_store, raw_blob, replace_raw_blob


class _Base(DeclarativeBase):
    metadata = MetaData()


class SampleFile(_Base):
    """A stand-in for a file model (attachments, library versions) registered with the rotation registry."""

    __tablename__ = "test_rotation_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    file_uid: Mapped[str] = mapped_column(String(32))
    blob_id: Mapped[str | None] = mapped_column(String(32))
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    key_id: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    spare_blob_id: Mapped[str | None] = mapped_column(String(32))  # a second blob column (test_gc)
    caption: Mapped[str | None] = mapped_column(EncryptedText("test_rotation_files.caption"))


@pytest.fixture
def blob_store(app, tmp_path, monkeypatch):
    store = fresh_store(tmp_path / "blobs", "rotation")
    monkeypatch.setitem(app.extensions, "blob_store", store)
    return store


@pytest.fixture
def sample_files(app, blob_store, monkeypatch):
    """The sample table (created in the test's transaction) registered in a copy of the registry."""
    monkeypatch.setattr(rotation, "registry", rotation.registry.copy())
    _Base.metadata.create_all(db.session.connection())
    rotation.register_encrypted_column(SampleFile, "caption")
    register_file_columns(SampleFile, "file_uid", "wrapped_key", "key_id", size_attr="size")

    def add(content: bytes, uid: str, caption: str | None = "specimen front, UV") -> SampleFile:
        stored = encrypt_to_store(blob_store, [content], uid, current_keyring())
        row = SampleFile(file_uid=uid, blob_id=stored.blob_id, wrapped_key=stored.wrapped_key,
                         key_id=stored.key_id, size=stored.size, caption=caption)
        db.session.add(row)
        db.session.commit()
        return row

    return add


def _raw(model, attr, row_id) -> str:
    column = model.__table__.c[attr]
    return db.session.scalar(select(type_coerce(column, Text)).where(model.__table__.c.id == row_id))


def _blob_bytes(store, blob_id) -> bytes:
    with store.open(blob_id) as handle:
        return handle.read()


def _key_ids_of(user) -> set[str]:
    return {_raw(User, name, user.id).partition(":")[0] for name in ("email", "full_name", "totp_secret")}


# --- the key-ring file ------------------------------------------------------------------------------


def test_ring_records_a_separate_index_key_and_round_trips(tmp_path):
    ring = KeyRing.generate().with_new_key()
    assert (ring.active_id, ring.index_key_id) == ("k2", "k1")
    path = tmp_path / "ring.json"
    ring.save(path)
    data = json.loads(path.read_text())
    assert data["format"] == 2 and data["active"] == "k2" and data["index_key"] == "k1"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = load_keyring(path, generate=False)
    assert loaded == ring and loaded.index_key_id == "k1"

    indexed = loaded.with_new_index_key()
    assert (indexed.active_id, indexed.index_key_id, sorted(indexed.keys)) == ("k2", "k3", ["k1", "k2", "k3"])


def test_old_ring_files_keep_their_blind_indexes(tmp_path):
    """A format-1 file has no index key: blind indexes were derived from the active key, and still are."""
    path = tmp_path / "ring.json"
    keys = {"k1": os.urandom(32), "k2": os.urandom(32)}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, json.dumps({"format": 1, "active": "k2",
                             "keys": {kid: base64.b64encode(key).decode() for kid, key in keys.items()}}).encode())
    os.close(fd)
    assert load_keyring(path, generate=False).index_key_id == "k2"


def test_ring_with_unknown_index_key_is_refused(tmp_path):
    path = tmp_path / "ring.json"
    ring = KeyRing.generate()
    data = json.loads(ring.to_json())
    data["index_key"] = "k9"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, json.dumps(data).encode())
    os.close(fd)
    with pytest.raises(KeyRingError, match="inconsistent"):
        load_keyring(path, generate=False)


def test_without_key_refuses_the_keys_the_ring_uses():
    ring = KeyRing.generate().with_new_key().with_new_index_key()  # active k2, index k3
    with pytest.raises(KeyRingError):
        ring.without_key("k2")
    with pytest.raises(KeyRingError):
        ring.without_key("k3")
    assert sorted(ring.without_key("k1").keys) == ["k2", "k3"]


def test_blind_index_does_not_change_when_the_active_key_rotates(app, monkeypatch):
    before = blind_index("A1234567", scope="alert-number")
    monkeypatch.setitem(app.extensions, "keyring", current_keyring().with_new_key())
    assert blind_index("A1234567", scope="alert-number") == before
    monkeypatch.setitem(app.extensions, "keyring", current_keyring().with_new_index_key())
    assert blind_index("A1234567", scope="alert-number") != before


# --- the registry -----------------------------------------------------------------------------------


def test_core_and_alerts_register_every_encrypted_column():
    from alerts.models import Alert

    registered = {entry.label for entry in rotation.registry.encrypted.values()}
    assert {"users.email", "users.full_name", "users.totp_secret", "outbox_messages.recipient",
            "outbox_messages.subject", "outbox_messages.body", "notifications.title", "notices.title",
            "notices.body", "alerts.document_number", "alerts.range_start", "alerts.range_end",
            "alerts.holder_name", "alerts.holder_birth_date", "alerts.mrz", "alert_revisions.snapshot"} <= registered
    core_tables = {"users", "outbox_messages", "notifications", "notices", "alerts", "alert_revisions"}
    assert not [name for name in rotation.unregistered_encrypted_columns() if name.split(".")[0] in core_tables]
    assert {(index.model, index.name) for index in rotation.registry.blind_indexes.values()} >= {
        (User, "users.email_index"), (Alert, "alerts.number_indexes")}


def test_unregistered_encrypted_columns_are_detected(monkeypatch):
    monkeypatch.setattr(rotation, "registry", rotation.registry.copy())
    assert rotation.unregistered_encrypted_columns(_Base.metadata) == ["test_rotation_files.caption"]
    rotation.register_encrypted_column(SampleFile, "caption")
    assert rotation.unregistered_encrypted_columns(_Base.metadata) == []
    with pytest.raises(TypeError):
        rotation.register_encrypted_column(SampleFile, "file_uid")


# --- keys rotate ------------------------------------------------------------------------------------


def test_rotate_reencrypts_values_and_rewraps_file_keys(app, cli, ring_file, make_user, sample_files, blob_store):
    user = make_user(name="Ana Pérez", email="ana.rotation@gtm.example.org")
    sample = sample_files(b"front of a counterfeit passport", "uid-rotate-1")
    blob_before = _blob_bytes(blob_store, sample.blob_id)
    assert _key_ids_of(user) == {"k1"} and sample.key_id == "k1"
    head = db.session.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1)) or 0

    result = cli("keys", "rotate")

    assert result.exit_code == 0, result.output
    assert "Added key k2" in result.output and "file key(s) moved" in result.output
    ring = load_keyring(ring_file, generate=False)
    assert (ring.active_id, sorted(ring.keys)) == ("k2", ["k1", "k2"])
    assert stat.S_IMODE(ring_file.stat().st_mode) == 0o600
    db.session.expire_all()
    assert _key_ids_of(user) == {"k2"}
    assert db.session.get(User, user.id).full_name == "Ana Pérez"
    assert rotation_work.pending_work(current_keyring()) == 0
    row = db.session.get(SampleFile, sample.id)
    assert row.key_id == "k2" and row.caption == "specimen front, UV"
    assert _raw(SampleFile, "caption", sample.id).startswith("k2:")
    assert _blob_bytes(blob_store, sample.blob_id) == blob_before  # the blob is not rewritten
    with decrypt_from_store(blob_store, row.blob_id, row.wrapped_key, row.key_id, row.file_uid,
                            current_keyring()) as reader:
        assert b"".join(reader) == b"front of a counterfeit passport"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.seq > head, AuditEntry.action == "keys.rotate"))
    details = json.loads(entry.details) if isinstance(entry.details, str) else entry.details
    assert entry.object_id == "k2" and details["failed"] == 0 and details["file_keys"] >= 1


def test_blind_index_searches_match_after_rotate_and_after_index_rotation(app, cli, ring_file, make_user):
    from alerts.indexes import number_any_index, number_index
    from alerts.models import Alert

    user = make_user(email="search.me@mex.example.org", party_code="MEX")
    alert = report(user, document_number="G7654321", issuing_state="MEX")
    db.session.commit()
    old_email_index = user.email_index

    assert cli("keys", "rotate").exit_code == 0
    db.session.expire_all()
    assert User.find_by_email("Search.Me@mex.example.org").id == user.id
    assert db.session.scalar(select(Alert.id).where(Alert.number_index == number_index("G7654321", "MEX"))) == alert.id

    result = cli("keys", "rotate", "--index")

    assert result.exit_code == 0, result.output
    assert "Added blind-index key k3" in result.output
    ring = load_keyring(ring_file, generate=False)
    assert (ring.active_id, ring.index_key_id) == ("k2", "k3")
    db.session.expire_all()
    refreshed = db.session.get(User, user.id)
    assert refreshed.email_index != old_email_index and refreshed.email_index == email_index("search.me@mex.example.org")
    assert User.find_by_email("search.me@mex.example.org").id == user.id
    assert db.session.scalar(select(Alert.id).where(Alert.number_any_index == number_any_index("G7654321"))) == alert.id


def test_interrupted_rotation_resumes_without_losing_anything(app, cli, ring_file, make_user, monkeypatch):
    users = [make_user(name=f"Interrupted {n}") for n in range(3)]
    real_encrypt = rotation_work.encrypt_text
    calls = {"n": 0}

    def failing_in_second_batch(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:  # batch size 2: the first value of the second batch
            raise RuntimeError("power cut")
        return real_encrypt(*args, **kwargs)

    monkeypatch.setattr(rotation_work, "encrypt_text", failing_in_second_batch)
    result = cli("keys", "rotate", "--batch-size", "2")
    assert result.exit_code != 0 and isinstance(result.exception, RuntimeError)
    monkeypatch.setattr(rotation_work, "encrypt_text", real_encrypt)

    ring = load_keyring(ring_file, generate=False)
    assert ring.active_id == "k2"  # the key was saved before the first value moved
    db.session.expire_all()
    converted = db.session.scalar(select(type_coerce(User.__table__.c.email, Text)).order_by(User.id).limit(1))
    assert converted.startswith("k2:")  # the first batch was committed
    left = rotation_work.pending_work(current_keyring())
    assert left > 0

    resumed = cli("keys", "rotate", "--batch-size", "2")

    assert resumed.exit_code == 0, resumed.output
    assert f"Resuming: {left} value(s)" in resumed.output
    assert sorted(load_keyring(ring_file, generate=False).keys) == ["k1", "k2"]  # no third key
    assert rotation_work.pending_work(current_keyring()) == 0
    db.session.expire_all()
    for user in users:
        assert _key_ids_of(user) == {"k2"}
        assert db.session.get(User, user.id).full_name == user.full_name
    assert "Nothing to resume" in cli("keys", "rotate", "--resume").output


# --- keys verify ------------------------------------------------------------------------------------


def test_verify_passes_then_reports_a_corrupted_value_and_a_corrupted_blob(app, cli, ring_file, make_user,
                                                                           sample_files, blob_store):
    user = make_user()
    user_id = user.id
    sample = sample_files(os.urandom(200_000), "uid-verify-1")
    ok = cli("keys", "verify")
    assert ok.exit_code == 0, ok.output
    assert "test_rotation_files.blob_id: 1 checked" in ok.output and "verification OK" in ok.output

    stored = _raw(User, "full_name", user_id)
    key_id, _, payload = stored.partition(":")
    raw = bytearray(base64.b64decode(payload))
    raw[20] ^= 0x01
    db.session.execute(update(User.__table__).where(User.__table__.c.id == user_id).values(
        {User.__table__.c.full_name: type_coerce(f"{key_id}:{base64.b64encode(bytes(raw)).decode()}", Text)}))
    data = bytearray(raw_blob(blob_store, sample.blob_id))
    data[100_000] ^= 0x80
    replace_raw_blob(blob_store, sample.blob_id, bytes(data))
    db.session.commit()

    result = cli("keys", "verify")

    assert result.exit_code == 1
    assert f"CORRUPTED users id={user_id} full_name: failed authentication" in result.output
    assert f"CORRUPTED test_rotation_files id={sample.id} blob_id:" in result.output
    assert "2 corrupted item(s) found" in result.output

    # rotation leaves the corrupted value as it is (under k1) and reports it, converting the rest
    rotated = cli("keys", "rotate")
    assert rotated.exit_code == 1
    assert f"users id={user_id} full_name" in rotated.output
    assert _raw(User, "full_name", user_id).startswith("k1:")
    assert _raw(User, "email", user_id).startswith("k2:")


def test_verify_reports_a_missing_blob_and_an_unknown_key(app, cli, ring_file, make_user, sample_files, blob_store):
    user = make_user()
    user_id = user.id
    sample = sample_files(b"x" * 10, "uid-verify-2")
    blob_store.delete(sample.blob_id)
    stored = _raw(User, "email", user_id)
    db.session.execute(update(User.__table__).where(User.__table__.c.id == user_id).values(
        {User.__table__.c.email: type_coerce("k7:" + stored.partition(":")[2], Text)}))
    db.session.commit()

    result = cli("keys", "verify")

    assert result.exit_code == 1
    assert f"test_rotation_files id={sample.id} blob_id: blob is missing from the store" in result.output
    assert f"users id={user_id} email: key 'k7' is not in the key ring" in result.output


# --- keys retire, status, export --------------------------------------------------------------------


def test_retire_refuses_a_key_still_in_use(app, cli, ring_file, make_user, monkeypatch):
    from portal.audit.service import record
    from portal.cli_support import CLI_ACTOR

    make_user()
    record("keys.test", principal=CLI_ACTOR)  # an audit entry under k1: its HMAC key must stay
    db.session.commit()
    assert cli("keys", "rotate").exit_code == 0
    assert cli("keys", "rotate", "--index").exit_code == 0
    monkeypatch.setattr(rotation, "unregistered_encrypted_columns", lambda metadata=None: [])
    result = cli("keys", "retire", "k1")
    assert result.exit_code == 1
    assert "k1 is still used by" in result.output and "audit_entries" in result.output
    assert sorted(load_keyring(ring_file, generate=False).keys) == ["k1", "k2", "k3"]
    refused = cli("keys", "retire", "k3")
    assert refused.exit_code == 1 and "active or blind-index" in refused.output


def test_retire_removes_an_unused_key(app, cli, ring_file, monkeypatch):
    spare = current_keyring().with_new_index_key()  # k2 as index key: then a fresh index key k3
    spare = replace(spare.with_new_index_key(), path=ring_file)
    spare.save(ring_file)
    monkeypatch.setitem(app.extensions, "keyring", spare)
    monkeypatch.setattr(rotation, "unregistered_encrypted_columns", lambda metadata=None: [])

    result = cli("keys", "retire", "k2")

    assert result.exit_code == 0, result.output
    assert sorted(load_keyring(ring_file, generate=False).keys) == ["k1", "k3"]


def test_retire_refuses_while_encrypted_columns_are_unregistered(app, cli, ring_file, monkeypatch):
    monkeypatch.setattr(rotation, "unregistered_encrypted_columns", lambda metadata=None: ["other.secret"])
    result = cli("keys", "retire", "k1")
    assert result.exit_code == 1 and "other.secret" in result.output


def test_status_lists_what_uses_each_key(app, cli, ring_file, make_user):
    make_user()
    result = cli("keys", "status")
    assert result.exit_code == 0
    assert result.output.startswith("k1 (active, blind-index): ")
    assert "users.email" in result.output


def test_export_writes_a_private_copy_with_a_warning(app, cli, ring_file, tmp_path):
    target = tmp_path / "exported.json"
    result = cli("keys", "export", str(target))
    assert result.exit_code == 0, result.output
    assert "WARNING" in result.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert load_keyring(target, generate=False) == current_keyring()
    again = cli("keys", "export", str(target))
    assert again.exit_code == 1 and "exists already" in again.output
