"""Attaching files to alerts through the pages: stored encrypted, metadata stripped, every refusal clean."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image
from sqlalchemy import select

from alerts import attachments
from alerts.attachments import Attachment
from documents.service import decrypt_from_store
from documents.storage import current_blob_store
from portal.extensions import db
from portal.keyring import current_keyring
from portal.rotation import referenced_blob_ids
from tests.alerts.factories import audit_entries, mark_audit_start
from tests.blobs import raw_blob
from tests.documents.factories import (
    EXE,
    HTML,
    PDF_WITH_JAVASCRIPT,
    SVG,
    PrivateTempDir,
    blob_files,
    file_rows,
    gtm_alert,
    jpeg_with_gps,
    make_attachment,
    pdf_bytes,
    png_bytes,
    post_multipart,
)


def _post(client, alert_id, data: bytes | None, filename="front.png", **fields):
    form = {"side": "front", "light": "uv", "caption": "Laminate under UV", **fields}
    files = [("file", filename, data)] if data is not None else []
    return post_multipart(client, f"/alerts/{alert_id}/attachments/new", form, files)


def _plaintext(row) -> bytes:
    with decrypt_from_store(current_blob_store(), row.blob_id, row.wrapped_key, row.key_id, row.file_uid,
                            current_keyring()) as reader:
        return b"".join(reader)


@pytest.fixture
def reporter(make_user, login_as, client):
    user = make_user(role="liaison_officer", party_code="GTM")
    login_as(user)
    return user


def test_upload_stores_encrypted_file_and_thumbnail_and_audits(client, reporter, monkeypatch, tmp_path):
    alert = gtm_alert(reporter)
    temp = PrivateTempDir(monkeypatch, tmp_path)
    before = blob_files()
    mark_audit_start()
    data = png_bytes(size=(400, 300), text_chunk="taken by officer 12")
    response = _post(client, alert.id, data, "front.png", is_genuine_reference="y")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/alerts/{alert.id}/attachments"
    item = db.session.scalar(select(Attachment).where(Attachment.alert_id == alert.id))
    assert (item.side, item.light, item.is_genuine_reference, item.caption) == ("front", "uv", True, "Laminate under UV")
    assert item.kind == "png" and item.display_name == "front.png"
    assert blob_files() - before == {f"{item.blob_id[:2]}/{item.blob_id}", f"{item.thumb_blob_id[:2]}/{item.thumb_blob_id}"}
    stored = _plaintext(item)
    assert len(stored) == item.size
    assert b"taken by officer" not in stored  # metadata stripped before storage
    assert Image.open(io.BytesIO(stored)).size == (400, 300)
    raw = raw_blob(current_blob_store(), item.blob_id)
    assert stored[:64] not in raw  # ciphertext on disk
    assert temp.files() == []
    [entry] = audit_entries("document.upload", outcome="ok")
    assert entry.object_type == "attachment" and entry.object_id == str(item.id)
    assert json.loads(entry.details)["kind"] == "png" and "front.png" not in entry.details
    assert referenced_blob_ids() >= {item.blob_id, item.thumb_blob_id}


def test_gps_and_camera_exif_are_removed(client, reporter):
    alert = gtm_alert(reporter)
    assert _post(client, alert.id, jpeg_with_gps(), "booklet.jpg").status_code == 302
    item = db.session.scalar(select(Attachment).where(Attachment.alert_id == alert.id))
    image = Image.open(io.BytesIO(_plaintext(item)))
    assert dict(image.getexif()) == {}
    assert b"SpyCam" not in _plaintext(item)


def test_large_upload_is_encrypted_while_streaming_without_a_temporary_file(client, reporter, monkeypatch, tmp_path):
    """Werkzeug would spool a part over 500 KB to a temporary file: the upload route never lets it."""
    alert = gtm_alert(reporter)
    temp = PrivateTempDir(monkeypatch, tmp_path)
    data = pdf_bytes(padding=3 * 1024 * 1024)
    assert _post(client, alert.id, data, "report.pdf").status_code == 302
    item = db.session.scalar(select(Attachment).where(Attachment.alert_id == alert.id))
    assert item.size == len(data) and item.thumb_blob_id is None
    assert _plaintext(item) == data
    assert temp.files() == []


REFUSALS = [
    pytest.param(SVG, "drawing.svg", "svg", "SVG images cannot be uploaded", id="svg"),
    pytest.param(HTML, "page.html", "html", "Web pages (HTML) cannot be uploaded", id="html"),
    pytest.param(EXE, "setup.exe", "executable", "Programs and scripts cannot be uploaded", id="exe"),
    pytest.param(PDF_WITH_JAVASCRIPT, "report.pdf", "pdf_javascript", "containing scripts (JavaScript)", id="pdf-js"),
    pytest.param(png_bytes(), "report.pdf", "extension_mismatch", "but the file is a PNG file", id="name-mismatch"),
    pytest.param(b"a,b\n1,2\n", "table.csv", "not_allowed_here", "CSV files cannot be attached here", id="csv"),
    pytest.param(b"", "empty.png", "empty", "The file is empty", id="empty"),
]


@pytest.mark.parametrize(("data", "filename", "code", "message"), REFUSALS)
def test_refusals_leave_nothing_behind(client, reporter, monkeypatch, tmp_path, data, filename, code, message):
    alert = gtm_alert(reporter)
    temp = PrivateTempDir(monkeypatch, tmp_path)
    before, rows = blob_files(), file_rows()
    mark_audit_start()
    response = _post(client, alert.id, data, filename)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert 'class="invalid-feedback d-block"' in response.get_data(as_text=True)
    assert blob_files() == before and file_rows() == rows and temp.files() == []
    [entry] = audit_entries("document.upload", outcome="denied")
    assert json.loads(entry.details) == {"reason": code, "target": "attachment"}


def test_oversize_upload_is_refused_with_413_while_streaming(app, client, reporter, monkeypatch, tmp_path):
    alert = gtm_alert(reporter)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 256 * 1024)
    temp = PrivateTempDir(monkeypatch, tmp_path)
    before, rows = blob_files(), file_rows()
    mark_audit_start()
    response = _post(client, alert.id, pdf_bytes(padding=1024 * 1024), "big.pdf")
    assert response.status_code == 413
    assert "larger than the limit of 0.25 MB" in response.get_data(as_text=True)
    assert blob_files() == before and file_rows() == rows and temp.files() == []
    [entry] = audit_entries("document.upload", outcome="denied")
    assert json.loads(entry.details)["reason"] == "too_large"


def test_file_larger_than_the_upload_limit_in_a_chunked_body_is_refused(app, client, reporter, monkeypatch):
    """No Content-Length: the limit is enforced on the bytes as they are read."""
    alert = gtm_alert(reporter)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 256 * 1024)
    before = blob_files()
    boundary = "XyZ"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.pdf\"\r\n\r\n"
            ).encode() + pdf_bytes(padding=600 * 1024) + f"\r\n--{boundary}--\r\n".encode()

    # A server that de-chunks the body marks the stream as terminated (wsgi.input_terminated).
    response = client.post(f"/alerts/{alert.id}/attachments/new", input_stream=io.BytesIO(body),
                           headers={"Transfer-Encoding": "chunked",
                                    "Content-Type": f"multipart/form-data; boundary={boundary}"},
                           environ_overrides={"wsgi.input_terminated": True})
    assert response.status_code == 413
    assert blob_files() == before and file_rows() == 0


def test_invalid_field_after_the_file_deletes_the_stored_blob(client, reporter):
    alert = gtm_alert(reporter)
    before = blob_files()
    response = _post(client, alert.id, png_bytes(), side="inside")
    assert response.status_code == 400
    assert "Not a valid choice" in response.get_data(as_text=True)
    assert blob_files() == before and file_rows() == 0


def test_missing_file_is_a_form_error(client, reporter):
    alert = gtm_alert(reporter)
    response = _post(client, alert.id, None)
    assert response.status_code == 400
    assert "Choose a file to upload." in response.get_data(as_text=True)


def test_a_second_file_part_is_refused(client, reporter):
    alert = gtm_alert(reporter)
    before = blob_files()
    response = post_multipart(client, f"/alerts/{alert.id}/attachments/new", {"side": "front", "light": "visible"},
                              [("file", "a.png", png_bytes()), ("file", "b.png", png_bytes())])
    assert response.status_code == 400
    assert "Send exactly one file" in response.get_data(as_text=True)
    assert blob_files() == before and file_rows() == 0


def test_crash_after_the_blob_was_written_leaves_neither_row_nor_blob(client, reporter, monkeypatch):
    alert = gtm_alert(reporter)
    before = blob_files()

    def crash(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(attachments, "create_attachment", crash)
    assert _post(client, alert.id, png_bytes()).status_code == 500
    assert blob_files() == before and file_rows() == 0


def test_csrf_token_must_come_before_the_file(app, client, reporter, monkeypatch):
    alert = gtm_alert(reporter)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    before = blob_files()
    response = _post(client, alert.id, png_bytes())
    assert response.status_code == 400
    assert "The form could not be read" in response.get_data(as_text=True)
    assert blob_files() == before and file_rows() == 0


def test_not_multipart_is_refused(client, reporter):
    alert = gtm_alert(reporter)
    response = client.post(f"/alerts/{alert.id}/attachments/new", data="side=front",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400


@pytest.mark.parametrize(("role", "party_code", "status"), [
    ("liaison_officer", "MEX", 404),  # sees the members-wide alert, but did not report it
    ("country_admin", "ARG", 404),
    ("border_officer", "GTM", 403),  # no report_alert
    ("secretariat_admin", "TS", 403),
])
def test_only_the_reporting_party_attaches(client, make_user, login_as, role, party_code, status):
    alert = gtm_alert(make_user(role="liaison_officer", party_code="GTM"))
    login_as(make_user(role=role, party_code=party_code))
    before = blob_files()
    assert client.get(f"/alerts/{alert.id}/attachments/new").status_code == status
    assert _post(client, alert.id, png_bytes()).status_code == status
    assert blob_files() == before and file_rows() == 0


def test_country_admin_of_the_reporting_party_attaches(client, make_user, login_as):
    alert = gtm_alert(make_user(role="liaison_officer", party_code="GTM"))
    login_as(make_user(role="country_admin", party_code="GTM"))
    assert client.get(f"/alerts/{alert.id}/attachments/new").status_code == 200
    assert _post(client, alert.id, png_bytes()).status_code == 302


def test_attachments_page_shows_thumbnails(client, reporter):
    alert = gtm_alert(reporter)
    item = make_attachment(reporter, alert, filename="back-uv.png", side="back", light="uv")
    page = client.get(f"/alerts/{alert.id}/attachments").get_data(as_text=True)
    assert f"/alerts/{alert.id}/attachments/{item.id}/thumbnail" in page
    assert "back-uv.png" in page and "Ultraviolet (UV)" in page and "Attach a file" in page
    viewer = client.get(f"/alerts/{alert.id}/attachments/{item.id}").get_data(as_text=True)
    assert f"/alerts/{alert.id}/attachments/{item.id}/view" in viewer


def test_upload_form_puts_the_csrf_token_first_and_is_multipart(client, reporter):
    alert = gtm_alert(reporter)
    page = client.get(f"/alerts/{alert.id}/attachments/new").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page
    assert page.index('name="csrf_token"') < page.index('name="side"') < page.index('name="file"')
