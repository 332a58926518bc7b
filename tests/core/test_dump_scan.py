"""A raw copy of the database holds no name, e-mail or TOTP secret in clear.

The data is committed for real (no per-test rollback) so that the bytes on disk, or what pg_dump sees,
are what an attacker with a stolen disk or backup would get; the rows are removed afterwards.
"""

import shutil
import subprocess
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import delete

from auth.models import User, email_index
from auth.passwords import hash_password
from portal.extensions import db
from portal.parties.models import Party
from portal.timeutil import utcnow

MARKER_NAME = "Zacarias Quetzaltenango Marker"
MARKER_EMAIL = "zacarias.marker@minex.gob.gt"


@pytest.fixture
def committed_user(app, real_commits):
    with app.app_context():
        secret = pyotp.random_base32()
        party_id = db.session.query(Party.id).filter_by(code="GTM").scalar()
        user = User(email=MARKER_EMAIL, email_index=email_index(MARKER_EMAIL), full_name=MARKER_NAME,
                    party_id=party_id, role="liaison_officer", password_hash=hash_password("x" * 20),
                    totp_secret=secret, totp_enrolled_at=utcnow())
        db.session.add(user)
        db.session.commit()
        user_id = user.id
        db.session.remove()
    yield secret
    with app.app_context():
        db.session.execute(delete(User).where(User.id == user_id))
        db.session.commit()
        db.session.remove()


def database_bytes(app) -> bytes:
    """What a stolen disk or backup holds: the SQLite file and its WAL, or a data-only pg_dump."""
    with app.app_context():
        url = db.engine.url
        if url.get_backend_name() == "sqlite":
            db.engine.dispose()  # let the WAL be read as it is on disk, without our open handles
            path = Path(url.database)
            return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
        pg_dump = shutil.which("pg_dump")
        assert pg_dump, "pg_dump is needed for the PostgreSQL dump scan"
        return subprocess.run(
            [pg_dump, "--data-only", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
             "-U", url.username or "postgres", url.database],
            check=True, capture_output=True,
        ).stdout


def test_raw_database_contains_no_personal_data_in_clear(app, committed_user):
    raw = database_bytes(app)
    assert b"Guatemala" in raw, "control: clear reference data must be visible to the scan"
    for needle in (MARKER_NAME, MARKER_EMAIL, "zacarias", committed_user):
        assert needle.encode() not in raw, f"{needle!r} found in clear"
        assert needle.lower().encode() not in raw.lower()
