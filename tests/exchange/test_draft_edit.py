"""Editing a draft: the sending party's users change every field while it is a draft, with the checks and
field errors of writing one; after sending, or for anyone else, the edit page refuses and changes nothing."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.exchange.models import Submission, SubmissionAlert, SubmissionNetwork
from portal.extensions import db
from portal.notifications.models import Notification
from portal.timeutil import utcnow
from tests.alerts.factories import audit_entries, mark_audit_start, report
from tests.exchange.factories import make_submission, party_id, submission_input
from tests.notices.factories import make_network


@pytest.fixture
def author(make_user):
    return make_user(role="liaison_officer", party_code="GTM")


@pytest.fixture
def draft(author):
    return make_submission(author, send=False, parties=["MEX"], tlp="AMBER")


def _form(**overrides) -> dict:
    """The edit form as a browser posts it (codes for parties, networks, objectives; ids for alerts)."""
    data = submission_input(**overrides)
    data.setdefault("information_accuracy", "2")
    data["action"] = data.pop("action", "draft")
    return {key: value for key, value in data.items() if value is not None}


def _fresh(submission_id: int) -> Submission:
    db.session.expire_all()
    return db.session.get(Submission, submission_id)


def test_the_edit_page_shows_the_draft(draft, author, login_as, client):
    login_as(author)
    response = client.get(f"/exchange/{draft.id}/edit")
    assert response.status_code == 200
    page = response.data.decode()
    assert 'value="Forged Schengen visas on the Tapachula route"' in page
    assert re.search(r'<input checked[^>]*value="MEX"', page)  # a ticked checkbox
    assert '<option selected value="AMBER">' in page
    # the detail page offers the edit button to the sender of a draft
    assert 'id="edit-draft"' in client.get(f"/exchange/{draft.id}").data.decode()


def test_the_sending_party_changes_every_field(draft, author, make_user, login_as, client):
    network = make_network("XNET", ["CRI"])
    alert = report(author)
    db.session.commit()
    colleague = make_user(role="country_admin", party_code="GTM")
    login_as(colleague)
    mark_audit_start()
    due = (utcnow().date() + timedelta(days=10)).isoformat()
    response = client.post(f"/exchange/{draft.id}/edit", data=_form(
        title="Revised: forged visas", kind="request_for_information", summary="Please check your records.",
        body="Any **matches**?", source_reliability="A", information_accuracy="1", handling_code="other",
        handling_restrictions="Not before the operation ends.", tlp="RED", parties=["HND", "SLV"],
        networks=[network.code], related_alerts=[str(alert.id)], objectives=["ERX-COO-3"], due_date=due))
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/exchange/{draft.id}")
    saved = _fresh(draft.id)
    assert (saved.title, saved.kind, saved.summary, saved.body) == (
        "Revised: forged visas", "request_for_information", "Please check your records.", "Any **matches**?")
    assert (saved.source_reliability, saved.information_accuracy, saved.handling_code, saved.tlp) == (
        "A", "1", "other", "RED")
    assert saved.handling_restrictions == "Not before the operation ends."
    assert saved.due_date.isoformat() == due and saved.objectives == ["ERX-COO-3"]
    assert saved.status == "draft"
    assert set(saved.recipient_party_ids) == {party_id("HND"), party_id("SLV"), party_id("CRI")}
    assert list(db.session.scalars(select(SubmissionNetwork.network_id)
                                   .where(SubmissionNetwork.submission_id == draft.id))) == [network.id]
    assert list(db.session.scalars(select(SubmissionAlert.alert_id)
                                   .where(SubmissionAlert.submission_id == draft.id))) == [alert.id]
    [entry] = audit_entries("exchange.update")
    details = json.loads(entry.details)
    assert entry.object_id == str(draft.id) and entry.actor_user_id == colleague.id
    assert set(details["changed"]) >= {"title", "kind", "summary", "body", "tlp", "parties", "networks",
                                       "related_alerts", "objectives", "due_date", "handling_code"}
    # nothing is said to anyone while it is a draft
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 0
    assert audit_entries("exchange.send") == []


def test_save_and_send(draft, author, make_user, login_as, client):
    login_as(author)
    response = client.post(f"/exchange/{draft.id}/edit", data=_form(parties=["HND"], action="send"))
    assert response.status_code == 302
    saved = _fresh(draft.id)
    assert saved.status == "sent" and saved.recipient_party_ids == [party_id("HND")]
    login_as(make_user(role="liaison_officer", party_code="HND"))
    assert client.get(f"/exchange/{draft.id}").status_code == 200
    login_as(make_user(role="liaison_officer", party_code="MEX"))  # no longer a recipient
    assert client.get(f"/exchange/{draft.id}").status_code == 404


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"title": ""}, "title", "This field is required."),
    ({"parties": ["PAN", "ARG"]}, "parties", "not a valid choice"),
    ({"parties": []}, "parties", "Choose at least one recipient party or network."),
    ({"kind": "request_for_information"}, "due_date", "A request for information needs a due date."),
    ({"due_date": "2031-01-01"}, "due_date", "Only a request for information has a due date."),
    ({"handling_code": "other"}, "handling_restrictions", "State the restrictions that apply."),
    ({"tlp": "PURPLE"}, "tlp", "Not a valid choice"),
])
def test_invalid_input_is_a_field_error_and_changes_nothing(overrides, field, message, draft, author, login_as,
                                                              client):
    login_as(author)
    mark_audit_start()
    response = client.post(f"/exchange/{draft.id}/edit", data=_form(**overrides))
    assert response.status_code == 400
    page = response.data.decode()
    assert f'id="{field}"' in page and message in page
    # the error sits next to its field
    after_field = page[page.index(f'id="{field}"'):]
    assert message in after_field[:after_field.index('<div class="mb-3">') if '<div class="mb-3">' in after_field
                                  else len(after_field)]
    saved = _fresh(draft.id)
    assert saved.title == "Forged Schengen visas on the Tapachula route" and saved.recipient_party_ids == [party_id("MEX")]
    assert saved.tlp == "AMBER" and saved.kind == "immigration_control"
    assert audit_entries("exchange.update") == []


def test_related_alerts_must_be_visible(draft, author, make_user, login_as, client):
    other = make_user(role="liaison_officer", party_code="MEX")
    hidden = report(other, tlp="RED", distribution={"level": "party"})
    db.session.commit()
    login_as(author)
    response = client.post(f"/exchange/{draft.id}/edit", data=_form(related_alerts=[str(hidden.id)]))
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(SubmissionAlert)) == 0


def test_no_edit_after_sending(author, login_as, client):
    sent = make_submission(author, parties=["MEX"])
    login_as(author)
    mark_audit_start()
    page = client.get(f"/exchange/{sent.id}/edit")
    assert page.status_code == 409
    assert "This submission has already been sent and can no longer be edited." in page.data.decode()
    response = client.post(f"/exchange/{sent.id}/edit", data=_form(title="Too late"))
    assert response.status_code == 409
    assert _fresh(sent.id).title == "Forged Schengen visas on the Tapachula route"
    denied = audit_entries("exchange.update", outcome="denied")
    assert [json.loads(row.details)["reason"] for row in denied] == ["status", "status"]
    assert 'id="edit-draft"' not in client.get(f"/exchange/{sent.id}").data.decode()


@pytest.mark.parametrize(("role", "code", "status"), [
    ("liaison_officer", "MEX", 404),     # an addressee: a draft is invisible to it
    ("liaison_officer", "PAN", 404),
    ("secretariat_admin", "TS", 404),
    ("country_admin", "ARG", 404),
    ("border_officer", "GTM", 403),      # the sending party, but no exchange_intelligence
    ("observer", "GTM", 403),
])
def test_only_the_sending_party_edits(role, code, status, draft, make_user, login_as, client):
    user = make_user(role=role, party_code=code)
    login_as(user)
    mark_audit_start()
    assert client.get(f"/exchange/{draft.id}/edit").status_code == status
    assert client.post(f"/exchange/{draft.id}/edit", data=_form(title="Hijacked")).status_code == status
    assert _fresh(draft.id).title == "Forged Schengen visas on the Tapachula route"
    if status == 404:
        assert len(audit_entries("submissions.access", outcome="denied", actor_user_id=user.id)) == 2


def test_a_recipient_of_a_sent_submission_cannot_edit_it(author, make_user, login_as, client):
    sent = make_submission(author, parties=["MEX"])
    mex = make_user(role="liaison_officer", party_code="MEX")
    login_as(mex)
    mark_audit_start()
    assert client.get(f"/exchange/{sent.id}/edit").status_code == 404
    assert client.post(f"/exchange/{sent.id}/edit", data=_form(title="Hijacked")).status_code == 404
    assert _fresh(sent.id).title == "Forged Schengen visas on the Tapachula route"
    denied = audit_entries("exchange.update", outcome="denied", actor_user_id=mex.id)
    assert [json.loads(row.details)["reason"] for row in denied] == ["not_owner", "not_owner"]
