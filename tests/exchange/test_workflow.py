"""Writing, sending, acknowledging, forwarding, notifying, rendering and validating submissions."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from portal.audit.models import AuditEntry
from portal.exchange import operations
from portal.exchange.models import Submission, SubmissionAcknowledgement, SubmissionForward
from portal.extensions import db
from portal.notifications.models import Notification
from portal.outbox.models import OutboxMessage
from portal.principal import Principal
from portal.timeutil import utcnow
from tests.exchange.factories import make_submission, party_id, submission_input
from tests.notices.factories import make_network


def _audit(action, **where):
    stmt = select(AuditEntry).where(AuditEntry.action == action)
    for key, value in where.items():
        stmt = stmt.where(getattr(AuditEntry, key) == value)
    return db.session.scalars(stmt.order_by(AuditEntry.seq)).all()


def _notes(user):
    return db.session.scalars(select(Notification).where(Notification.user_id == user.id)).all()


def _mails(user):
    return [m for m in db.session.scalars(select(OutboxMessage)) if m.recipient == user.email]


def _count(model):
    return db.session.scalar(select(func.count()).select_from(model))


# --- writing ------------------------------------------------------------------------------------------

def _form(**overrides):
    data = {**submission_input(), "action": "send"}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_send_from_the_form_stores_encrypts_audits_and_links_objectives(make_user, login_as, client):
    from tests.alerts.factories import report

    author = make_user(role="liaison_officer", party_code="GTM")
    alert = report(author, tlp="AMBER", distribution={"level": "party"})
    db.session.commit()
    login_as(author)
    response = client.post("/exchange/new", data=_form(related_alerts=[str(alert.id)], networks=None))
    submission = db.session.scalar(select(Submission).order_by(Submission.id.desc()))
    assert response.status_code == 302 and response.headers["Location"] == f"/exchange/{submission.id}"
    assert (submission.status, submission.kind, submission.tlp, submission.handling_code) == (
        "sent", "immigration_control", "AMBER", "crime_only")
    assert submission.recipient_party_ids == [party_id("MEX")]
    assert submission.objectives == ["ERX-COO-1", "ERX-COO-3"]
    raw = db.session.execute(text("SELECT title, summary, body FROM submissions WHERE id = :id"),
                             {"id": submission.id}).one()
    assert all("Forged" not in value and "visas" not in value and "Findings" not in value for value in raw)
    [created] = _audit("exchange.create", actor_user_id=author.id)
    [sent] = _audit("exchange.send", actor_user_id=author.id)
    assert created.object_id == sent.object_id == str(submission.id)
    assert json.loads(sent.details) == {"reference": submission.reference, "kind": "immigration_control",
                                        "tlp": "AMBER", "recipients": 1}
    assert sent.objective_codes == ["ERX-COO-1", "ERX-COO-3"]
    assert operations.related_alerts(Principal.for_user(author), submission) == [alert]


def test_kind_defaults_objectives_and_explicit_ones_win(make_user):
    author = make_user(role="liaison_officer", party_code="GTM")
    assert make_submission(author, kind="extra_regional_flows").objectives == ["ERX-COO-3"]
    assert make_submission(author, kind="document_specimens").objectives == ["ERX-COO-1"]
    assert make_submission(author, kind="other").objectives == ["ERX-COO-1", "ERX-COO-3"]
    assert make_submission(author, objectives=["ERX-COO-4"]).objectives == ["ERX-COO-4"]


def test_save_draft_then_send(make_user, login_as, client):
    author = make_user(role="liaison_officer", party_code="GTM")
    mex = make_user(role="liaison_officer", party_code="MEX")
    login_as(author)
    assert client.post("/exchange/new", data=_form(action="draft")).status_code == 302
    draft = db.session.scalar(select(Submission).order_by(Submission.id.desc()))
    assert draft.status == "draft" and draft.sent_at is None and _notes(mex) == []
    assert client.post(f"/exchange/{draft.id}/send").status_code == 302
    db.session.expire_all()
    assert draft.status == "sent" and draft.sent_at is not None
    assert len(_notes(mex)) == 1


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"title": ""}, "title", "This field is required."),
    ({"title": "x" * 201}, "title", "Field cannot be longer than 200 characters."),
    ({"kind": "gossip"}, "kind", "Not a valid choice"),
    ({"summary": ""}, "summary", "This field is required."),
    ({"body": ""}, "body", "This field is required."),
    ({"source_reliability": "D"}, "source_reliability", "Not a valid choice"),
    ({"information_accuracy": "5"}, "information_accuracy", "Not a valid choice"),
    ({"handling_code": "none"}, "handling_code", "Not a valid choice"),
    ({"handling_code": "other"}, "handling_restrictions", "State the restrictions that apply."),
    ({"tlp": "PURPLE"}, "tlp", "Not a valid choice"),
    ({"parties": None}, "parties", "Choose at least one recipient party or network."),
    ({"parties": ["PAN", "ARG"]}, "parties", "not a valid choice"),
    ({"parties": ["GTM"]}, "parties", "not a valid choice"),
    ({"networks": ["NOPE"]}, "networks", "not a valid choice"),
    ({"related_alerts": ["999999"]}, "related_alerts", "not a valid choice"),
    ({"objectives": ["MPM-2"]}, "objectives", "not a valid choice"),
    ({"kind": "request_for_information"}, "due_date", "A request for information needs a due date."),
    ({"due_date": "2030-01-01"}, "due_date", "Only a request for information has a due date."),
    ({"kind": "request_for_information", "due_date": "2001-01-01"}, "due_date", "cannot be in the past"),
    ({"kind": "request_for_information", "due_date": "tomorrow"}, "due_date", "Not a valid date value."),
])
def test_form_validation_names_the_field_and_stores_nothing(overrides, field, message, make_user, login_as,
                                                            client):
    login_as(make_user(role="liaison_officer", party_code="GTM"))
    before = (_count(Submission), _count(Notification), _count(OutboxMessage))
    response = client.post("/exchange/new", data=_form(**overrides))
    assert response.status_code == 400
    html = response.data.decode()
    start = html.index(f'id="{field}"')
    end = html.index('<div class="mb-3">', start) if '<div class="mb-3">' in html[start:] else len(html)
    assert message in html[start:end], (field, message)
    assert (_count(Submission), _count(Notification), _count(OutboxMessage)) == before
    assert _audit("exchange.create") == []


def test_related_alerts_must_be_visible_to_the_sender(make_user):
    from tests.alerts.factories import report

    other = make_user(role="liaison_officer", party_code="HND")
    hidden = report(other, tlp="AMBER", distribution={"level": "party"})
    author = make_user(role="liaison_officer", party_code="GTM")
    with pytest.raises(operations.SubmissionInvalid) as caught:
        operations.clean_submission(Principal.for_user(author), submission_input(related_alerts=[hidden.id]))
    assert caught.value.errors == {"related_alerts": "Relate only alerts you can see."}


def test_roles_without_exchange_intelligence_get_403(make_user, login_as, client):
    for role, code in (("border_officer", "GTM"), ("observer", "GTM")):
        login_as(make_user(role=role, party_code=code))
        assert client.get("/exchange/new").status_code == 403
        assert client.post("/exchange/new", data=_form()).status_code == 403
    assert _count(Submission) == 0


# --- acknowledgements ---------------------------------------------------------------------------------

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
    assert [row.outcome for row in _audit("exchange.acknowledge")] == ["ok", "denied"]
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
    [note] = [n for n in _notes(author) if n.kind == "exchange.acknowledged" and "MEX" in n.title]
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
    assert [row.outcome for row in _audit("exchange.close")] == ["ok"]


# --- forwarding ---------------------------------------------------------------------------------------

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
        [entry] = _audit("exchange.forward", actor_user_id=mex.id)
        assert json.loads(entry.details)["to"] == ["HND"] and json.loads(entry.details)["from_party"] == "MEX"
        assert len(_notes(hnd)) == 1
        login_as(author)
        assert "MEX → HND" in client.get(f"/exchange/{submission.id}").data.decode()
    else:
        assert response.status_code == 403
        assert submission.recipient_party_ids == [party_id("MEX")]
        assert _count(SubmissionForward) == 0
        [entry] = _audit("exchange.forward", actor_user_id=mex.id)
        assert entry.outcome == "denied" and json.loads(entry.details)["reason"] == reason
        assert _notes(hnd) == []
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


def test_forward_input_errors(make_user):
    author = make_user(role="liaison_officer", party_code="GTM")
    submission = make_submission(author, parties=["MEX"], tlp="GREEN")
    principal = Principal.for_user(author)
    for codes, message in (([], "Choose at least one party"), (["MEX"], "already receive"),
                           (["ARG"], "Not a party you can address"), (["GTM"], "Not a party you can address")):
        with pytest.raises(operations.SubmissionInvalid) as caught:
            operations.forward(principal, submission, codes)
        assert message in caught.value.errors["parties"]


def test_a_reply_cannot_reach_beyond_the_audience(make_user):
    author = make_user(role="liaison_officer", party_code="GTM")
    submission = make_submission(author, parties=["MEX"])
    mex = make_user(role="liaison_officer", party_code="MEX")
    for audience, message in ((["PAN"], "already see the submission"), (["MEX"], "at least one other party"),
                              (["ZZZ"], "already see the submission")):
        with pytest.raises(operations.SubmissionInvalid) as caught:
            operations.reply(Principal.for_user(mex), submission, body="x", audience=audience)
        assert message in caught.value.errors["audience"]


# --- notifications ------------------------------------------------------------------------------------

@pytest.mark.parametrize("tlp", ["AMBER", "AMBER+STRICT", "RED"])
def test_restricted_notifications_carry_metadata_only(tlp, make_user):
    author = make_user(role="liaison_officer", party_code="GTM")
    mex = make_user(role="liaison_officer", party_code="MEX", email="mex.officer@mex.example.org")
    mex_border = make_user(role="border_officer", party_code="MEX")
    mex_inactive = make_user(role="liaison_officer", party_code="MEX", active=False)
    pan = make_user(role="liaison_officer", party_code="PAN")
    submission = make_submission(author, parties=["MEX"], tlp=tlp, title="Secret title words",
                                 summary="Secret summary words", body="Secret body words")
    [note] = _notes(mex)
    assert note.title == f"{submission.reference}: Immigration-control intelligence from GTM (TLP:{tlp})"
    assert (note.link, note.tlp, note.kind) == (f"/exchange/{submission.id}", tlp, "exchange.new")
    [mail] = _mails(mex)
    assert mail.subject == note.title
    assert submission.reference in mail.body and f"TLP:{tlp}" in mail.body
    assert "Immigration-control intelligence" in mail.body
    for text_ in (note.title, mail.subject, mail.body):
        assert "Secret" not in text_
    assert _notes(mex_border) == [] and _notes(mex_inactive) == [] and _notes(pan) == [] and _mails(pan) == []
    assert _notes(author) == [] and _mails(author) == []


def test_green_notifications_name_the_title_but_never_the_body(make_user):
    author = make_user(role="liaison_officer", party_code="GTM")
    mex = make_user(role="liaison_officer", party_code="MEX", locale="es")
    submission = make_submission(author, parties=["MEX"], tlp="GREEN", title="Route via Darien",
                                 body="Body detail never mailed")
    [note] = _notes(mex)
    assert "Route via Darien" in note.title and submission.reference in note.title
    [mail] = _mails(mex)
    assert "Route via Darien" in mail.body and "Body detail" not in mail.body


def test_network_recipients_are_notified_and_listed(make_user):
    network = make_network("XNOTE", ["CRI", "ARG"])
    author = make_user(role="liaison_officer", party_code="GTM")
    cri = make_user(role="country_admin", party_code="CRI")
    arg = make_user(role="country_admin", party_code="ARG")
    submission = make_submission(author, parties=[], networks=[network.code])
    # observer parties are never recipients: they only ever see members-wide CLEAR/GREEN records
    assert submission.recipient_party_ids == [party_id("CRI")]
    assert len(_notes(cri)) == 1 and _notes(arg) == []
    assert [n.code for n in operations.submission_networks(submission)] == ["XNOTE"]


def test_replies_notify_their_audience_only(make_user, login_as, client):
    author = make_user(role="liaison_officer", party_code="GTM")
    submission = make_submission(author, parties=["MEX", "HND"], tlp="RED", title="Red secret")
    mex = make_user(role="liaison_officer", party_code="MEX")
    hnd = make_user(role="liaison_officer", party_code="HND")
    login_as(mex)
    client.post(f"/exchange/{submission.id}/reply", data={"body": "Private answer", "audience": ["GTM"]})
    [note] = [n for n in _notes(author) if n.kind == "exchange.reply"]
    assert note.title == f"Reply from MEX on {submission.reference} (TLP:RED)"
    assert [n for n in _notes(hnd) if n.kind == "exchange.reply"] == []
    assert all("Private" not in m.body and "Red secret" not in m.body for m in db.session.scalars(select(OutboxMessage)))


# --- rendering ----------------------------------------------------------------------------------------

def test_body_is_rendered_and_sanitised(make_user, login_as, client):
    author = make_user(role="liaison_officer", party_code="GTM")
    body = ("# Heading\n\n**bold** and [ok](https://example.org/x)\n\n<script>alert('x')</script>\n\n"
            "[bad](javascript:alert(1)) <img src=x onerror=alert(1)> ![ext](https://evil.example/p.png)\n\n"
            "<a href=\"javascript:alert(2)\" onclick=\"alert(3)\">raw</a>")
    submission = make_submission(author, parties=["MEX"], body=body)
    login_as(make_user(role="liaison_officer", party_code="MEX"))
    html = client.get(f"/exchange/{submission.id}").data.decode()
    body_html = html[html.index('id="submission-body"'):html.index('id="acks-heading"')]
    assert "<h1>Heading</h1>" in body_html and "<strong>bold</strong>" in body_html
    assert 'href="https://example.org/x"' in body_html
    tags = _tags(body_html[body_html.index(">") + 1:])
    assert "script" not in {tag for tag, _attrs in tags}
    attributes = [(tag, name, value or "") for tag, attrs in tags for name, value in attrs]
    assert not [a for a in attributes if a[1].startswith("on")]
    assert not [a for a in attributes if a[2].strip().lower().startswith("javascript")]
    assert not [a for a in attributes if a[0] == "img" and a[1] == "src"]  # the external image lost its src
    assert "&lt;script&gt;" in body_html  # raw HTML in the source is shown as text, never run


def _tags(html: str) -> list[tuple[str, list]]:
    from html.parser import HTMLParser

    found = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, attrs))

    Collector().feed(html)
    return found


def test_sanitiser_strips_dangerous_html():
    from portal.exchange.markdown import render, sanitise

    cleaned = sanitise('<p onclick="x">a<script>b()</script><a href="javascript:alert(1)">l</a>'
                       '<img src="x" onerror="alert(1)"><img src="https://evil/p.png"><img src="/static/a.png">'
                       '<a href="https://ok.example">ok</a><iframe src="/x"></iframe><style>p{}</style></p>')
    assert "script" not in cleaned and "b()" not in cleaned
    assert "javascript" not in cleaned and "onerror" not in cleaned and "onclick" not in cleaned
    assert "evil" not in cleaned and "iframe" not in cleaned and "style" not in cleaned
    assert '<img src="/static/a.png">' in cleaned and 'href="https://ok.example"' in cleaned
    assert str(render("[x](javascript:alert(1))")) == "<p>[x](javascript:alert(1))</p>\n"
    assert "<img" not in str(render("![x](//evil.example/p.png)")).replace("<img alt=\"x\">", "")


# --- boxes, unread, overdue ---------------------------------------------------------------------------

def test_inbox_and_sent_box_with_unread_counts_per_user(make_user, login_as, client):
    author = make_user(role="liaison_officer", party_code="GTM")
    first = make_submission(author, parties=["MEX"], title="First one")
    make_submission(author, parties=["MEX"], title="Second one")
    reader = make_user(role="liaison_officer", party_code="MEX")
    colleague = make_user(role="country_admin", party_code="MEX")
    login_as(reader)
    html = client.get("/exchange/").data.decode()
    assert "First one" in html and "Second one" in html and "2 unread" in html
    client.get(f"/exchange/{first.id}")
    assert "1 unread" in client.get("/exchange/").data.decode()
    login_as(colleague)
    assert "2 unread" in client.get("/exchange/").data.decode()  # read marks are per user
    # a reply from someone else makes the thread unread again, for the sender too
    login_as(author)
    client.get(f"/exchange/{first.id}")
    sent_html = client.get("/exchange/sent").data.decode()
    assert 'id="sent-unread"' not in sent_html and "First one" in sent_html
    login_as(reader)
    client.post(f"/exchange/{first.id}/reply", data={"body": "News."})
    login_as(author)
    assert "1 unread" in client.get("/exchange/sent").data.decode()


def test_overdue_requests_for_information_are_highlighted(make_user, login_as, client):
    author = make_user(role="liaison_officer", party_code="GTM")
    late = make_submission(author, parties=["MEX"], kind="request_for_information",
                           due_date=(utcnow().date() + timedelta(days=1)).isoformat())
    late.due_date = utcnow().date() - timedelta(days=2)  # the due date has passed since it was sent
    db.session.commit()
    make_submission(author, parties=["MEX"], kind="request_for_information",
                    due_date=(utcnow().date() + timedelta(days=5)).isoformat(), title="Not late")
    login_as(make_user(role="liaison_officer", party_code="MEX"))
    html = client.get("/exchange/").data.decode()
    assert "1 request for information is overdue." in html
    row = html[html.index(f'id="submission-row-{late.id}"'):]
    assert row.startswith(f'id="submission-row-{late.id}"') and "overdue" in row[:row.index("</tr>")]
    assert "table-danger" in html[html.rindex("<tr", 0, html.index(f'id="submission-row-{late.id}"')):
                                  html.index(f'id="submission-row-{late.id}"')]
    assert 'id="submission-overdue"' in client.get(f"/exchange/{late.id}").data.decode()


def test_view_is_audited(make_user, login_as, client):
    author = make_user(role="liaison_officer", party_code="GTM")
    submission = make_submission(author, parties=["MEX"])
    mex = make_user(role="liaison_officer", party_code="MEX")
    login_as(mex)
    client.get(f"/exchange/{submission.id}")
    [row] = _audit("exchange.view", actor_user_id=mex.id)
    assert (row.object_id, row.object_party, json.loads(row.details)["via"]) == (str(submission.id), "GTM", "web")
