"""Filter values reach the audit only once checked against their vocabularies (issue 11, section 6): an
unknown value is a 422 naming the filter, on the page, the API and the exports alike, and is never stored."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, or_, select

from auth.tokens import create_token
from portal.audit.models import AuditEntry, AuditQueueEntry
from portal.audit.sealing import SEALED, SearchTerm, open_sealed
from portal.audit.service import record
from portal.extensions import db
from tests.alerts.factories import report

FREE_TEXT = "P<GTMQZ7730001"
NUMBER = "QZ7730001"


def _stored_anywhere(text: str) -> int:
    """Audit rows (chained or queued) holding ``text`` in any of their free columns."""
    db.session.commit()
    total = 0
    for model in (AuditEntry, AuditQueueEntry):
        total += db.session.scalar(select(func.count()).select_from(model).where(or_(*(
            column.contains(text, autoescape=True) for column in (model.details, model.object_id, model.action)))))
    return total


@pytest.fixture
def searcher(make_user):
    return make_user(role="liaison_officer", party_code="MEX")


@pytest.mark.parametrize("value", (FREE_TEXT, NUMBER, "gtm<", "XXXXXXXXX"))
def test_the_search_page_refuses_an_unknown_party_by_name(client, login_as, searcher, value):
    login_as(searcher)
    response = client.get("/alerts/", query_string={"reporting_party": value})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Reporting party" in html and 'id="alert-results"' not in html
    assert _stored_anywhere(value.upper()) == 0


@pytest.mark.parametrize("value", (FREE_TEXT, "ZZZ"))
def test_the_api_refuses_an_unknown_party_and_stores_nothing(client, searcher, value):
    _token, secret = create_token(searcher, name="search", scopes=["alerts:read"])
    db.session.commit()
    response = client.get("/api/v1/alerts", query_string={"reporting_party": value},
                          headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 422
    assert set(response.get_json()["fields"]) == {"reporting_party"}
    assert _stored_anywhere(value) == 0


def test_a_known_party_is_still_a_filter(client, login_as, make_user, searcher):
    alert = report(make_user(role="liaison_officer", party_code="GTM"))
    login_as(searcher)
    response = client.get("/alerts/", query_string={"reporting_party": "GTM"})
    assert response.status_code == 200 and alert.reference in response.get_data(as_text=True)


def test_exports_refuse_an_unknown_party_by_name_and_store_nothing(client, login_as, searcher):
    login_as(searcher)
    page = client.get("/alerts/bulk/export", query_string={"reporting_party": FREE_TEXT})
    download = client.post("/alerts/bulk/export.csv", query_string={"reporting_party": FREE_TEXT})
    assert page.status_code == 422 and "Reporting party: " in page.get_data(as_text=True)
    assert download.status_code == 422 and set(download.get_json()["fields"]) == {"reporting_party"}
    assert _stored_anywhere(FREE_TEXT) == 0


def test_an_export_of_a_number_search_seals_the_number(client, login_as, searcher):
    login_as(searcher)
    head = db.session.scalar(select(func.max(AuditEntry.seq))) or 0
    assert client.post("/alerts/bulk/export.json", query_string={"q": NUMBER}).status_code == 200
    db.session.commit()
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.seq > head, AuditEntry.action == "alert.export"))
    assert NUMBER not in entry.details
    assert open_sealed(json.loads(entry.details)[SEALED]) == [SearchTerm("number", NUMBER, None)]


@pytest.mark.parametrize("query, field", (
    ({"action": NUMBER.lower()}, "action"),
    ({"objective": NUMBER}, "objective"),
))
def test_the_audit_viewer_refuses_filters_outside_its_vocabularies(client, make_user, login_as, query, field):
    login_as(make_user(role="secretariat_admin", party_code="TS"))
    page = client.get("/audit/", query_string=query)
    export = client.post("/audit/export.csv", query_string=query)
    assert page.status_code == 422 and export.status_code == 422
    assert field in export.get_data(as_text=True)
    assert _stored_anywhere(NUMBER) == 0 and _stored_anywhere(NUMBER.lower()) == 0


def test_the_audit_viewer_keeps_known_filters(client, make_user, login_as):
    record("auth.vocabulary_seed", principal=None)
    login_as(make_user(role="secretariat_admin", party_code="TS"))
    head = db.session.scalar(select(func.max(AuditEntry.seq))) or 0
    export = client.post("/audit/export.csv", query_string={"action": "auth.vocab", "objective": "mpm-8"})
    assert export.status_code == 200
    db.session.commit()
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.seq > head, AuditEntry.action == "audit.export"))
    assert json.loads(entry.details)["objective"] == "MPM-8" and json.loads(entry.details)["action"] == "auth.vocab"
