"""Downloads and views of attachments: the alert's scope for every role and party, headers, watermarks,
audit, and no trace of an uploaded file's content anywhere in the instance folder or the database."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image, ImageChops
from sqlalchemy import select, text

from portal.extensions import db
from tests.alerts.factories import audit_entries, mark_audit_start
from tests.documents.factories import gtm_alert, make_attachment, pdf_bytes, png_bytes, post_multipart

ROUTES = ("attachment", "view", "thumbnail", "download")


def _urls(alert_id: int, attachment_id: int) -> dict[str, str]:
    base = f"/alerts/{alert_id}/attachments/{attachment_id}"
    return {"attachment": base, "view": f"{base}/view", "thumbnail": f"{base}/thumbnail", "download": f"{base}/download",
            "list": f"/alerts/{alert_id}/attachments"}


# (alert distribution, TLP, status) x viewer -> expected status of every read route
SCOPES = {
    "members-green": ({"level": "members"}, "GREEN", "published"),
    "members-amber": ({"level": "members"}, "AMBER", "published"),
    "party-only": ({"level": "party"}, "GREEN", "published"),
    "members-draft": ({"level": "members"}, "GREEN", "draft"),
}
VIEWERS = [
    ("liaison_officer", "GTM"), ("border_officer", "GTM"), ("observer", "GTM"), ("liaison_officer", "MEX"),
    ("border_officer", "MEX"), ("secretariat_admin", "TS"), ("country_admin", "ARG"), ("observer", "ARG"),
]
SEES = {
    "members-green": {v for v in VIEWERS},
    # observers (the role, and observer countries) only ever see CLEAR and GREEN
    "members-amber": {("liaison_officer", "GTM"), ("border_officer", "GTM"), ("liaison_officer", "MEX"),
                      ("border_officer", "MEX"), ("secretariat_admin", "TS")},
    "party-only": {("liaison_officer", "GTM"), ("border_officer", "GTM")},
    # a draft stays with its own party (the members-wide GREEN draft reaches GTM's observer account too)
    "members-draft": {("liaison_officer", "GTM"), ("border_officer", "GTM"), ("observer", "GTM")},
}


@pytest.mark.parametrize("scope", list(SCOPES))
@pytest.mark.parametrize("viewer", VIEWERS, ids=lambda v: f"{v[0]}@{v[1]}")
def test_every_read_route_follows_the_alert_scope(client, make_user, login_as, scope, viewer):
    distribution, tlp, status = SCOPES[scope]
    reporter = make_user(role="liaison_officer", party_code="GTM")
    alert = gtm_alert(reporter, distribution=distribution, tlp=tlp, status=status)
    item = make_attachment(reporter, alert)
    login_as(make_user(role=viewer[0], party_code=viewer[1]))
    want = 200 if viewer in SEES[scope] else 404
    got = {}
    for name, url in _urls(alert.id, item.id).items():
        with client.get(url) as response:  # closing releases the blob reader, as a WSGI server does
            got[name] = response.status_code
    assert got == dict.fromkeys(got, want)


def test_invisible_attachment_is_audited_as_denied(client, make_user, login_as):
    reporter = make_user(role="liaison_officer", party_code="GTM")
    alert = gtm_alert(reporter, distribution={"level": "party"})
    item = make_attachment(reporter, alert)
    login_as(make_user(role="liaison_officer", party_code="MEX"))
    mark_audit_start()
    assert client.get(_urls(alert.id, item.id)["download"]).status_code == 404
    assert [e.object_id for e in audit_entries("attachments.access", outcome="denied")] == [str(item.id)]
    assert audit_entries("attachment.view") == []


def test_attachment_of_another_alert_is_not_found_under_this_one(client, make_user, login_as):
    reporter = make_user(role="liaison_officer", party_code="GTM")
    first, second = gtm_alert(reporter), gtm_alert(reporter)
    item = make_attachment(reporter, first)
    login_as(reporter)
    assert client.get(_urls(second.id, item.id)["download"]).status_code == 404
    assert client.get(_urls(first.id, item.id + 1000)["download"]).status_code == 404


def test_download_headers_and_bytes(client, make_user, login_as):
    reporter = make_user(role="liaison_officer", party_code="GTM")
    alert = gtm_alert(reporter)
    data = pdf_bytes("Consular circular")
    item = make_attachment(reporter, alert, data, "circular año.pdf")
    login_as(make_user(role="border_officer", party_code="MEX"))
    mark_audit_start()
    response = client.get(_urls(alert.id, item.id)["download"])
    assert response.status_code == 200 and response.data == data
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=\"circular ano.pdf\"; filename*=UTF-8''circular%20a%C3%B1o.pdf")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.content_length == len(data)
    [entry] = audit_entries("attachment.view")
    assert json.loads(entry.details) == {"alert_id": alert.id, "variant": "download", "watermarked": False}
    assert entry.actor_party == "MEX" and entry.object_party == "GTM"
    # a PDF is never shown inline, even on the view route
    with client.get(_urls(alert.id, item.id)["view"]) as view:
        assert view.headers["Content-Disposition"].startswith("attachment;")


def test_images_are_viewed_inline_and_thumbnails_are_small(client, make_user, login_as):
    reporter = make_user(role="liaison_officer", party_code="GTM")
    alert = gtm_alert(reporter)
    data = png_bytes(size=(1200, 800))
    item = make_attachment(reporter, alert, data)
    login_as(reporter)
    with client.get(_urls(alert.id, item.id)["view"]) as view:
        assert view.headers["Content-Disposition"].startswith("inline;") and view.mimetype == "image/png"
        assert view.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
    thumb = client.get(_urls(alert.id, item.id)["thumbnail"])
    assert thumb.mimetype == "image/jpeg" and max(Image.open(io.BytesIO(thumb.data)).size) == 320


@pytest.mark.parametrize(("tlp", "marked"), [("CLEAR", False), ("GREEN", False), ("AMBER", True),
                                             ("AMBER+STRICT", True), ("RED", True)])
def test_images_of_amber_and_red_alerts_carry_the_viewers_watermark(client, make_user, login_as, tlp, marked):
    reporter = make_user(role="liaison_officer", party_code="GTM")
    alert = gtm_alert(reporter, tlp=tlp, distribution={"level": "members"})
    data = png_bytes(size=(600, 400))
    item = make_attachment(reporter, alert, data)
    login_as(make_user(role="liaison_officer", party_code="MEX"))
    stored = Image.open(io.BytesIO(data)).convert("RGB")
    for route in ("view", "download", "thumbnail"):
        response = client.get(_urls(alert.id, item.id)[route])
        assert response.status_code == 200
        payload = response.data  # read to the end (which also closes the blob reader)
        if route == "thumbnail":
            continue
        served = Image.open(io.BytesIO(payload)).convert("RGB")
        assert served.size == stored.size
        difference = ImageChops.difference(stored, served).getbbox()
        assert (difference is not None) == marked, route
        if marked:  # drawn across the image, not in one corner
            left, top, right, bottom = difference
            assert right - left > stored.size[0] * 0.8 and bottom - top > stored.size[1] * 0.8


def test_watermark_names_the_viewer(app_ctx, make_user):
    from documents.watermark import watermark_text

    assert watermark_text("MEX", "Mateo Border").startswith("MEX · Mateo Border · ")


MARKER = "ZQX-MARKER-4F1C-SPECIMEN"


def test_no_trace_of_an_uploaded_file_in_the_instance_folder_or_the_database(app, client, make_user, login_as):
    reporter = make_user(role="liaison_officer", party_code="GTM")
    alert = gtm_alert(reporter)
    login_as(reporter)
    response = post_multipart(client, f"/alerts/{alert.id}/attachments/new",
                              {"side": "biodata", "light": "visible", "caption": f"caption {MARKER}"},
                              [("file", f"{MARKER}.pdf", pdf_bytes(f"Holder data {MARKER}"))])
    assert response.status_code == 302
    db.session.commit()
    marker = MARKER.encode()
    instance = Path(app.config["INSTANCE_PATH"])
    leaks = [str(path) for path in instance.rglob("*") if path.is_file() and marker in path.read_bytes()]
    assert leaks == []
    found = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(select(text("*")).select_from(table)):
            if any(marker in (value if isinstance(value, bytes) else str(value).encode()) for value in row):
                found.append(table.name)
    assert found == []
    # and it is all there, for those allowed to read it
    page = client.get(f"/alerts/{alert.id}/attachments").get_data(as_text=True)
    assert MARKER in page
