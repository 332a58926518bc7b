"""Key ring and field encryption: keys stay out of the database, ciphertexts are bound and authenticated."""

import json
import os
import stat

import pytest
from sqlalchemy import select, text

from auth.models import User
from portal.crypto import DecryptionError, blind_index, decrypt_text, encrypt_text
from portal.extensions import db
from portal.keyring import KeyRing, KeyRingError, load_keyring


def test_keyring_generated_with_private_mode(tmp_path):
    path = tmp_path / "ring.json"
    with pytest.warns(RuntimeWarning, match="development key ring"):
        ring = load_keyring(path, generate=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_keyring(path, generate=False) == ring


def test_keyring_refuses_wide_permissions(tmp_path):
    path = tmp_path / "ring.json"
    KeyRing.generate().save(path)
    os.chmod(path, 0o644)
    with pytest.raises(KeyRingError, match="0600"):
        load_keyring(path, generate=False)


def test_keyring_missing_in_production_is_an_error(tmp_path):
    with pytest.raises(KeyRingError, match="does not exist"):
        load_keyring(tmp_path / "absent.json", generate=False)


def test_keyring_malformed_file(tmp_path):
    path = tmp_path / "ring.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"{not json")
    os.close(fd)
    with pytest.raises(KeyRingError, match="not a valid"):
        load_keyring(path, generate=False)


def test_derived_keys_differ_per_purpose_and_version():
    ring = KeyRing.generate().with_new_key()
    assert ring.active_id == "k2"
    keys = {ring.derive(purpose, kid) for purpose in ("audit-hmac", "field", "totp-secret") for kid in ("k1", "k2")}
    assert len(keys) == 6
    with pytest.raises(KeyError):
        ring.derive("no-such-purpose")


def test_field_encryption_round_trip_and_binding(app_ctx):
    stored = encrypt_text("Ana Pérez", context="users.full_name")
    assert "Ana" not in stored and stored.startswith("k1:")
    assert decrypt_text(stored, context="users.full_name") == "Ana Pérez"
    with pytest.raises(DecryptionError):
        decrypt_text(stored, context="notices.title")  # moved to another column
    key_id, payload = stored.split(":", 1)
    flipped = payload[:-4] + ("AAAA" if payload[-4:] != "AAAA" else "BBBB")
    with pytest.raises(DecryptionError):
        decrypt_text(f"{key_id}:{flipped}", context="users.full_name")


def test_blind_index_is_keyed_and_scoped(app_ctx):
    assert blind_index("P1234567", scope="GTM") == blind_index("P1234567", scope="GTM")
    assert blind_index("P1234567", scope="GTM") != blind_index("P1234567", scope="MEX")


def test_personal_data_not_in_clear_in_the_database(app_ctx, make_user):
    user = make_user(email="maria.lopez@minex.gob.gt", name="María López Marker")
    row = db.session.execute(
        text("SELECT email, full_name, totp_secret FROM users WHERE id = :id"), {"id": user.id}
    ).one()
    assert "maria.lopez" not in row.email
    assert "Marker" not in row.full_name
    assert user.totp.secret not in row.totp_secret
    assert db.session.scalar(select(User).where(User.id == user.id)).full_name == "María López Marker"
    assert User.find_by_email("  Maria.Lopez@MINEX.gob.gt ").id == user.id


def test_keys_never_stored_in_the_database(app_ctx, app):
    with open(app.config["KEYRING_FILE"]) as handle:
        ring_json = json.load(handle)
    secrets_b64 = list(ring_json["keys"].values())
    tables = [t for t in db.metadata.sorted_tables]
    for table in tables:
        for row in db.session.execute(table.select()).all():
            flat = json.dumps([str(value) for value in row])
            assert not any(secret in flat for secret in secrets_b64), table.name
