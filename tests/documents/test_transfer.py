"""``documents.transfer``: a crash injected into any upload route, after its blob was written and its row
recorded but before the commit, leaves no blob behind - without ``blobs gc``.

The clean-up is an application-wide teardown, so every upload route of every blueprint is covered: the alert
attachment page and API, the submission attachment page and API, the library's new document and new version.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from alerts import attachments as alert_attachments
from alerts.attachments import Attachment
from documents import operations as library
from documents.models import DocumentVersion, Folder
from portal.exchange import attachments as submission_attachments
from portal.exchange.attachments import SubmissionAttachment
from portal.extensions import db
from tests.documents.factories import (
    blob_files,
    gtm_alert,
    make_document,
    pdf_bytes,
    png_bytes,
    post_multipart,
)
from tests.exchange.factories import make_submission
from tests.exchange.test_api import bearer


@dataclass(frozen=True)
class Upload:
    """One upload request: where, its fields, its file and its headers."""

    url: str
    fields: dict
    file: tuple[str, bytes]
    headers: dict | None = None


@dataclass(frozen=True)
class UploadRoute:
    """An upload route: the operation recording the row, and ``prepare(user) -> Upload`` (the record it uploads
    to is made first, so that its own files are not counted)."""

    module: object
    operation: str
    prepare: object


def _alert_page(user) -> Upload:
    alert = gtm_alert(user)
    return Upload(f"/alerts/{alert.id}/attachments/new", {"side": "front", "light": "uv"}, ("front.png", png_bytes()))


def _alert_api(user) -> Upload:
    alert = gtm_alert(user)
    return Upload(f"/api/v1/alerts/{alert.id}/attachments", {"side": "front", "light": "uv"},
                  ("front.png", png_bytes()), bearer(user, "alerts:write"))


def _submission_page(user) -> Upload:
    submission = make_submission(user, parties=["MEX"])
    return Upload(f"/exchange/{submission.id}/attachments/new", {"caption": "Front"}, ("front.png", png_bytes()))


def _submission_api(user) -> Upload:
    submission = make_submission(user, parties=["MEX"])
    return Upload(f"/api/v1/submissions/{submission.id}/attachments", {"caption": "Front"},
                  ("front.png", png_bytes()), bearer(user, "exchange:write"))


def _new_document(user) -> Upload:
    folder = db.session.scalar(select(Folder).where(Folder.code == "legislation-matrix"))
    fields = {"folder": folder.id, "title": "Comparative matrix", "description": "", "tags": "", "tlp": "GREEN",
              "distribution": "members", "note": ""}
    return Upload("/library/documents/new", fields, ("matrix.pdf", pdf_bytes()))


def _new_version(user) -> Upload:
    document = make_document(user)
    return Upload(f"/library/documents/{document.id}/versions/new", {"note": "second"},
                  ("manual.pdf", pdf_bytes("Second edition")))


ROUTES = {
    "alert attachment page": UploadRoute(alert_attachments, "create_attachment", _alert_page),
    "alert attachment API": UploadRoute(alert_attachments, "create_attachment", _alert_api),
    "submission attachment page": UploadRoute(submission_attachments, "create_attachment", _submission_page),
    "submission attachment API": UploadRoute(submission_attachments, "create_attachment", _submission_api),
    "library new document": UploadRoute(library, "create_document", _new_document),
    "library new version": UploadRoute(library, "add_version", _new_version),
}


def _file_rows() -> int:
    db.session.expire_all()
    return sum(db.session.scalar(select(func.count()).select_from(model))
               for model in (Attachment, SubmissionAttachment, DocumentVersion))


@pytest.mark.parametrize("route", ROUTES.values(), ids=ROUTES.keys())
def test_a_crash_before_the_commit_leaves_no_blob(app, client, make_user, login_as, monkeypatch, route):
    user = make_user(role="liaison_officer", party_code="GTM")
    login_as(user)
    real = getattr(route.module, route.operation)
    written = []

    def record_then_crash(*args, **kwargs):
        written.append(real(*args, **kwargs))  # the blob is stored and the row flushed, not committed
        raise RuntimeError("the database went away before the commit")

    upload = route.prepare(user)
    before, rows = blob_files(), _file_rows()
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    monkeypatch.setattr(route.module, route.operation, record_then_crash)

    response = post_multipart(client, upload.url, upload.fields, [("file", *upload.file)], headers=upload.headers)

    assert response.status_code == 500
    assert written, "the injected crash did not run: the upload never reached its operation"
    assert _file_rows() == rows
    assert blob_files() == before  # no blob, no thumbnail, no temporary file: nothing left for blobs gc


@pytest.mark.parametrize("route", ROUTES.values(), ids=ROUTES.keys())
def test_a_commit_the_database_refuses_answers_503_and_leaves_no_blob(app, client, make_user, login_as, monkeypatch,
                                                                      route):
    """The database goes away between storing the upload and its commit: 503, no row, no blob."""
    user = make_user(role="liaison_officer", party_code="GTM")
    login_as(user)
    upload = route.prepare(user)
    before, rows = blob_files(), _file_rows()

    def cut(*args, **kwargs):
        raise OperationalError("COMMIT", {}, ConnectionError("server closed the connection unexpectedly"))

    monkeypatch.setattr(db.session, "commit", cut)
    response = post_multipart(client, upload.url, upload.fields, [("file", *upload.file)], headers=upload.headers)
    monkeypatch.undo()

    assert response.status_code == 503 and response.headers["Retry-After"]
    assert _file_rows() == rows
    assert blob_files() == before
