"""The document library: seeded folders, scoped lists, upload with versions, tags and objectives, downloads."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image, ImageChops
from sqlalchemy import select

from documents.models import Document, DocumentVersion, Folder
from portal.extensions import db
from tests.alerts.factories import audit_entries, mark_audit_start
from tests.documents.factories import (
    EXE,
    blob_files,
    file_rows,
    make_document,
    pdf_bytes,
    png_bytes,
    post_multipart,
)


def _folder(code: str) -> Folder:
    return db.session.scalar(select(Folder).where(Folder.code == code))


def _new(client, data, filename, **fields):
    form = {"folder": _folder("legislation-matrix").id, "title": "Comparative matrix, first half of 2026",
            "description": "Changes to migration legislation.", "tags": "legislation, matrix, Legislation",
            "tlp": "GREEN", "distribution": "members", "note": "first issue", **fields}
    items = [(k, v) for k, v in form.items() if not isinstance(v, list)]
    items += [(k, item) for k, v in form.items() if isinstance(v, list) for item in v]
    return post_multipart(client, "/library/documents/new", items, [("file", filename, data)])


def test_the_two_seeded_folders(client, make_user, login_as):
    assert [(f.code, f.objective) for f in db.session.scalars(select(Folder).order_by(Folder.position))][:2] == [
        ("fraud-detection-manual", "MPM-2"), ("legislation-matrix", "MPM-1")]
    login_as(make_user(role="observer", party_code="ARG"))
    page = client.get("/library/").get_data(as_text=True)
    assert "Manual on detecting fraudulent documents" in page and "Comparative matrix of migration legislation" in page


def test_upload_a_document_with_tags_objectives_and_a_first_version(client, make_user, login_as):
    login_as(make_user(role="liaison_officer", party_code="GTM"))
    mark_audit_start()
    csv = b"country,law,year\nGTM,Decreto 44-2016,2016\n"
    response = _new(client, csv, "matrix.csv", objectives=["MPM-1"])
    assert response.status_code == 302
    doc = db.session.scalar(select(Document).order_by(Document.id.desc()))
    assert response.headers["Location"] == f"/library/documents/{doc.id}"
    assert (doc.tags, doc.objectives, doc.tlp, doc.distribution_level) == (["legislation", "matrix"], ["MPM-1"],
                                                                             "GREEN", "members")
    [version] = db.session.scalars(select(DocumentVersion).where(DocumentVersion.document_id == doc.id))
    assert (version.number, version.kind, version.note, version.display_name) == (1, "csv", "first issue", "matrix.csv")
    [created] = audit_entries("document.create")
    assert [o.code for o in created.objectives] == ["MPM-1"]
    assert json.loads(audit_entries("document.upload")[0].details)["version"] == 1
    page = client.get(f"/library/documents/{doc.id}").get_data(as_text=True)
    assert "matrix.csv" in page and "MPM-1" in page and "Upload a new version" in page
    download = client.get(f"/library/documents/{doc.id}/versions/1/download")
    assert download.data == csv and download.headers["Content-Disposition"].startswith("attachment;")


@pytest.mark.parametrize(("fields", "message"), [
    ({"objectives": ["NOPE-1"]}, "is not a valid choice for this field"),
    ({"title": ""}, "This field is required."),
    ({"distribution": "parties"}, "Choose at least one recipient party"),
])
def test_invalid_fields_delete_the_stored_file(client, make_user, login_as, fields, message):
    login_as(make_user(role="liaison_officer", party_code="GTM"))
    before = blob_files()
    response = _new(client, pdf_bytes(), "matrix.pdf", **fields)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert blob_files() == before and file_rows() == 0


def test_refused_file_is_audited_and_leaves_nothing(client, make_user, login_as):
    login_as(make_user(role="liaison_officer", party_code="GTM"))
    before = blob_files()
    mark_audit_start()
    response = _new(client, EXE, "matrix.xlsx")
    assert response.status_code == 400 and "Programs and scripts cannot be uploaded" in response.get_data(as_text=True)
    assert blob_files() == before and file_rows() == 0 and db.session.scalar(select(Document.id)) is None
    assert json.loads(audit_entries("document.upload", outcome="denied")[0].details) == {
        "reason": "executable", "target": "library_document"}


def test_list_and_detail_are_scoped(client, make_user, login_as):
    owner = make_user(role="liaison_officer", party_code="GTM")
    own = make_document(owner, title="GTM only", level="party")
    shared = make_document(owner, title="For everyone", level="members", tlp="GREEN", tags=["uv"])
    login_as(make_user(role="liaison_officer", party_code="MEX"))
    page = client.get("/library/").get_data(as_text=True)
    assert "For everyone" in page and "GTM only" not in page
    assert client.get(f"/library/documents/{own.id}").status_code == 404
    assert client.get(f"/library/documents/{own.id}/versions/1/download").status_code == 404
    assert client.get(f"/library/documents/{shared.id}/versions/2/download").status_code == 404
    assert "For everyone" not in client.get("/library/?tag=laminate").get_data(as_text=True)
    assert "For everyone" in client.get("/library/?tag=UV").get_data(as_text=True)
    login_as(make_user(role="observer", party_code="GTM"))
    assert client.get(f"/library/documents/{own.id}").status_code == 404  # the observer role: members-wide only


def test_new_version_by_the_owner_party_only(client, make_user, login_as):
    owner = make_user(role="liaison_officer", party_code="GTM")
    doc = make_document(owner, level="members")
    login_as(make_user(role="liaison_officer", party_code="MEX"))
    url = f"/library/documents/{doc.id}/versions/new"
    assert client.get(url).status_code == 404
    assert post_multipart(client, url, {"note": "mine"}, [("file", "v2.pdf", pdf_bytes())]).status_code == 404
    login_as(make_user(role="country_admin", party_code="GTM"))
    response = post_multipart(client, url, {"note": "second edition"}, [("file", "v2.pdf", pdf_bytes("v2"))])
    assert response.status_code == 302
    numbers = list(db.session.scalars(select(DocumentVersion.number).where(DocumentVersion.document_id == doc.id)
                                      .order_by(DocumentVersion.number)))
    assert numbers == [1, 2]
    assert client.get(f"/library/documents/{doc.id}/versions/2/download").data == pdf_bytes("v2")


def test_observers_cannot_add_documents(client, make_user, login_as):
    login_as(make_user(role="observer", party_code="GTM"))
    assert client.get("/library/documents/new").status_code == 403


def test_red_images_are_watermarked_on_download(client, make_user, login_as):
    owner = make_user(role="liaison_officer", party_code="GTM")
    data = png_bytes(size=(500, 300))
    doc = make_document(owner, data, "specimen.png", tlp="RED", level="members")
    login_as(make_user(role="liaison_officer", party_code="MEX"))
    served = client.get(f"/library/documents/{doc.id}/versions/1/download")
    assert served.status_code == 200
    difference = ImageChops.difference(Image.open(io.BytesIO(data)).convert("RGB"),
                                       Image.open(io.BytesIO(served.data)).convert("RGB"))
    assert difference.getbbox() is not None
    assert "do not export or forward it" in client.get(f"/library/documents/{doc.id}").get_data(as_text=True)


def test_a_full_blob_store_refuses_the_upload_clearly_and_stores_nothing(app, client, make_user, login_as, monkeypatch,
                                                                        tmp_path):
    import errno

    from documents.storage import LocalBlobStore

    monkeypatch.setitem(app.extensions, "blob_store", LocalBlobStore(tmp_path / "blobs"))  # a full local disk
    login_as(make_user(role="liaison_officer", party_code="GTM"))
    before = blob_files()

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("documents.storage.os.write", full)
    response = _new(client, pdf_bytes(), "matrix.pdf")
    assert response.status_code == 503
    assert "The file store is unavailable at the moment; nothing was stored." in response.get_data(as_text=True)
    assert blob_files() == before and file_rows() == 0 and db.session.scalar(select(Document.id)) is None
