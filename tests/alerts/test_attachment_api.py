"""The attachments API: multipart upload encrypted as it streams, refusals as one JSON message, scoped reads."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from alerts.attachments import Attachment
from auth.tokens import create_token
from portal.extensions import db
from tests.alerts.factories import audit_entries, mark_audit_start
from tests.documents.factories import (
    SVG,
    PrivateTempDir,
    blob_files,
    file_rows,
    gtm_alert,
    make_attachment,
    pdf_bytes,
    png_bytes,
    post_multipart,
)


def _token(user, *scopes) -> dict:
    _row, secret = create_token(user, name="border system", scopes=list(scopes))
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def _upload(client, alert_id, headers, data=None, filename="front.png", **fields):
    form = {"side": "front", "light": "ir", **fields}
    return post_multipart(client, f"/api/v1/alerts/{alert_id}/attachments", form,
                          [("file", filename, data if data is not None else png_bytes())], headers=headers)


def test_upload_answers_201_with_the_stored_file(client, make_user, monkeypatch, tmp_path):
    user = make_user(role="liaison_officer", party_code="GTM")
    alert = gtm_alert(user)
    temp = PrivateTempDir(monkeypatch, tmp_path)
    data = pdf_bytes(padding=800 * 1024)
    response = _upload(client, alert.id, _token(user, "alerts:write"), data, "report.pdf", is_genuine_reference="true")
    assert response.status_code == 201
    body = response.get_json()
    item = db.session.get(Attachment, body["id"])
    assert body == {"id": item.id, "alert_id": alert.id, "display_name": "report.pdf", "size": len(data),
                    "kind": "pdf", "side": "front", "light": "ir",
                    "is_genuine_reference": True}
    assert response.headers["Location"] == f"/api/v1/attachments/{item.id}"
    assert temp.files() == []


@pytest.mark.parametrize(("data", "filename", "status", "code"), [
    (SVG, "logo.svg", 422, "svg"),
    (png_bytes(), "scan.tiff", 422, "extension_mismatch"),
    (pdf_bytes(padding=400 * 1024), "big.pdf", 413, "too_large"),
])
def test_refusals_are_one_message_and_leave_nothing(app, client, make_user, monkeypatch, data, filename, status, code):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 256 * 1024)
    user = make_user(role="liaison_officer", party_code="GTM")
    alert = gtm_alert(user)
    before = blob_files()
    mark_audit_start()
    response = _upload(client, alert.id, _token(user, "alerts:write"), data, filename)
    assert response.status_code == status
    body = response.get_json()
    assert body["code"] == code and body["status"] == status
    message = body["fields"]["file"] if status == 422 else body["error"]
    assert isinstance(message, str) and message
    assert blob_files() == before and file_rows() == 0
    assert [json.loads(e.details)["reason"] for e in audit_entries("document.upload", outcome="denied")] == [code]


def test_bad_fields_are_422_and_the_blob_is_deleted(client, make_user):
    user = make_user(role="liaison_officer", party_code="GTM")
    alert = gtm_alert(user)
    before = blob_files()
    response = _upload(client, alert.id, _token(user, "alerts:write"), side="top", is_genuine_reference="maybe")
    assert response.status_code == 422
    assert set(response.get_json()["fields"]) == {"side", "is_genuine_reference"}
    assert blob_files() == before and file_rows() == 0


def test_json_body_is_400(client, make_user):
    user = make_user(role="liaison_officer", party_code="GTM")
    alert = gtm_alert(user)
    response = client.post(f"/api/v1/alerts/{alert.id}/attachments", json={"file": "x"},
                           headers=_token(user, "alerts:write"))
    assert response.status_code == 400 and file_rows() == 0


def test_scope_party_and_visibility(client, make_user):
    owner = make_user(role="liaison_officer", party_code="GTM")
    alert = gtm_alert(owner)
    hidden = gtm_alert(owner, distribution={"level": "party"})
    mexican = make_user(role="liaison_officer", party_code="MEX")
    assert _upload(client, alert.id, _token(owner, "alerts:read")).status_code == 403
    assert _upload(client, alert.id, _token(mexican, "alerts:write")).status_code == 404  # not MEX's alert
    assert _upload(client, hidden.id, _token(mexican, "alerts:write")).status_code == 404
    assert _upload(client, 10**6, _token(owner, "alerts:write")).status_code == 404
    assert file_rows() == 0


def test_read_returns_the_bytes_within_the_alert_scope(client, make_user):
    owner = make_user(role="liaison_officer", party_code="GTM")
    shared = make_attachment(owner, gtm_alert(owner), pdf_bytes("shared"), "shared.pdf")
    private = make_attachment(owner, gtm_alert(owner, distribution={"level": "party"}), pdf_bytes("own"), "own.pdf")
    mexican = _token(make_user(role="border_officer", party_code="MEX"), "alerts:read")
    mark_audit_start()
    response = client.get(f"/api/v1/attachments/{shared.id}", headers=mexican)
    assert response.status_code == 200 and response.data == pdf_bytes("shared")
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert response.headers["Cache-Control"] == "no-store"
    assert client.get(f"/api/v1/attachments/{private.id}", headers=mexican).status_code == 404
    assert client.get(f"/api/v1/attachments/{shared.id}", headers=_token(make_user(), "alerts:write")).status_code == 403
    assert client.get(f"/api/v1/attachments/{shared.id}").status_code == 401
    assert len(audit_entries("attachment.view", outcome="ok")) == 1


def test_both_routes_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert paths["/api/v1/alerts/{alert_id}/attachments"]["post"]["x-required-scope"] == "alerts:write"
    assert paths["/api/v1/attachments/{attachment_id}"]["get"]["x-required-scope"] == "alerts:read"


def test_uploaded_row_is_what_the_api_said(client, make_user):
    user = make_user(role="liaison_officer", party_code="GTM")
    alert = gtm_alert(user)
    body = _upload(client, alert.id, _token(user, "alerts:write")).get_json()
    assert db.session.scalar(select(Attachment.alert_id).where(Attachment.id == body["id"])) == alert.id
