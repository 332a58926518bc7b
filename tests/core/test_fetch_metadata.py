"""No request made by someone else's content acts in the reader's name (issue 11, section 5).

Another site may only link to a page; the portal's own pages may embed only static files and a record's own
files; exports are POST with a CSRF token, so neither an ``<img>`` nor a link planted in a submission's text
can run an export or a search that the audit would record as the reader's.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.security import fetch_refusal
from tests.documents.factories import gtm_alert, make_attachment

IMAGE = {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image"}
CROSS_SITE_LINK = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document",
                   "Sec-Fetch-User": "?1"}


def _audit_count() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEntry))


class _View:
    is_embeddable = False


class _Embeddable:
    is_embeddable = True


@pytest.mark.parametrize(("view", "method", "site", "mode", "dest", "refused"), [
    (_View, "GET", None, None, None, None),  # no Fetch Metadata: an older browser or a machine client
    (_View, "GET", "same-origin", "navigate", "document", None),
    (_View, "POST", "same-origin", "navigate", "document", None),
    (_View, "GET", "cross-site", "navigate", "document", None),  # a link followed from a mail or another site
    (_View, "GET", "none", "navigate", "document", None),  # typed into the address bar
    (_View, "POST", "cross-site", "navigate", "document", "cross-site"),  # another site's form
    (_View, "GET", "cross-site", "cors", "empty", "cross-site"),  # another site's fetch()
    (_View, "GET", "cross-site", "no-cors", "image", "cross-site"),
    (_Embeddable, "GET", "cross-site", "no-cors", "image", "cross-site"),  # not even a record's own file
    (_View, "GET", "same-origin", "no-cors", "image", "subresource"),  # an <img> pointing at a search
    (_View, "GET", "same-origin", "no-cors", "script", "subresource"),
    (_View, "GET", "same-site", "no-cors", "style", "subresource"),
    (_View, "GET", "same-origin", "navigate", "iframe", "subresource"),
    (_Embeddable, "GET", "same-origin", "no-cors", "image", None),  # a record's own file
    (None, "GET", "same-origin", "no-cors", "style", None),  # static files
])
def test_the_rule(view, method, site, mode, dest, refused):
    assert fetch_refusal(view, method, site, mode, dest) == refused


def test_an_image_planted_in_text_cannot_run_a_search_in_the_readers_name(client, make_user, login_as):
    login_as(make_user(role="border_officer", party_code="MEX"))
    before = _audit_count()
    response = client.get("/alerts/?q=P<GTMQZ7730001", headers=IMAGE)
    assert response.status_code == 403
    assert _audit_count() == before  # no search was run, so none was recorded


def test_exports_are_post_only(client, make_user, login_as):
    login_as(make_user(role="liaison_officer", party_code="GTM"))
    for url in ("/alerts/bulk/export.csv", "/alerts/bulk/export.json", "/directory/export.csv",
                "/directory/export.vcf"):
        response = client.get(url)
        assert response.status_code == 405, url
        assert "POST" in response.headers["Allow"] and "GET" not in response.headers["Allow"], url
    assert client.post("/alerts/bulk/export.json").status_code == 200


def test_another_sites_form_is_refused_even_with_a_session(client, make_user, login_as):
    login_as(make_user(role="liaison_officer", party_code="GTM"))
    headers = {**CROSS_SITE_LINK, "Sec-Fetch-User": "?1"}
    assert client.post("/alerts/bulk/export.json", headers=headers).status_code == 403
    assert client.post("/notifications/read-all", headers=headers).status_code == 403


def test_a_link_from_another_site_opens_the_page(client, make_user, login_as):
    login_as(make_user(role="border_officer", party_code="MEX"))
    assert client.get("/alerts/", headers=CROSS_SITE_LINK).status_code == 200


def test_the_portal_embeds_a_records_own_file_and_its_static_files(client, make_user, login_as):
    author = make_user(role="liaison_officer", party_code="GTM")
    alert = gtm_alert(author)
    item = make_attachment(author, alert)
    login_as(author)
    thumbnail = client.get(f"/alerts/{alert.id}/attachments/{item.id}/thumbnail", headers=IMAGE)
    assert thumbnail.status_code == 200 and thumbnail.mimetype == "image/jpeg"
    assert client.get(f"/alerts/{alert.id}/attachments/{item.id}/download", headers=IMAGE).status_code == 403
    stylesheet = client.get("/static/portal.css", headers={**IMAGE, "Sec-Fetch-Dest": "style"})
    assert stylesheet.status_code == 200
    stylesheet.close()


def test_an_encoded_slash_in_a_path_is_not_found_rather_than_routed_elsewhere(client):
    # /api/v1/reporting/cycles/1/returns/GTM%2Fsubmit decodes to the POST-only submit route: a PUT there
    # answered 405 (a path parameter spanning two segments); no portal URL holds an encoded slash.
    response = client.put("/api/v1/reporting/cycles/1/returns/GTM%2Fsubmit",
                          environ_base={"REQUEST_URI": "/api/v1/reporting/cycles/1/returns/GTM%2Fsubmit"})
    assert response.status_code == 404
    assert client.get("/healthz", environ_base={"REQUEST_URI": "/healthz"}).status_code == 200
