"""``backup`` / ``restore``: a snapshot restored into an EMPTY instance holds every record and file.

Each test builds its own source and target instances (a fresh SQLite file, or fresh PostgreSQL databases
``test_h15_*`` next to the test database when ``PORTAL_TEST_DATABASE_URL`` is PostgreSQL), so it opts out
of the per-test rollback and drops what it created.
"""

from __future__ import annotations

import base64
import json
import os
import stat
from contextlib import contextmanager

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from auth.models import User, email_index
from documents.service import decrypt_from_store, encrypt_to_store
from documents.storage import current_blob_store
from portal import create_app
from portal.extensions import db
from portal.keyring import KeyRing, current_keyring
from portal.notices.models import Notice
from portal.parties.models import Party
from portal.parties.seed import load_reference_parties
from tests.blobs import fresh_store_setting
from tests.conftest import STRONG_PASSWORD

PG_URL = os.environ.get("PORTAL_TEST_DATABASE_URL", "")
KINDS = ["sqlite"] + (["postgresql"] if PG_URL.startswith("postgresql") else [])


def _admin_connection():
    import psycopg

    url = make_url(PG_URL)
    return psycopg.connect(host=url.host, port=url.port or 5432, user=url.username, password=url.password,
                           dbname="postgres", autocommit=True)


@contextmanager
def _pg_database(name: str):
    with _admin_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with _admin_connection() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def _database(kind: str, folder, name: str):
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'portal.db'}"
    else:
        with _pg_database(f"test_h15_{name}") as url:
            yield url


def _instance(tmp_path, name: str, url: str, ring_file, monkeypatch):
    folder = tmp_path / name
    folder.mkdir(mode=0o700, exist_ok=True)
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(folder))
    monkeypatch.setenv("PORTAL_SECRET_KEY", "test-secret-key")
    blobs = fresh_store_setting(name)  # on S3 (make test-s3): each instance its own empty store
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "KEYRING_FILE": str(ring_file),
                      "INSTANCE_PATH": str(folder), "MAIL_SPOOL_DIR": str(folder / "mail"),
                      "RATELIMIT_STORAGE_URI": "memory://", "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 8,
                      "ARGON2_PARALLELISM": 1, **({"BLOB_STORE": blobs} if blobs else {})})
    return app


def _counts() -> dict[str, int]:
    return {table.name: db.session.scalar(select(func.count()).select_from(table))
            for table in db.metadata.sorted_tables}


@pytest.mark.parametrize("kind", KINDS)
def test_backup_restores_into_an_empty_instance(kind, tmp_path, monkeypatch, real_commits):
    from auth.passwords import hash_password

    ring_file = tmp_path / "keyring.json"
    KeyRing.generate().save(ring_file)
    backup_dir = tmp_path / "backup"
    with _database(kind, tmp_path / "source", "src") as source_url, \
            _database(kind, tmp_path / "target", "dst") as target_url:
        source = _instance(tmp_path, "source", source_url, ring_file, monkeypatch)
        with source.app_context():
            upgrade(directory=str(source.extensions["migrate"].directory), revision="heads")
            load_reference_parties()
            gtm = db.session.scalar(select(Party).where(Party.code == "GTM"))
            user = User(email="restore.me@gtm.example.org", email_index=email_index("restore.me@gtm.example.org"),
                        full_name="Marta Restrepo", role="liaison_officer", party_id=gtm.id, active=True,
                        password_hash=hash_password(STRONG_PASSWORD))
            db.session.add(user)
            db.session.flush()
            db.session.add(Notice(title="Backup notice", body="Restored body", owner_party_id=gtm.id,
                                  created_by_id=user.id, tlp="GREEN", distribution_level="members"))
            db.session.commit()
            store = current_blob_store()
            content = os.urandom(300_000)
            stored = encrypt_to_store(store, [content[:100_000], content[100_000:]], "uid-backup-1",
                                      current_keyring())
            before = _counts()

            result = source.test_cli_runner().invoke(args=["backup", str(backup_dir)])
            assert result.exit_code == 0, result.output
            assert "1 blob(s)" in result.output and "key ring is NOT part of this backup" in result.output
            db.session.remove()
            db.engine.dispose()

        manifest = json.loads((backup_dir / "manifest.json").read_text())
        assert manifest["database_kind"] == kind and manifest["schema_revision"]
        assert manifest["created_at"].endswith("Z") and "k1" in manifest["key_ids"]
        paths = {item["path"]: item for item in manifest["files"]}
        assert f"blobs/{stored.blob_id[:2]}/{stored.blob_id}" in paths
        assert stat.S_IMODE(backup_dir.stat().st_mode) == 0o700
        # the ring is not in the backup, and nothing in it holds a master key or a plaintext value
        master = base64.b64encode(KeyRing.generate().keys["k1"])  # shape check only
        secret = json.loads(ring_file.read_text())["keys"]["k1"].encode()
        for item in paths:
            data = (backup_dir / item).read_bytes()
            assert secret not in data and b"Marta Restrepo" not in data and b"restore.me@" not in data
            assert len(master) == len(secret)

        target = _instance(tmp_path, "target", target_url, ring_file, monkeypatch)
        with target.app_context():
            result = target.test_cli_runner().invoke(args=["restore", str(backup_dir)])
            assert result.exit_code == 0, result.output
            assert "Restored the" in result.output and "1 blob(s)" in result.output
            assert _counts() == before
            restored = User.find_by_email("restore.me@gtm.example.org")
            assert restored is not None and restored.full_name == "Marta Restrepo"
            assert db.session.scalar(select(Notice.body).where(Notice.title != "")) == "Restored body"
            with decrypt_from_store(current_blob_store(), stored.blob_id, stored.wrapped_key, stored.key_id,
                                    "uid-backup-1", current_keyring()) as reader:
                assert b"".join(reader) == content
            # restoring again is refused: the instance is not empty any more
            again = target.test_cli_runner().invoke(args=["restore", str(backup_dir)])
            assert again.exit_code == 1 and "not empty" in again.output
            db.session.remove()
            db.engine.dispose()


def test_restore_refuses_a_backup_that_does_not_match_its_manifest(tmp_path, monkeypatch, real_commits):
    ring_file = tmp_path / "keyring.json"
    KeyRing.generate().save(ring_file)
    source = _instance(tmp_path, "source", f"sqlite:///{tmp_path / 'source' / 'portal.db'}", ring_file, monkeypatch)
    with source.app_context():
        upgrade(directory=str(source.extensions["migrate"].directory), revision="heads")
        stored = encrypt_to_store(current_blob_store(), [b"specimen"], "uid-1", current_keyring())
        backup_dir = tmp_path / "backup"
        assert source.test_cli_runner().invoke(args=["backup", str(backup_dir)]).exit_code == 0
        refused = source.test_cli_runner().invoke(args=["backup", str(backup_dir)])
        assert refused.exit_code == 1 and "not an empty folder" in refused.output
        db.session.remove()
        db.engine.dispose()
    blob = backup_dir / "blobs" / stored.blob_id[:2] / stored.blob_id
    data = bytearray(blob.read_bytes())
    data[-1] ^= 0x01
    blob.write_bytes(bytes(data))

    target = _instance(tmp_path, "target", f"sqlite:///{tmp_path / 'target' / 'portal.db'}", ring_file, monkeypatch)
    with target.app_context():
        result = target.test_cli_runner().invoke(args=["restore", str(backup_dir)])
        assert result.exit_code == 1
        assert f"blobs/{stored.blob_id[:2]}/{stored.blob_id} does not match the manifest" in result.output
        assert not (tmp_path / "target" / "portal.db").exists()  # nothing was touched
        assert not any((tmp_path / "target").glob("blobs/*/*"))
        (backup_dir / "extra.txt").write_text("planted")
        blob.write_bytes(bytes(data[:-1]) + bytes([data[-1] ^ 0x01]))
        planted = target.test_cli_runner().invoke(args=["restore", str(backup_dir)])
        assert planted.exit_code == 1 and "files not in the manifest: extra.txt" in planted.output
        db.session.remove()
        db.engine.dispose()


def test_restore_refuses_a_backup_of_another_database_kind(tmp_path, monkeypatch, real_commits):
    backup_dir = tmp_path / "backup"
    backup_dir.mkdir()
    (backup_dir / "database.pgdump").write_bytes(b"PGDMP")
    import hashlib

    (backup_dir / "manifest.json").write_text(json.dumps({
        "format": 1, "created_at": "2026-01-01T00:00:00Z", "schema_revision": "0004", "database_kind": "postgresql",
        "database_file": "database.pgdump", "key_ids": ["k1"],
        "files": [{"path": "database.pgdump", "size": 5, "sha256": hashlib.sha256(b"PGDMP").hexdigest()}]}))
    ring_file = tmp_path / "keyring.json"
    KeyRing.generate().save(ring_file)
    target = _instance(tmp_path, "target", f"sqlite:///{tmp_path / 'target' / 'portal.db'}", ring_file, monkeypatch)
    with target.app_context():
        result = target.test_cli_runner().invoke(args=["restore", str(backup_dir)])
        assert result.exit_code == 1 and "this is a postgresql backup" in result.output
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM sqlite_master")).scalar() == 0
        db.engine.dispose()
