"""Who sees and may act on a submission and its thread: the access matrix of every exchange route."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEntry
from portal.exchange.models import Submission, SubmissionReply
from portal.extensions import db
from tests.exchange.factories import make_submission, party_id
from tests.notices.factories import make_network

# viewer name -> (role, party)
VIEWERS = {
    "sender": ("liaison_officer", "GTM"),
    "sender_admin": ("country_admin", "GTM"),
    "recipient": ("liaison_officer", "MEX"),
    "network_member": ("liaison_officer", "CRI"),
    "non_recipient": ("liaison_officer", "PAN"),
    "secretariat": ("secretariat_admin", "TS"),
    "observer_country": ("country_admin", "ARG"),
    "recipient_border_officer": ("border_officer", "MEX"),
    "recipient_observer_role": ("observer", "MEX"),
}
SEES = {"sender", "sender_admin", "recipient", "network_member"}
NO_PERMISSION = {"recipient_border_officer", "recipient_observer_role"}


def _audit(action, **where):
    stmt = select(AuditEntry).where(AuditEntry.action == action)
    for key, value in where.items():
        stmt = stmt.where(getattr(AuditEntry, key) == value)
    return db.session.scalars(stmt.order_by(AuditEntry.seq)).all()


@pytest.fixture
def sent(make_user):
    """GTM sends to MEX and to a network holding CRI."""
    network = make_network("XNET", ["CRI"])
    author = make_user(role="liaison_officer", party_code="GTM")
    return make_submission(author, parties=["MEX"], networks=[network.code], tlp="AMBER")


def _expected_read(viewer: str) -> int:
    if viewer in NO_PERMISSION:
        return 403
    return 200 if viewer in SEES else 404


@pytest.mark.parametrize("viewer", sorted(VIEWERS))
def test_detail_page_and_api_matrix(viewer, sent, make_user, login_as, client):
    from tests.exchange.test_api import bearer

    role, code = VIEWERS[viewer]
    user = make_user(role=role, party_code=code)
    login_as(user)
    assert client.get(f"/exchange/{sent.id}").status_code == _expected_read(viewer)
    headers = bearer(user, "exchange:read")
    api = client.get(f"/api/v1/submissions/{sent.id}", headers=headers)
    assert api.status_code == _expected_read(viewer)
    inbox = client.get("/exchange/")
    if viewer in NO_PERMISSION:
        assert inbox.status_code == 403
    else:
        assert inbox.status_code == 200
        listed = sent.title in inbox.data.decode() or sent.title in client.get("/exchange/sent").data.decode()
        assert listed is (viewer in SEES)
    if _expected_read(viewer) == 404:
        denied = _audit("submissions.access", actor_user_id=user.id, outcome="denied")
        assert [row.object_id for row in denied] == [str(sent.id), str(sent.id)]


@pytest.mark.parametrize("viewer", sorted(VIEWERS))
def test_post_routes_matrix(viewer, sent, make_user, login_as, client):
    """Every POST: invisible -> 404, no permission -> 403, and the role in the workflow decides the rest."""
    role, code = VIEWERS[viewer]
    user = make_user(role=role, party_code=code)
    login_as(user)
    base = f"/exchange/{sent.id}"
    statuses = {
        "acknowledge": client.post(base + "/acknowledge").status_code,
        "reply": client.post(base + "/reply", data={"body": "Noted."}).status_code,
        "forward": client.post(base + "/forward", data={"parties": ["HND"]}).status_code,
        "close": client.post(base + "/close").status_code,
        "send": client.post(base + "/send").status_code,
    }
    if viewer in NO_PERMISSION:
        assert set(statuses.values()) == {403}
    elif viewer not in SEES:
        assert set(statuses.values()) == {404}
    elif viewer in ("sender", "sender_admin"):
        # the sender cannot acknowledge its own submission; it may reply, forward and close; it was sent already
        assert statuses == {"acknowledge": 403, "reply": 302, "forward": 302, "close": 302, "send": 409}
    else:
        # a recipient acknowledges, replies and (crime_only handling, AMBER) forwards; it cannot close or send
        assert statuses == {"acknowledge": 302, "reply": 302, "forward": 302, "close": 403, "send": 403}
    db.session.expire_all()
    assert db.session.get(Submission, sent.id).status == {
        "sender": "closed", "sender_admin": "closed", "recipient": "answered", "network_member": "answered",
    }.get(viewer, "sent")


def test_a_draft_is_seen_only_by_the_sending_party(make_user, login_as, client):
    author = make_user(role="liaison_officer", party_code="GTM")
    draft = make_submission(author, send=False, parties=["MEX"])
    assert draft.status == "draft"
    login_as(make_user(role="liaison_officer", party_code="MEX"))
    assert client.get(f"/exchange/{draft.id}").status_code == 404
    assert client.post(f"/exchange/{draft.id}/acknowledge").status_code == 404
    login_as(make_user(role="country_admin", party_code="GTM"))
    assert client.get(f"/exchange/{draft.id}").status_code == 200


def _reply_ids(viewer_user, submission, client, login_as):
    login_as(viewer_user)
    html = client.get(f"/exchange/{submission.id}").data.decode()
    return {reply.id for reply in db.session.scalars(select(SubmissionReply)) if f'id="reply-{reply.id}"' in html}


def test_replies_never_widen_and_may_narrow(make_user, login_as, client):
    author = make_user(role="liaison_officer", party_code="GTM")
    submission = make_submission(author, parties=["MEX", "HND"])
    mex = make_user(role="liaison_officer", party_code="MEX")
    hnd = make_user(role="liaison_officer", party_code="HND")
    pan = make_user(role="liaison_officer", party_code="PAN")

    login_as(mex)
    # to the sender only: restricted; HND, also a recipient, never sees it
    assert client.post(f"/exchange/{submission.id}/reply",
                       data={"body": "Only for GTM.", "audience": ["GTM"]}).status_code == 302
    # a wider audience (PAN sees nothing of the submission) is refused as a field error, nothing stored
    before = db.session.scalar(select(SubmissionReply.id).order_by(SubmissionReply.id.desc()))
    response = client.post(f"/exchange/{submission.id}/reply", data={"body": "To PAN too.", "audience": ["PAN"]})
    assert response.status_code == 400
    assert "not a valid choice" in response.data.decode()
    assert db.session.scalar(select(SubmissionReply.id).order_by(SubmissionReply.id.desc())) == before
    login_as(hnd)
    assert client.post(f"/exchange/{submission.id}/reply", data={"body": "For everyone."}).status_code == 302

    private, public = db.session.scalars(select(SubmissionReply).order_by(SubmissionReply.id)).all()
    assert private.restricted is True and public.restricted is False
    assert private.tlp == public.tlp == submission.tlp
    assert _reply_ids(author, submission, client, login_as) == {private.id, public.id}
    assert _reply_ids(mex, submission, client, login_as) == {private.id, public.id}
    assert _reply_ids(hnd, submission, client, login_as) == {public.id}
    login_as(pan)
    assert client.get(f"/exchange/{submission.id}").status_code == 404
    audit = _audit("exchange.reply", actor_user_id=mex.id)
    assert json.loads(audit[0].details)["parties"] == ["GTM", "MEX"] and json.loads(audit[0].details)["restricted"]


def test_reply_visibility_requires_the_submission(make_user):
    """Even a reply listing a party is invisible to it when the submission is not (defence in depth)."""
    from portal.access import set_distribution, visible
    from portal.principal import Principal

    author = make_user(role="liaison_officer", party_code="GTM")
    submission = make_submission(author, parties=["MEX"])
    reply = SubmissionReply(submission_id=submission.id, body="x", owner_party_id=party_id("GTM"),
                            created_by_id=author.id, distribution_level="parties", tlp="AMBER")
    db.session.add(reply)
    db.session.flush()
    set_distribution(reply, level="parties", tlp="AMBER", party_ids=[party_id("PAN")])
    pan = Principal.for_user(make_user(role="liaison_officer", party_code="PAN"))
    assert db.session.scalars(visible(SubmissionReply, pan)).all() == []
    mex = Principal.for_user(make_user(role="liaison_officer", party_code="MEX"))
    assert db.session.scalars(visible(SubmissionReply, mex)).all() == []  # listed neither for MEX


def test_forwarded_party_sees_the_submission_but_not_the_earlier_thread(make_user, login_as, client):
    author = make_user(role="liaison_officer", party_code="GTM")
    submission = make_submission(author, parties=["MEX"], tlp="GREEN", handling_code="no_judicial")
    mex = make_user(role="liaison_officer", party_code="MEX")
    login_as(mex)
    client.post(f"/exchange/{submission.id}/reply", data={"body": "Before the forward."})
    assert client.post(f"/exchange/{submission.id}/forward", data={"parties": ["HND"]}).status_code == 302
    client.post(f"/exchange/{submission.id}/reply", data={"body": "After the forward."})
    login_as(make_user(role="liaison_officer", party_code="HND"))
    html = client.get(f"/exchange/{submission.id}").data.decode()
    assert "After the forward." in html and "Before the forward." not in html
