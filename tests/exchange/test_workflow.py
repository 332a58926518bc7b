"""Writing, sending, acknowledging, answering, forwarding and closing submissions (``operations``)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from portal.exchange import operations, queries
from portal.exchange.models import Submission, SubmissionAcknowledgement, SubmissionForward
from portal.extensions import db
from portal.principal import Principal
from portal.timeutil import utcnow
from tests.exchange.factories import (
    audit_rows,
    form_input,
    make_submission,
    notifications_of,
    party_id,
    row_count,
)


def test_send_from_the_form_stores_encrypts_audits_and_links_objectives(make_user, login_as, client):
    from tests.alerts.factories import report

    author = make_user(role="liaison_officer", party_code="GTM")
    alert = report(author, tlp="AMBER", distribution={"level": "party"})
    db.session.commit()
    login_as(author)
    response = client.post("/exchange/new", data=form_input(related_alerts=[str(alert.id)], networks=None))
    submission = db.session.scalar(select(Submission).order_by(Submission.id.desc()))
    assert response.status_code == 302 and response.headers["Location"] == f"/exchange/{submission.id}"
    assert (submission.status, submission.kind, submission.tlp, submission.handling_code) == (
        "sent", "immigration_control", "AMBER", "crime_only")
    assert submission.recipient_party_ids == [party_id("MEX")]
    assert submission.objectives == ["ERX-COO-1", "ERX-COO-3"]
    raw = db.session.execute(text("SELECT title, summary, body FROM submissions WHERE id = :id"),
                             {"id": submission.id}).one()
    assert all("Forged" not in value and "visas" not in value and "Findings" not in value for value in raw)
    [created] = audit_rows("exchange.create", actor_user_id=author.id)
    [sent] = audit_rows("exchange.send", actor_user_id=author.id)
    assert created.object_id == sent.object_id == str(submission.id)
    assert json.loads(sent.details) == {"reference": submission.reference, "kind": "immigration_control",
                                        "tlp": "AMBER", "recipients": 1}
    assert sent.objective_codes == ["ERX-COO-1", "ERX-COO-3"]
    assert queries.related_alerts(Principal.for_user(author), submission) == [alert]


def test_save_draft_then_send(make_user, login_as, client):
    author = make_user(role="liaison_officer", party_code="GTM")
    mex = make_user(role="liaison_officer", party_code="MEX")
    login_as(author)
    assert client.post("/exchange/new", data=form_input(action="draft")).status_code == 302
    draft = db.session.scalar(select(Submission).order_by(Submission.id.desc()))
    assert draft.status == "draft" and draft.sent_at is None and notifications_of(mex) == []
    assert client.post(f"/exchange/{draft.id}/send").status_code == 302
    db.session.expire_all()
    assert draft.status == "sent" and draft.sent_at is not None
    assert len(notifications_of(mex)) == 1


def test_roles_without_exchange_intelligence_get_403(make_user, login_as, client):
    for role, code in (("border_officer", "GTM"), ("observer", "GTM")):
        login_as(make_user(role=role, party_code=code))
        assert client.get("/exchange/new").status_code == 403
        assert client.post("/exchange/new", data=form_input()).status_code == 403
    assert row_count(Submission) == 0


def test_each_recipient_party_acknowledges_once_and_the_sender_sees_who_and_when(make_user, login_as, client):
    author = make_user(role="liaison_officer", party_code="GTM", name="Ana Sender")
    submission = make_submission(author, parties=["MEX", "HND"])
    mex = make_user(role="liaison_officer", party_code="MEX", name="Mateo Acknowledger")
    mex2 = make_user(role="country_admin", party_code="MEX")
    hnd = make_user(role="liaison_officer", party_code="HND", name="Hilda Honduras")
    login_as(mex)
    assert client.post(f"/exchange/{submission.id}/acknowledge").status_code == 302
    db.session.expire_all()
    assert submission.status == "sent"  # HND has not acknowledged yet
    login_as(mex2)
    response = client.post(f"/exchange/{submission.id}/acknowledge")
    assert response.status_code == 409 and "already acknowledged" in response.data.decode()
    assert [row.outcome for row in audit_rows("exchange.acknowledge")] == ["ok", "denied"]
    login_as(hnd)
    html = client.get(f"/exchange/{submission.id}").data.decode()
    assert "Mateo Acknowledger" not in html  # who acknowledged for another party is the sender's business
    assert client.post(f"/exchange/{submission.id}/acknowledge").status_code == 302
    db.session.expire_all()
    assert submission.status == "acknowledged"
    acks = db.session.scalars(select(SubmissionAcknowledgement).order_by(SubmissionAcknowledgement.party_id)).all()
    assert {(ack.party_id, ack.user_id) for ack in acks} == {(party_id("MEX"), mex.id), (party_id("HND"), hnd.id)}
    login_as(author)
    html = client.get(f"/exchange/{submission.id}").data.decode()
    ack_list = html[html.index('id="acknowledgements"'):]
    assert "MEX: Mateo Acknowledger" in ack_list and "HND: Hilda Honduras" in ack_list
    [note] = [n for n in notifications_of(author) if n.kind == "exchange.acknowledged" and "MEX" in n.title]
    assert note.title == f"{submission.reference} acknowledged by MEX"


def test_answer_then_close_ends_the_workflow(make_user, login_as, client):
    author = make_user(role="liaison_officer", party_code="GTM")
    submission = make_submission(author, parties=["MEX"], kind="request_for_information",
                                 due_date=(utcnow().date() + timedelta(days=3)).isoformat())
    mex = make_user(role="liaison_officer", party_code="MEX")
    login_as(mex)
    assert client.post(f"/exchange/{submission.id}/reply", data={"body": "Here is the answer."}).status_code == 302
    db.session.expire_all()
    assert submission.status == "answered" and submission.answered_at is not None
    # answering acknowledges for the party
    assert db.session.get(SubmissionAcknowledgement, (submission.id, party_id("MEX"))).user_id == mex.id
    login_as(author)
    assert client.post(f"/exchange/{submission.id}/close").status_code == 302
    db.session.expire_all()
    assert submission.status == "closed" and submission.closed_by_id == author.id
    login_as(mex)
    response = client.post(f"/exchange/{submission.id}/reply", data={"body": "Late."})
    assert response.status_code == 409 and "not open" in response.data.decode()
    assert [row.outcome for row in audit_rows("exchange.close")] == ["ok"]


@pytest.mark.parametrize(("handling", "tlp", "allowed", "reason"), [
    ("crime_only", "CLEAR", True, None),
    ("crime_only", "GREEN", True, None),
    ("crime_only", "AMBER", True, None),
    ("no_judicial", "AMBER", True, None),
    ("other", "GREEN", True, None),
    ("no_onward", "GREEN", False, "handling_code"),
    ("no_onward", "AMBER", False, "handling_code"),
    ("crime_only", "AMBER+STRICT", False, "tlp"),
    ("crime_only", "RED", False, "tlp"),
    ("no_judicial", "RED", False, "tlp"),
])
def test_forwarding_rules_per_handling_code_and_tlp(handling, tlp, allowed, reason, make_user, login_as, client):
    author = make_user(role="liaison_officer", party_code="GTM")
    extra = {"handling_restrictions": "Not to customs."} if handling == "other" else {}
    submission = make_submission(author, parties=["MEX"], handling_code=handling, tlp=tlp, **extra)
    mex = make_user(role="liaison_officer", party_code="MEX")
    hnd = make_user(role="liaison_officer", party_code="HND")
    login_as(mex)
    page = client.get(f"/exchange/{submission.id}").data.decode()
    assert ('id="forward-heading"' in page) is allowed
    response = client.post(f"/exchange/{submission.id}/forward", data={"parties": ["HND"]})
    db.session.expire_all()
    if allowed:
        assert response.status_code == 302
        assert set(submission.recipient_party_ids) == {party_id("MEX"), party_id("HND")}
        [row] = db.session.scalars(select(SubmissionForward)).all()
        assert (row.from_party_id, row.to_party_id, row.forwarded_by_id) == (party_id("MEX"), party_id("HND"), mex.id)
        [entry] = audit_rows("exchange.forward", actor_user_id=mex.id)
        assert json.loads(entry.details)["to"] == ["HND"] and json.loads(entry.details)["from_party"] == "MEX"
        assert len(notifications_of(hnd)) == 1
        login_as(author)
        assert "MEX → HND" in client.get(f"/exchange/{submission.id}").data.decode()
    else:
        assert response.status_code == 403
        assert submission.recipient_party_ids == [party_id("MEX")]
        assert row_count(SubmissionForward) == 0
        [entry] = audit_rows("exchange.forward", actor_user_id=mex.id)
        assert entry.outcome == "denied" and json.loads(entry.details)["reason"] == reason
        assert notifications_of(hnd) == []
        login_as(hnd)
        assert client.get(f"/exchange/{submission.id}").status_code == 404


def test_the_sender_is_not_bound_by_its_own_handling_code_but_is_by_tlp(make_user):
    author = make_user(role="liaison_officer", party_code="GTM")
    principal = Principal.for_user(author)
    open_one = make_submission(author, parties=["MEX"], handling_code="no_onward", tlp="AMBER")
    assert operations.forward(principal, open_one, ["HND"]) == [party_id("HND")]
    red = make_submission(author, parties=["MEX"], tlp="RED")
    with pytest.raises(operations.ExchangeRefused) as caught:
        operations.forward(principal, red, ["HND"])
    assert caught.value.reason == "tlp"
