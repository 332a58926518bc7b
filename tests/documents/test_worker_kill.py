"""A process SIGKILLed in the middle of an upload or of an alert import (issue 14, section 5): no half
record, no orphan blob once ``blobs gc --min-age 0`` has run, and no plaintext on disk.

The work runs in a child process (``tests.documents.kill_child``) on the suite's database with a blob store
and a temporary folder of its own; the test kills it with SIGKILL at its kill point (nothing of the
application's clean-up runs), then looks at the committed rows, the blob store and every byte on disk.
``bench/faults.py`` does the same to a gunicorn worker serving real HTTP.
"""

from __future__ import annotations

import csv
import io
import json
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from alerts.bulk import CSV_FIELDS
from alerts.models import Alert
from auth.models import User, UserSession
from documents.gc import collect_garbage
from documents.models import Document, Folder
from documents.storage import LocalBlobStore
from portal.crypto import token_digest
from portal.extensions import db
from tests.alerts.factories import alert_data
from tests.documents.factories import multipart, pdf_bytes
from tests.documents.kill_child import KILL_POINT

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def officer(app, real_commits, make_user):
    """A committed liaison officer of GTM with a committed session; both removed afterwards."""
    with app.app_context():
        user = make_user(role="liaison_officer", party_code="GTM")
        sid = secrets.token_urlsafe(32)
        db.session.add(UserSession(sid_digest=token_digest(sid), user_id=user.id))
        db.session.commit()
        user_id = user.id
        db.session.remove()
    yield user_id, sid
    with app.app_context():
        db.session.execute(delete(UserSession).where(UserSession.user_id == user_id))
        db.session.execute(delete(User).where(User.id == user_id))
        db.session.commit()
        db.session.remove()


def run_until_killed(app, tmp_path: Path, officer, mode: str, body: bytes, content_type: str) -> LocalBlobStore:
    """Run the child to its kill point, SIGKILL it; return its blob store."""
    user_id, sid = officer
    (tmp_path / "tmp").mkdir()
    (tmp_path / "body").write_bytes(body)
    config = {key: app.config[key] for key in ("SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "KEYRING_FILE",
                                               "INSTANCE_PATH", "MAIL_SPOOL_DIR")}
    config.update(TESTING=True, WTF_CSRF_ENABLED=False, BLOB_STORE=str(tmp_path / "blobs"),
                  RATELIMIT_STORAGE_URI="memory://", ARGON2_TIME_COST=1, ARGON2_MEMORY_COST=8,
                  ARGON2_PARALLELISM=1)
    settings = {"config": config, "sid": sid, "user_id": user_id, "mode": mode, "body": str(tmp_path / "body"),
                "content_type": content_type}
    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp"), "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore",
           "PORTAL_INSTANCE_PATH": app.config["INSTANCE_PATH"], "PORTAL_SECRET_KEY": app.config["SECRET_KEY"]}
    child = subprocess.Popen([sys.executable, "-m", "tests.documents.kill_child", json.dumps(settings)], cwd=ROOT,
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        said = child.stdout.readline().strip()
        assert said == KILL_POINT, f"{said!r} {child.stderr.read()[-2000:] if said == '' else ''}"
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        child.stdout.close()
        child.stderr.close()
    return LocalBlobStore(tmp_path / "blobs")


def database_bytes(app) -> bytes:
    """The SQLite file and its WAL (PostgreSQL's files are the server's: only committed rows are checked)."""
    url = db.engine.url
    if url.get_backend_name() != "sqlite":
        return b""
    return b"".join(path.read_bytes() for path in (Path(url.database), Path(f"{url.database}-wal")) if path.exists())


def files_holding(folder: Path, marker: bytes) -> list[str]:
    return [str(path) for path in folder.rglob("*") if path.is_file() and marker in path.read_bytes()]


def assert_cleaned_up(app, store: LocalBlobStore, tmp_path: Path, marker: bytes) -> None:
    """``blobs gc --min-age 0`` removes what the killed process left; nothing of it is in clear anywhere."""
    with app.app_context():
        left = [*store.iter_ids()], store.count_stale_temporaries(0)
        assert left[0] or left[1], "the child stored nothing before its kill point: the test proves nothing"
        result = collect_garbage(store, min_age_seconds=0)
        assert sorted(result.removed) == sorted(left[0]) and result.temporaries == left[1]
        assert list(store.iter_ids()) == [] and store.count_stale_temporaries(0) == 0
        assert files_holding(tmp_path, marker) == ["{}".format(tmp_path / "body")]  # only the test's own copy
        assert files_holding(Path(app.config["INSTANCE_PATH"]), marker) == []
        assert marker not in database_bytes(app)


def _library_body(marker: str) -> tuple[bytes, str]:
    with_folder = db.session.scalar(select(Folder.id).order_by(Folder.position).limit(1))
    fields = {"folder": with_folder, "title": "Killed upload", "tlp": "GREEN", "distribution": "members"}
    return multipart(fields, [("file", "specimen.pdf", pdf_bytes(marker, padding=2 * 1024 * 1024))])


@pytest.mark.parametrize("mode", ["mid-upload", "stored"])
def test_a_killed_upload_leaves_no_row_no_orphan_and_no_plaintext(app, tmp_path, officer, mode):
    marker = f"KILLED-UPLOAD-{secrets.token_hex(6)}"
    with app.app_context():
        body, content_type = _library_body(marker)
        documents = db.session.scalar(select(func.count()).select_from(Document))
        db.session.remove()

    store = run_until_killed(app, tmp_path, officer, mode, body, content_type)

    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Document)) == documents
        if mode == "stored":
            assert len(list(store.iter_ids())) == 1  # the whole file was stored: gc has a blob to remove
    assert_cleaned_up(app, store, tmp_path, marker.encode())


def test_a_killed_import_stores_no_alert_and_leaves_no_orphan(app, tmp_path, officer):
    prefix = "K" + secrets.token_hex(2).upper()
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, restval="", extrasaction="ignore")
    writer.writeheader()
    for i in range(5):
        data = alert_data(document_number=f"{prefix}{i:04d}", description=f"Imported then killed {i}")
        writer.writerow({**{key: ";".join(value) if isinstance(value, list) else value for key, value in data.items()},
                         "distribution_level": "members"})
    body, content_type = multipart({}, [("file", "alerts.csv", out.getvalue().encode())])

    store = run_until_killed(app, tmp_path, officer, "mid-import", body, content_type)

    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Alert)
                                 .where(Alert.created_by_id == officer[0])) == 0
    assert_cleaned_up(app, store, tmp_path, prefix.encode())
