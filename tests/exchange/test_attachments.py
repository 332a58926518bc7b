"""Files on submissions: seen by exactly the submission's audience, attached only by the sending party while
a draft or sent, streamed and encrypted as they arrive, and every refusal leaves neither blob nor row."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from documents.service import decrypt_from_store
from documents.storage import current_blob_store
from portal.exchange import operations
from portal.exchange.attachments import SubmissionAttachment
from portal.exchange.models import Submission
from portal.extensions import db
from portal.keyring import current_keyring
from portal.principal import Principal
from portal.rotation import referenced_blob_ids
from tests.alerts.factories import audit_entries, mark_audit_start
from tests.documents.factories import (
    EXE,
    SVG,
    PrivateTempDir,
    blob_files,
    pdf_bytes,
    png_bytes,
    post_multipart,
)
from tests.exchange.factories import make_submission, make_submission_attachment
from tests.exchange.test_api import bearer
from tests.notices.factories import make_network

# viewer name -> (role, party)
VIEWERS = {
    "sender": ("liaison_officer", "GTM"),
    "sender_admin": ("country_admin", "GTM"),
    "recipient": ("liaison_officer", "MEX"),
    "network_member": ("liaison_officer", "CRI"),
    "non_recipient": ("liaison_officer", "PAN"),
    "secretariat": ("secretariat_admin", "TS"),
    "observer_country": ("country_admin", "ARG"),
    "recipient_observer_role": ("observer", "MEX"),
    "recipient_border_officer": ("border_officer", "MEX"),
}
SEES = {"sender", "sender_admin", "recipient", "network_member"}
NO_PERMISSION = {"recipient_observer_role", "recipient_border_officer"}


def _rows() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(SubmissionAttachment))


@pytest.fixture
def author(make_user):
    return make_user(role="liaison_officer", party_code="GTM", name="Ana Sender")


@pytest.fixture
def sent(author):
    """GTM sends (AMBER) to MEX and to a network holding CRI."""
    network = make_network("XNET", ["CRI"])
    return make_submission(author, parties=["MEX"], networks=[network.code], tlp="AMBER")


def _expected(viewer: str) -> int:
    if viewer in NO_PERMISSION:
        return 403
    return 200 if viewer in SEES else 404


@pytest.mark.parametrize("viewer", sorted(VIEWERS))
def test_read_routes_matrix(viewer, sent, author, make_user, login_as, client):
    item = make_submission_attachment(author, sent, pdf_bytes("Route map"), "routes.pdf")
    role, code = VIEWERS[viewer]
    user = make_user(role=role, party_code=code)
    login_as(user)
    mark_audit_start()
    base = f"/exchange/{sent.id}/attachments/{item.id}"
    statuses = {variant: client.get(f"{base}/{variant}").status_code for variant in ("view", "download")}
    api = client.get(f"/api/v1/submissions/{sent.id}/attachments/{item.id}", headers=bearer(user, "exchange:read"))
    expected = _expected(viewer)
    assert statuses == {"view": expected, "download": expected}
    assert api.status_code == expected
    if expected == 200:
        assert api.data == pdf_bytes("Route map")
        views = audit_entries("exchange.attachment_view", actor_user_id=user.id)
        assert [json.loads(row.details)["variant"] for row in views] == ["view", "download", "download"]
        assert {row.object_id for row in views} == {str(item.id)}
    if expected == 404:
        denied = audit_entries("submission_attachments.access", actor_user_id=user.id, outcome="denied")
        assert [row.object_id for row in denied] == [str(item.id)] * 3
        assert audit_entries("exchange.attachment_view", actor_user_id=user.id) == []


@pytest.mark.parametrize("viewer", sorted(VIEWERS))
def test_detail_page_lists_the_files_to_the_audience_only(viewer, sent, author, make_user, login_as, client):
    item = make_submission_attachment(author, sent, filename="visa-front.png")
    role, code = VIEWERS[viewer]
    login_as(make_user(role=role, party_code=code))
    response = client.get(f"/exchange/{sent.id}")
    assert response.status_code == _expected(viewer)
    if viewer in SEES:
        page = response.data.decode()
        assert "visa-front.png" in page
        assert f"/exchange/{sent.id}/attachments/{item.id}/thumbnail" in page
        # only the sending party is offered the upload button
        assert ('id="attach-submission-file"' in page) is (viewer in ("sender", "sender_admin"))


def test_download_headers_and_watermark(sent, author, make_user, login_as, client):
    original = png_bytes(size=(120, 90))
    item = make_submission_attachment(author, sent, original, "specimen.png")
    mex = make_user(role="liaison_officer", party_code="MEX", name="Marta Recipient")
    login_as(mex)
    mark_audit_start()
    response = client.get(f"/exchange/{sent.id}/attachments/{item.id}/download")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith('attachment; filename="specimen.png"')
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.mimetype == "image/png"
    # AMBER: the image goes out watermarked for the viewer, the stored file is unchanged
    assert response.data != original and response.data[:8] == b"\x89PNG\r\n\x1a\n"
    view = client.get(f"/exchange/{sent.id}/attachments/{item.id}/view")
    assert view.headers["Content-Disposition"].startswith("inline;")
    details = [json.loads(row.details) for row in audit_entries("exchange.attachment_view", actor_user_id=mex.id)]
    assert [(d["variant"], d["watermarked"]) for d in details] == [("download", True), ("view", True)]
    with decrypt_from_store(current_blob_store(), item.blob_id, item.wrapped_key, item.key_id, item.file_uid,
                            current_keyring()) as stored:
        assert b"".join(stored) == original


def test_green_images_are_not_watermarked(author, make_user, login_as, client):
    submission = make_submission(author, parties=["MEX"], tlp="GREEN")
    original = png_bytes()
    item = make_submission_attachment(author, submission, original)
    login_as(make_user(role="liaison_officer", party_code="MEX"))
    response = client.get(f"/exchange/{submission.id}/attachments/{item.id}/download")
    assert response.status_code == 200 and response.data == original


def test_an_attachment_is_not_reachable_through_another_submission(sent, author, make_user, login_as, client):
    """The URL's submission must be the file's: a file of a submission PAN cannot see stays hidden even
    behind a submission PAN can see."""
    item = make_submission_attachment(author, sent)
    to_pan = make_submission(author, parties=["PAN"], tlp="GREEN")
    pan = make_user(role="liaison_officer", party_code="PAN")
    login_as(pan)
    assert client.get(f"/exchange/{to_pan.id}/attachments/{item.id}/download").status_code == 404
    api = client.get(f"/api/v1/submissions/{to_pan.id}/attachments/{item.id}", headers=bearer(pan, "exchange:read"))
    assert api.status_code == 404


def test_draft_files_are_seen_by_recipients_only_once_sent(author, make_user, login_as, client):
    draft = make_submission(author, send=False, parties=["MEX"])
    item = make_submission_attachment(author, draft)
    mex = make_user(role="liaison_officer", party_code="MEX")
    login_as(mex)
    assert client.get(f"/exchange/{draft.id}/attachments/{item.id}/download").status_code == 404
    operations.send_submission(Principal.for_user(author), draft)
    db.session.commit()
    assert client.get(f"/exchange/{draft.id}/attachments/{item.id}/download").status_code == 200


# --------------------------------------------------------------------------- uploads (pages)


def _upload(client, submission_id, data=None, filename="front.png", fields=None):
    return post_multipart(client, f"/exchange/{submission_id}/attachments/new",
                          fields if fields is not None else {"caption": "Forged visa, front"},
                          [("file", filename, data if data is not None else png_bytes())])


@pytest.mark.parametrize("status", ["draft", "sent"])
def test_the_sending_party_attaches_while_draft_or_sent(status, author, make_user, login_as, client, monkeypatch,
                                                         tmp_path):
    submission = make_submission(author, send=status == "sent", parties=["MEX"])
    colleague = make_user(role="country_admin", party_code="GTM")
    login_as(colleague)
    temp = PrivateTempDir(monkeypatch, tmp_path)
    mark_audit_start()
    data = pdf_bytes("Intelligence report", padding=700 * 1024)  # above Werkzeug's in-memory threshold
    assert client.get(f"/exchange/{submission.id}/attachments/new").status_code == 200
    response = _upload(client, submission.id, data, "report.pdf")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/exchange/{submission.id}#submission-attachments")
    item = db.session.scalar(select(SubmissionAttachment).where(SubmissionAttachment.submission_id == submission.id))
    assert (item.display_name, item.caption, item.kind, item.size) == (
        "report.pdf", "Forged visa, front", "pdf", len(data))
    assert item.created_by_id == colleague.id
    assert temp.files() == []  # never spooled to a temporary file in clear
    with current_blob_store().open(item.blob_id) as blob:
        stored = blob.read()
    assert b"Intelligence report" not in stored
    [entry] = audit_entries("exchange.attach", outcome="ok")
    assert entry.object_id == str(submission.id) and json.loads(entry.details)["attachment_id"] == item.id


@pytest.mark.parametrize("viewer", ["recipient", "non_recipient", "secretariat", "observer_country"])
def test_only_the_sending_party_attaches(viewer, sent, make_user, login_as, client):
    role, code = VIEWERS[viewer]
    user = make_user(role=role, party_code=code)
    login_as(user)
    before = blob_files()
    mark_audit_start()
    assert client.get(f"/exchange/{sent.id}/attachments/new").status_code == 404
    assert _upload(client, sent.id).status_code == 404
    assert _rows() == 0 and blob_files() == before
    if viewer == "recipient":  # it sees the submission: refused as not its own
        denied = audit_entries("exchange.attach", outcome="denied", actor_user_id=user.id)
        assert [json.loads(row.details)["reason"] for row in denied] == ["not_owner", "not_owner"]
    else:  # it does not even see the submission
        assert len(audit_entries("submissions.access", outcome="denied", actor_user_id=user.id)) == 2


def test_no_permission_is_403(sent, make_user, login_as, client):
    login_as(make_user(role="border_officer", party_code="GTM"))
    assert client.get(f"/exchange/{sent.id}/attachments/new").status_code == 403
    assert _upload(client, sent.id).status_code == 403
    assert _rows() == 0


def test_no_file_once_acknowledged(sent, author, make_user, login_as, client):
    mex = make_user(role="liaison_officer", party_code="MEX")
    cri = make_user(role="liaison_officer", party_code="CRI")
    for user in (mex, cri):
        operations.acknowledge(Principal.for_user(user), sent)
    db.session.commit()
    assert sent.status == "acknowledged"
    login_as(author)
    before = blob_files()
    mark_audit_start()
    assert _upload(client, sent.id).status_code == 404
    assert _rows() == 0 and blob_files() == before
    denied = audit_entries("exchange.attach", outcome="denied")
    assert [json.loads(row.details)["reason"] for row in denied] == ["status"]
    assert 'id="attach-submission-file"' not in client.get(f"/exchange/{sent.id}").data.decode()


@pytest.mark.parametrize(("data", "filename", "status", "code"), [
    (SVG, "logo.svg", 400, "svg"),
    (EXE, "tool.pdf", 400, None),
    (png_bytes(), "scan.pdf", 400, "extension_mismatch"),
    (pdf_bytes(padding=400 * 1024), "big.pdf", 413, "too_large"),
])
def test_refused_uploads_leave_nothing(data, filename, status, code, app, sent, author, login_as, client, monkeypatch,
                                       tmp_path):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 256 * 1024)
    login_as(author)
    temp = PrivateTempDir(monkeypatch, tmp_path)
    before = blob_files()
    mark_audit_start()
    response = _upload(client, sent.id, data, filename)
    assert response.status_code == status
    assert 'class="invalid-feedback d-block"' in response.data.decode()
    assert _rows() == 0 and blob_files() == before and temp.files() == []
    refusals = [json.loads(row.details) for row in audit_entries("document.upload", outcome="denied")]
    assert [r["target"] for r in refusals] == ["submission_attachment"]
    if code:
        assert refusals[0]["reason"] == code


def test_missing_file_and_long_caption_leave_nothing(sent, author, login_as, client):
    login_as(author)
    before = blob_files()
    response = post_multipart(client, f"/exchange/{sent.id}/attachments/new", {"caption": "no file"})
    assert response.status_code == 400 and "Choose a file to upload." in response.data.decode()
    response = _upload(client, sent.id, fields={"caption": "x" * 501})
    assert response.status_code == 400
    assert _rows() == 0 and blob_files() == before


def test_a_file_before_the_csrf_token_is_refused_unread(app, sent, author, login_as, client, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    login_as(author)
    before = blob_files()
    response = _upload(client, sent.id, fields={"caption": "no token"})
    assert response.status_code == 400
    assert _rows() == 0 and blob_files() == before


def test_a_failed_commit_discards_the_blob(app, sent, author, login_as, client, monkeypatch):
    """A crash after the blob was stored but before the row is committed leaves no blob behind."""
    from portal.exchange import attachments

    login_as(author)
    before = blob_files()

    def crash(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(attachments, "create_attachment", crash)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    assert _upload(client, sent.id).status_code == 500
    assert _rows() == 0 and blob_files() == before


# --------------------------------------------------------------------------- removing from a draft


def test_the_sender_removes_a_file_from_its_draft_only(author, make_user, login_as, client):
    draft = make_submission(author, send=False, parties=["MEX"])
    item = make_submission_attachment(author, draft)
    blob_id = item.blob_id
    login_as(author)
    mark_audit_start()
    response = client.post(f"/exchange/{draft.id}/attachments/{item.id}/delete")
    assert response.status_code == 302
    assert _rows() == 0
    assert [row.object_id for row in audit_entries("exchange.detach")] == [str(draft.id)]
    # the blob no row references any more is left to ``blobs gc``
    assert blob_id not in referenced_blob_ids()

    sent = make_submission(author, parties=["MEX"])
    kept = make_submission_attachment(author, sent)
    response = client.post(f"/exchange/{sent.id}/attachments/{kept.id}/delete", follow_redirects=True)
    assert "Files can be removed only while the submission is a draft." in response.data.decode()
    assert _rows() == 1
    login_as(make_user(role="liaison_officer", party_code="MEX"))
    assert client.post(f"/exchange/{sent.id}/attachments/{kept.id}/delete").status_code == 404
    assert _rows() == 1


def test_blobs_are_referenced_for_gc_and_rotation(sent, author):
    item = make_submission_attachment(author, sent)
    assert {item.blob_id, item.thumb_blob_id} <= referenced_blob_ids()


# --------------------------------------------------------------------------- API


def _api_upload(client, submission_id, headers, data=None, filename="front.png", fields=None):
    return post_multipart(client, f"/api/v1/submissions/{submission_id}/attachments",
                          fields if fields is not None else {"caption": "Front"},
                          [("file", filename, data if data is not None else png_bytes())], headers=headers)


def test_api_upload_201_and_read_back(sent, author, make_user, client):
    data = pdf_bytes("Route map")
    response = _api_upload(client, sent.id, bearer(author, "exchange:write"), data, "routes.pdf")
    assert response.status_code == 201
    body = response.get_json()
    item = db.session.get(SubmissionAttachment, body["id"])
    assert body == {"id": item.id, "submission_id": sent.id, "display_name": "routes.pdf", "size": len(data),
                    "kind": "pdf", "caption": "Front"}
    assert response.headers["Location"] == f"/api/v1/submissions/{sent.id}/attachments/{item.id}"
    mex = make_user(role="liaison_officer", party_code="MEX")
    read = client.get(response.headers["Location"], headers=bearer(mex, "exchange:read"))
    assert read.status_code == 200 and read.data == data
    assert read.headers["Cache-Control"] == "no-store" and read.headers["X-Content-Type-Options"] == "nosniff"
    assert read.headers["Content-Disposition"].startswith('attachment; filename="routes.pdf"')


def test_api_submission_lists_its_files_to_its_audience_only(sent, author, make_user, client):
    item = make_submission_attachment(author, sent)
    mex = make_user(role="liaison_officer", party_code="MEX")
    body = client.get(f"/api/v1/submissions/{sent.id}", headers=bearer(mex, "exchange:read")).get_json()
    assert [(entry["id"], entry["href"]) for entry in body["attachments"]] == [
        (item.id, f"/api/v1/submissions/{sent.id}/attachments/{item.id}")]
    assert client.get(body["attachments"][0]["href"], headers=bearer(mex, "exchange:read")).status_code == 200
    pan = make_user(role="liaison_officer", party_code="PAN")
    assert client.get(f"/api/v1/submissions/{sent.id}", headers=bearer(pan, "exchange:read")).status_code == 404


def test_api_scopes(sent, author, client):
    item = make_submission_attachment(author, sent)
    # a read token cannot write, a write token cannot read
    assert _api_upload(client, sent.id, bearer(author, "exchange:read")).status_code == 403
    url = f"/api/v1/submissions/{sent.id}/attachments/{item.id}"
    assert client.get(url, headers=bearer(author, "exchange:write")).status_code == 403
    assert client.get(url).status_code == 401
    assert _rows() == 1


def test_api_upload_refusals(app, sent, author, make_user, client, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 256 * 1024)
    headers = bearer(author, "exchange:write")
    before = blob_files()
    svg = _api_upload(client, sent.id, headers, SVG, "logo.svg")
    assert svg.status_code == 422 and svg.get_json()["code"] == "svg" and svg.get_json()["fields"]["file"]
    big = _api_upload(client, sent.id, headers, pdf_bytes(padding=400 * 1024), "big.pdf")
    assert big.status_code == 413 and big.get_json()["code"] == "too_large"
    unknown = _api_upload(client, sent.id, headers, fields={"side": "front"})
    assert unknown.status_code == 422 and set(unknown.get_json()["fields"]) == {"side"}
    no_file = post_multipart(client, f"/api/v1/submissions/{sent.id}/attachments", {"caption": "x"}, headers=headers)
    assert no_file.status_code == 422 and set(no_file.get_json()["fields"]) == {"file"}
    not_multipart = client.post(f"/api/v1/submissions/{sent.id}/attachments", json={}, headers=headers)
    assert not_multipart.status_code == 400
    assert _rows() == 0 and blob_files() == before
    # a recipient (it sees the submission) and a stranger both get 404; nothing stored
    for code in ("MEX", "PAN"):
        user = make_user(role="liaison_officer", party_code=code)
        assert _api_upload(client, sent.id, bearer(user, "exchange:write")).status_code == 404
    # the token owner's role must hold exchange_intelligence, whatever the scope
    border = make_user(role="border_officer", party_code="GTM")
    assert _api_upload(client, sent.id, bearer(border, "exchange:write")).status_code == 403
    assert _rows() == 0 and blob_files() == before


def test_api_upload_after_acknowledgement_is_409(sent, author, make_user, client):
    for code in ("MEX", "CRI"):
        user = make_user(role="liaison_officer", party_code=code)
        operations.acknowledge(Principal.for_user(user), sent)
    db.session.commit()
    before = blob_files()
    response = _api_upload(client, sent.id, bearer(author, "exchange:write"))
    assert response.status_code == 409 and response.get_json()["error"] == "status"
    assert _rows() == 0 and blob_files() == before
    db.session.expire_all()
    assert db.session.get(Submission, sent.id).status == "acknowledged"
