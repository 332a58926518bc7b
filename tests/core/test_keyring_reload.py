"""Key rotation while serving: a running application follows its ring file, with no restart.

The main test is the real thing: an instance of its own (an SQLite file, real commits) serves requests
through a test client while ``flask keys rotate`` runs in ANOTHER process on the same database and ring
file; the next request reads values that process re-encrypted under a key this one never had in memory.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from flask_migrate import upgrade

from auth.models import User, email_index
from auth.passwords import hash_password
from portal import create_app, keyring
from portal.extensions import db
from portal.keyring import KeyRing, current_keyring, install_keyring, load_keyring
from portal.parties.models import Party
from portal.parties.seed import load_reference_parties
from tests.conftest import STRONG_PASSWORD, IsolatedClient

REPO = Path(__file__).resolve().parents[2]


def _environment(folder: Path) -> dict[str, str]:
    return {"PORTAL_INSTANCE_PATH": str(folder), "PORTAL_SECRET_KEY": "test-secret-key",
            "PORTAL_DATABASE_URL": f"sqlite:///{folder / 'portal.db'}",
            "PORTAL_KEYRING_FILE": str(folder / "keyring.json"), "PORTAL_BLOB_STORE": str(folder / "blobs")}


def _serving_instance(folder: Path, monkeypatch):
    folder.mkdir(mode=0o700)
    KeyRing.generate().save(folder / "keyring.json")
    for name, value in _environment(folder).items():
        monkeypatch.setenv(name, value)
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False, "RATELIMIT_STORAGE_URI": "memory://",
                      "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 8, "ARGON2_PARALLELISM": 1})
    return app


def _signed_in_user(app, client) -> User:
    import secrets

    from auth.models import UserSession
    from portal.crypto import token_digest

    upgrade(directory=str(app.extensions["migrate"].directory), revision="heads")
    load_reference_parties()
    party = db.session.query(Party).filter_by(code="GTM").one()
    user = User(email="ana.rivera@gtm.example.org", email_index=email_index("ana.rivera@gtm.example.org"),
                full_name="Ana Rivera Quintero", role="liaison_officer", party_id=party.id, active=True,
                password_hash=hash_password(STRONG_PASSWORD))
    db.session.add(user)
    db.session.flush()
    sid = secrets.token_urlsafe(32)
    db.session.add(UserSession(sid_digest=token_digest(sid), user_id=user.id))
    db.session.commit()
    with client.session_transaction() as session:
        session.update({"sid": sid, "_user_id": str(user.id), "_fresh": True})
    return user


def test_keys_rotate_in_another_process_is_served_without_a_restart(tmp_path, monkeypatch, real_commits):
    folder = tmp_path / "host"
    app = _serving_instance(folder, monkeypatch)
    app.test_client_class = IsolatedClient  # a fresh g per request, as in production
    with app.app_context():
        client = app.test_client()
        user_id = _signed_in_user(app, client).id
        first = client.get("/auth/account")
        assert first.status_code == 200 and b"Ana Rivera Quintero" in first.data
        assert current_keyring().active_id == "k1"

        rotated = subprocess.run([sys.executable, "-m", "flask", "--app", "portal", "keys", "rotate"],
                                 cwd=REPO, env={**os.environ, **_environment(folder), "PYTHONPATH": str(REPO)},
                                 capture_output=True, text=True, timeout=120, check=False)
        assert rotated.returncode == 0, rotated.stderr
        db.session.remove()  # the next request reads what the other process committed
        stored = db.session.execute(db.text("SELECT full_name FROM users WHERE id = :id"), {"id": user_id}).scalar()
        assert stored.startswith("k2:")  # re-encrypted under a key this process never had

        again = client.get("/auth/account")
        assert again.status_code == 200 and b"Ana Rivera Quintero" in again.data
        assert current_keyring().active_id == "k2"
        db.session.remove()
        db.engine.dispose()


def test_the_ring_file_is_looked_at_at_most_once_a_second_and_reread_when_it_changes(app, tmp_path, monkeypatch):
    path = tmp_path / "keyring.json"
    ring = load_keyring(_saved(KeyRing.generate(), path), generate=False)
    monkeypatch.setitem(app.extensions, "keyring", app.extensions["keyring"])
    monkeypatch.setitem(app.extensions, "keyring.watch", app.extensions["keyring.watch"])
    install_keyring(app, ring)
    looks = []
    stamp = keyring._file_stamp
    monkeypatch.setattr(keyring, "_file_stamp", lambda p: looks.append(p) or stamp(p))

    newer = ring.with_new_key()
    newer.save(path)
    assert all(current_keyring() is ring for _ in range(200))  # within the second: no stat, no reload
    assert looks == []

    app.extensions["keyring.watch"].checked = time.monotonic() - keyring.RELOAD_CHECK_SECONDS
    assert current_keyring().active_id == newer.active_id and len(looks) == 1
    assert current_keyring() is current_keyring()  # and it is not read again


def test_a_broken_ring_file_keeps_the_ring_in_memory(app, tmp_path, monkeypatch):
    path = tmp_path / "keyring.json"
    ring = load_keyring(_saved(KeyRing.generate(), path), generate=False)
    monkeypatch.setitem(app.extensions, "keyring", app.extensions["keyring"])
    monkeypatch.setitem(app.extensions, "keyring.watch", app.extensions["keyring.watch"])
    install_keyring(app, ring)
    path.write_text("{ half written")
    assert keyring.refresh_keyring(app, force=True) is ring
    other_id = ring.with_new_key().active_id
    with pytest.raises(keyring.KeyRingError, match=other_id):
        ring.derive("field", other_id)  # not in memory, not in the (unreadable) file


def _saved(ring: KeyRing, path: Path) -> Path:
    ring.save(path)
    return path
