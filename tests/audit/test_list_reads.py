"""List pages that show protected data are audited like detail pages, and so are changes of the language
and of the notifications' state (issue 11, section 6): each names which rows it showed."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEntry
from portal.extensions import db
from tests.directory.factories import make_entry
from tests.documents.factories import gtm_alert, make_attachment, make_document
from tests.exchange.factories import make_submission
from tests.notices.factories import make_notice


def _entries(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _details(entry: AuditEntry) -> dict:
    return json.loads(entry.details) if isinstance(entry.details, str) else entry.details


def _exchange(author, make_user):
    sender = make_user(role="liaison_officer", party_code="MEX")
    return "/exchange/", "exchange.list", make_submission(sender, parties=["GTM"], tlp="GREEN").id


def _sent(author, make_user):
    return "/exchange/sent", "exchange.list", make_submission(author, parties=["MEX"], tlp="GREEN").id


def _library(author, make_user):
    return "/library/", "library.list", make_document(author, tlp="GREEN", level="members").id


def _notices(author, make_user):
    return "/notices/", "notice.list", make_notice(author, level="members", tlp="GREEN").id


def _attachments(author, make_user):
    alert = gtm_alert(author)
    return f"/alerts/{alert.id}/attachments", "attachment.list", make_attachment(author, alert).id


def _directory(author, make_user):
    return "/directory/", "directory.list", make_entry("GTM").id


@pytest.mark.parametrize("listing", [_exchange, _sent, _library, _notices, _attachments, _directory],
                         ids=lambda f: f.__name__.strip("_"))
def test_a_list_page_records_which_rows_it_showed(client, make_user, login_as, listing):
    author = make_user(role="liaison_officer", party_code="GTM")
    url, action, shown_id = listing(author, make_user)
    db.session.commit()
    login_as(author)
    assert client.get(url).status_code == 200
    [entry] = _entries(action)
    assert entry.actor_party == "GTM" and entry.outcome == "ok"
    assert str(shown_id) in _details(entry)["ids"] and _details(entry)["count"] >= 1


def test_the_api_box_listing_is_audited(client, make_user):
    from auth.tokens import create_token

    author = make_user(role="liaison_officer", party_code="GTM")
    submission = make_submission(author, parties=["MEX"], tlp="GREEN")
    _token, secret = create_token(author, name="t", scopes=["exchange:read"])
    db.session.commit()
    response = client.get("/api/v1/submissions?box=sent", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200
    [entry] = _entries("exchange.list")
    assert _details(entry)["ids"] == [str(submission.id)] and _details(entry)["via"] == "api"


def test_the_directory_listing_never_records_the_searched_name(client, make_user, login_as):
    make_entry("GTM", name="Rosa Hernández")
    login_as(make_user(role="liaison_officer", party_code="MEX"))
    assert client.get("/directory/?q=Hernández&institution=Ministerio").status_code == 200
    [entry] = _entries("directory.list")
    filters = _details(entry)["filters"]
    assert filters["name"] is True and filters["institution"] is True
    assert "Hern" not in str(entry.details) and "Ministerio" not in str(entry.details)


def test_changing_the_language_and_reading_every_notification_are_audited(client, make_user, login_as):
    user = make_user(role="border_officer", party_code="MEX")
    login_as(user)
    client.post("/language", data={"language": "es", "next": "/"})
    [language] = _entries("user.language")
    assert language.object_id == str(user.id) and _details(language) == {"language": "es"}
    client.post("/notifications/read-all")
    [read_all] = _entries("notification.read_all")
    assert read_all.object_id == str(user.id) and "count" in _details(read_all)
