"""Hit confirmations: request (API and page), the access matrix (the two parties only), answers, the
response time, overdue reminders (once per period) and the secretariat's response times."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from alerts.confirmation_operations import remind_overdue
from alerts.confirmations import HitConfirmation
from auth.tokens import create_token
from portal.extensions import db
from portal.notifications.models import Notification
from portal.outbox.models import OutboxMessage
from portal.timeutil import utcnow
from tests.alerts.factories import audit_entries, confirmation_request, mark_audit_start, report


@pytest.fixture(autouse=True)
def _audit_start():
    mark_audit_start()


def bearer(user, *scopes) -> dict:
    _token, secret = create_token(user, name="border system", scopes=scopes)
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def gtm(make_user):
    """GTM's liaison officer (reports the alerts)."""
    return make_user(role="liaison_officer", party_code="GTM")


@pytest.fixture
def gtm_admin(make_user):
    return make_user(role="country_admin", party_code="GTM")


@pytest.fixture
def officer(make_user):
    """MEX's border officer (asks)."""
    return make_user(role="border_officer", party_code="MEX")


def mails(user) -> list[OutboxMessage]:
    return [m for m in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)) if m.recipient == user.email]


def notes(user) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)))


BODY = {"document_number": "a123-4567", "place": "Tecún Umán border crossing", "note": "Holder says JUAN PEREZ"}


# --- requesting -----------------------------------------------------------------------------------------

def test_the_api_request_is_201_pending_and_due_within_the_default_hour(client, gtm, gtm_admin, officer, make_user):
    alert = report(gtm, tlp="AMBER")
    gtm_border = make_user(role="border_officer", party_code="GTM")
    response = client.post(f"/api/v1/alerts/{alert.id}/confirmations", json=BODY, headers=bearer(officer, "alerts:check"))
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"id", "status", "due_at"} and body["status"] == "pending"
    stored = db.session.get(HitConfirmation, body["id"])
    assert stored.due_at - stored.requested_at == timedelta(minutes=60) and body["due_at"] == stored.due_at.isoformat()
    assert response.headers["Location"] == f"/api/v1/confirmations/{stored.id}"
    # the number, place and note are encrypted at rest
    raw = db.session.execute(text("SELECT document_number, place, note FROM hit_confirmations WHERE id = :id"),
                             {"id": stored.id}).one()
    assert stored.document_number == "A1234567"
    assert not any(secret in " ".join(raw) for secret in ("A1234567", "Tecún", "PEREZ"))
    # the reporting party's answerers are told at once; its border officer and the requester are not
    for user in (gtm, gtm_admin):
        (note,) = notes(user)
        assert note.kind == "confirmation.requested" and f"/alerts/confirmations/{stored.id}" == note.link
        assert "MEX" in note.title and alert.reference in note.title
        (mail,) = mails(user)
        assert alert.reference in mail.body and "TLP:AMBER" in mail.body
        # AMBER: metadata only (no fraud type, state or place), and never the number or the note
        assert not any(word in mail.body + mail.subject for word in ("A1234567", "PEREZ", "Tecún", "Fraud type"))
    assert notes(gtm_border) == [] and notes(officer) == [] and mails(gtm_border) == []
    (entry,) = audit_entries("confirmation.request")
    details = json.loads(entry.details)
    assert details == {"alert_id": alert.id, "match": "exact", "response_minutes": 60}
    assert [objective.code for objective in entry.objectives] == ["ERX-INF-4"] and "A1234567" not in entry.details


def test_a_green_alert_s_mail_names_the_fraud_type_and_state(client, gtm, officer):
    alert = report(gtm, tlp="GREEN")
    confirmation_request(officer, alert)
    (mail,) = mails(gtm)
    assert "Fraud type: Counterfeit" in mail.body and "Issuing state: GTM" in mail.body
    assert "A1234567" not in mail.body


@pytest.mark.parametrize(("body", "fields"), [
    ({}, {"document_number", "place"}),
    ({"document_number": "", "place": " "}, {"document_number", "place"}),
    ({"document_number": "A1234567"}, {"place"}),
    ({"document_number": "A12#34567", "place": "X"}, {"document_number"}),
    ({"document_number": "A1234567", "place": "X", "note": "n" * 2001}, {"note"}),
    ({"document_number": "A1234567", "place": "X", "extra": 1}, {"extra"}),
    ({"document_number": 1234567, "place": "X"}, {"document_number"}),
])
def test_bad_requests_are_422_naming_each_field_and_store_nothing(client, gtm, officer, body, fields):
    alert = report(gtm)
    response = client.post(f"/api/v1/alerts/{alert.id}/confirmations", json=body, headers=bearer(officer, "alerts:check"))
    assert response.status_code == 422 and set(response.get_json()["fields"]) == fields
    assert db.session.scalars(select(HitConfirmation)).all() == []


def test_the_alert_must_be_visible_and_another_partys(client, gtm, officer):
    hidden = report(gtm, distribution={"level": "party"}, tlp="AMBER")
    headers = bearer(officer, "alerts:check")
    assert client.post(f"/api/v1/alerts/{hidden.id}/confirmations", json=BODY, headers=headers).status_code == 404
    own = report(gtm)
    refused = client.post(f"/api/v1/alerts/{own.id}/confirmations", json=BODY, headers=bearer(gtm, "alerts:check"))
    assert refused.status_code == 422 and set(refused.get_json()["fields"]) == {"alert"}
    wrong_scope = client.post(f"/api/v1/alerts/{own.id}/confirmations", json=BODY, headers=bearer(officer, "alerts:read"))
    assert wrong_scope.status_code == 403


# --- who sees it ----------------------------------------------------------------------------------------

# (role, party) -> (API status, page status): a page first asks for the permission (403 without it).
VIEWERS = [
    (("border_officer", "MEX"), 200, 200),   # asked
    (("liaison_officer", "MEX"), 200, 200),  # the requesting party
    (("country_admin", "MEX"), 200, 200),
    (("liaison_officer", "GTM"), 200, 200),  # the reporting party
    (("country_admin", "GTM"), 200, 200),
    (("border_officer", "GTM"), 200, 200),
    (("liaison_officer", "HND"), 404, 404),  # another party
    (("country_admin", "ARG"), 404, 404),    # an observer country
    (("secretariat_admin", "TS"), 404, 403),
    (("observer", "MEX"), 404, 403),
    (("observer", "GTM"), 404, 403),
]


@pytest.mark.parametrize(("viewer", "api_status", "page_status"), VIEWERS, ids=[f"{v[0][0]}@{v[0][1]}" for v in VIEWERS])
def test_only_the_two_parties_see_a_request(client, login_as, make_user, gtm, officer, viewer, api_status, page_status):
    confirmation = confirmation_request(officer, report(gtm, tlp="CLEAR"))
    db.session.commit()
    user = make_user(role=viewer[0], party_code=viewer[1])
    response = client.get(f"/api/v1/confirmations/{confirmation.id}",
                          headers=bearer(user, "alerts:check", "alerts:write", "alerts:read"))
    assert response.status_code == api_status
    if api_status == 200:
        body = response.get_json()
        assert body["document_number"] == "A1234567" and body["requesting_party"] == "MEX"
        assert body["reporting_party"] == "GTM" and body["number_match"] == "exact" and body["overdue"] is False
    page = login_as(user, client.application.test_client()).get(f"/alerts/confirmations/{confirmation.id}")
    assert page.status_code == page_status


def test_a_token_without_a_confirmation_scope_does_not_see_it(client, gtm, officer):
    confirmation = confirmation_request(officer, report(gtm))
    assert client.get(f"/api/v1/confirmations/{confirmation.id}",
                      headers=bearer(officer, "directory:read")).status_code == 404
    assert client.get("/api/v1/confirmations/999999", headers=bearer(officer, "alerts:check")).status_code == 404


# --- answering ------------------------------------------------------------------------------------------

def test_the_reporting_party_answers_and_the_requester_is_told(client, gtm, officer):
    alert = report(gtm, tlp="GREEN")
    confirmation = confirmation_request(officer, alert)
    url = f"/api/v1/confirmations/{confirmation.id}/answer"
    response = client.post(url, json={"answer": "confirmed", "note": "Seize it."}, headers=bearer(gtm, "alerts:write"))
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "confirmed" and body["answer_note"] == "Seize it." and body["answered_at"]
    (note,) = notes(officer)
    assert note.kind == "confirmation.answered" and "Confirmed" in note.title and "GTM" in note.title
    (mail,) = mails(officer)
    assert "Seize it." not in mail.body
    (entry,) = audit_entries("confirmation.answer")
    assert json.loads(entry.details)["answer"] == "confirmed" and json.loads(entry.details)["in_time"] is True
    again = client.post(url, json={"answer": "not_confirmed"}, headers=bearer(gtm, "alerts:write"))
    assert again.status_code == 422 and set(again.get_json()["fields"]) == {"answer"}


@pytest.mark.parametrize(("body", "fields"), [
    ({}, {"answer"}),
    ({"answer": "maybe"}, {"answer"}),
    ({"answer": "more_information"}, {"note"}),
    ({"answer": "confirmed", "note": "n" * 2001}, {"note"}),
])
def test_bad_answers_are_422_naming_the_field(client, gtm, officer, body, fields):
    confirmation = confirmation_request(officer, report(gtm))
    response = client.post(f"/api/v1/confirmations/{confirmation.id}/answer", json=body,
                           headers=bearer(gtm, "alerts:write"))
    assert response.status_code == 422 and set(response.get_json()["fields"]) == fields
    db.session.expire_all()
    assert db.session.get(HitConfirmation, confirmation.id).status == "pending"


def test_only_the_reporting_party_answers(client, make_user, gtm, officer):
    confirmation = confirmation_request(officer, report(gtm))
    url = f"/api/v1/confirmations/{confirmation.id}/answer"
    body = {"answer": "confirmed"}
    requester_party = make_user(role="liaison_officer", party_code="MEX")
    assert client.post(url, json=body, headers=bearer(requester_party, "alerts:write")).status_code == 403
    other = make_user(role="liaison_officer", party_code="HND")
    assert client.post(url, json=body, headers=bearer(other, "alerts:write")).status_code == 404
    assert client.post(url, json=body, headers=bearer(gtm, "alerts:check")).status_code == 403  # the scope
    assert [json.loads(e.details)["reason"] for e in audit_entries("confirmation.answer", outcome="denied")] == [
        "not_owner"]


def test_more_information_keeps_the_request_open_for_a_final_answer(client, gtm, officer):
    confirmation = confirmation_request(officer, report(gtm))
    url = f"/api/v1/confirmations/{confirmation.id}/answer"
    headers = bearer(gtm, "alerts:write")
    first = client.post(url, json={"answer": "more_information", "note": "Photo of page 2?"}, headers=headers)
    answered_at = first.get_json()["answered_at"]
    final = client.post(url, json={"answer": "not_confirmed"}, headers=headers).get_json()
    assert final["status"] == "not_confirmed" and final["answered_at"] == answered_at  # the first answer counts


# --- the pages ------------------------------------------------------------------------------------------

def test_from_the_hit_banner_to_the_answer_page(client, login_as, make_user, gtm, officer):
    alert = report(gtm, document_number="K1234567")
    login_as(officer)
    response = client.post(f"/alerts/{alert.id}/confirmations",
                           data={"document_number": "K1234567", "place": "La Hachadura", "note": ""})
    assert response.status_code == 302
    (confirmation,) = db.session.scalars(select(HitConfirmation)).all()
    assert response.headers["Location"] == f"/alerts/confirmations/{confirmation.id}"
    assert 'id="answer-form"' not in client.get(response.headers["Location"]).data.decode()
    login_as(gtm)
    listing = client.get("/alerts/confirmations").data.decode()
    assert f'id="confirmation-{confirmation.id}"' in listing and alert.reference in listing
    page = client.get(f"/alerts/confirmations/{confirmation.id}").data.decode()
    assert 'id="answer-form"' in page and "K1234567" in page and "La Hachadura" in page
    missing = client.post(f"/alerts/confirmations/{confirmation.id}/answer", data={"answer": ""})
    assert missing.status_code == 400 and "Choose one of" in missing.data.decode()
    done = client.post(f"/alerts/confirmations/{confirmation.id}/answer", data={"answer": "confirmed", "note": ""})
    assert done.status_code == 302
    login_as(officer)
    assert "Confirmed" in client.get(f"/alerts/confirmations/{confirmation.id}").data.decode()


def test_a_page_request_without_a_place_is_a_form_error(client, login_as, gtm, officer):
    alert = report(gtm)
    login_as(officer)
    response = client.post(f"/alerts/{alert.id}/confirmations", data={"document_number": "A1234567", "place": ""})
    assert response.status_code == 400
    assert "This field is required." in response.data.decode()
    assert db.session.scalars(select(HitConfirmation)).all() == []


def test_the_country_admin_sets_the_response_time(client, login_as, gtm_admin, gtm, officer):
    login_as(gtm_admin)
    assert 'value="60"' in client.get("/alerts/confirmations/response-time").data.decode()
    bad = client.post("/alerts/confirmations/response-time", data={"minutes": "3"})
    assert bad.status_code == 400 and "Enter a number from 5 to 1440." in bad.data.decode()
    assert client.post("/alerts/confirmations/response-time", data={"minutes": "abc"}).status_code == 400
    assert client.post("/alerts/confirmations/response-time", data={"minutes": "15"}).status_code == 302
    confirmation = confirmation_request(officer, report(gtm))
    assert confirmation.due_at - confirmation.requested_at == timedelta(minutes=15)
    (entry,) = audit_entries("confirmation.response_time")
    assert json.loads(entry.details) == {"minutes": 15, "previous": 60}
    login_as(gtm)
    assert client.get("/alerts/confirmations/response-time").status_code == 403


# --- overdue ----------------------------------------------------------------------------------------------

def test_overdue_requests_are_re_notified_once_per_period_and_highlighted(app, client, login_as, gtm, gtm_admin, officer):
    confirmation = confirmation_request(officer, report(gtm))
    due = confirmation.due_at
    assert remind_overdue(now=due - timedelta(minutes=1)) == 0
    assert remind_overdue(now=due + timedelta(minutes=1)) == 1
    assert [n.kind for n in notes(gtm)] == ["confirmation.requested", "confirmation.overdue"]
    assert len(mails(gtm_admin)) == 2
    assert remind_overdue(now=due + timedelta(minutes=30)) == 0  # once per period
    assert remind_overdue(now=due + timedelta(minutes=61)) == 1  # the next period
    assert [n.kind for n in notes(gtm)].count("confirmation.overdue") == 2
    entries = audit_entries("confirmation.overdue")
    assert [json.loads(e.details)["reminders"] for e in entries] == [1, 2]
    confirmation.due_at = utcnow() - timedelta(minutes=5)  # the pages judge by the real clock
    db.session.commit()
    login_as(gtm)
    listing = client.get("/alerts/confirmations").data.decode()
    row = listing[listing.index(f'id="confirmation-{confirmation.id}"') - 60:]
    assert "confirmation-overdue" in row[:200] and "Overdue" in row
    assert 'id="confirmation-overdue"' in client.get(f"/alerts/confirmations/{confirmation.id}").data.decode()


def test_an_answered_request_is_never_reminded(gtm, officer):
    from alerts.confirmation_operations import answer_confirmation
    from tests.alerts.factories import principal

    confirmation = confirmation_request(officer, report(gtm))
    answer_confirmation(principal(gtm), confirmation.id, answer="not_confirmed")
    assert remind_overdue(now=confirmation.due_at + timedelta(hours=5)) == 0


def test_the_overdue_command_commits_and_says_how_many(app, gtm, officer, monkeypatch):
    from alerts import confirmation_operations

    confirmation = confirmation_request(officer, report(gtm))
    db.session.commit()
    later = confirmation.due_at + timedelta(minutes=2)
    monkeypatch.setattr(confirmation_operations, "utcnow", lambda: later)
    result = app.test_cli_runner().invoke(args=["alerts", "confirmations-overdue"])
    assert result.exit_code == 0 and "re-notified: 1." in result.output
    again = app.test_cli_runner().invoke(args=["alerts", "confirmations-overdue"])
    assert "re-notified: 0." in again.output


# --- the secretariat's figures ------------------------------------------------------------------------

def test_the_secretariat_sees_response_times_per_party_without_content(client, login_as, make_user, gtm, officer):
    from alerts.confirmation_operations import answer_confirmation, response_figures
    from tests.alerts.factories import principal

    alert = report(gtm, document_number="K1234567")
    quick = confirmation_request(officer, alert, number="K1234567", place="La Hachadura")
    confirmation_request(officer, alert, number="K1234567")
    answer_confirmation(principal(gtm), quick.id, answer="confirmed")
    secretariat = make_user(role="secretariat_admin", party_code="TS")
    (row,) = [row for row in response_figures(principal(secretariat)) if row.party_code == "GTM"]
    assert (row.requests, row.answered, row.open, row.overdue) == (2, 1, 1, 0)
    assert row.median_minutes < 1 and row.in_time_share == 1.0
    login_as(secretariat)
    page = client.get("/alerts/confirmations/response-times").data.decode()
    figures = page[page.index('id="figures-GTM"'):]
    assert "100 %" in figures[:600]
    assert not any(secret in page for secret in ("K1234567", "La Hachadura", alert.reference))
    login_as(gtm)
    assert client.get("/alerts/confirmations/response-times").status_code == 403
