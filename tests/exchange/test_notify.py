"""Who is told of a submission, a forward and a reply, and what they are told (``portal.exchange.notify``)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.exchange import queries
from portal.extensions import db
from portal.outbox.models import OutboxMessage
from tests.exchange.factories import (
    mails_of,
    make_submission,
    notifications_of,
    party_id,
)
from tests.notices.factories import make_network


@pytest.mark.parametrize("tlp", ["AMBER", "AMBER+STRICT", "RED"])
def test_restricted_notifications_carry_metadata_only(tlp, make_user):
    author = make_user(role="liaison_officer", party_code="GTM")
    mex = make_user(role="liaison_officer", party_code="MEX", email="mex.officer@mex.example.org")
    mex_border = make_user(role="border_officer", party_code="MEX")
    mex_inactive = make_user(role="liaison_officer", party_code="MEX", active=False)
    pan = make_user(role="liaison_officer", party_code="PAN")
    submission = make_submission(author, parties=["MEX"], tlp=tlp, title="Secret title words",
                                 summary="Secret summary words", body="Secret body words")
    [note] = notifications_of(mex)
    assert note.title == f"{submission.reference}: Immigration-control intelligence from GTM (TLP:{tlp})"
    assert (note.link, note.tlp, note.kind) == (f"/exchange/{submission.id}", tlp, "exchange.new")
    [mail] = mails_of(mex)
    assert mail.subject == note.title
    assert submission.reference in mail.body and f"TLP:{tlp}" in mail.body
    assert "Immigration-control intelligence" in mail.body
    for text_ in (note.title, mail.subject, mail.body):
        assert "Secret" not in text_
    assert notifications_of(mex_border) == [] and notifications_of(mex_inactive) == [] and notifications_of(pan) == [] and mails_of(pan) == []
    assert notifications_of(author) == [] and mails_of(author) == []


def test_green_notifications_name_the_title_but_never_the_body(make_user):
    author = make_user(role="liaison_officer", party_code="GTM")
    mex = make_user(role="liaison_officer", party_code="MEX", locale="es")
    submission = make_submission(author, parties=["MEX"], tlp="GREEN", title="Route via Darien",
                                 body="Body detail never mailed")
    [note] = notifications_of(mex)
    assert "Route via Darien" in note.title and submission.reference in note.title
    [mail] = mails_of(mex)
    assert "Route via Darien" in mail.body and "Body detail" not in mail.body


def test_network_recipients_are_notified_and_listed(make_user):
    network = make_network("XNOTE", ["CRI", "ARG"])
    author = make_user(role="liaison_officer", party_code="GTM")
    cri = make_user(role="country_admin", party_code="CRI")
    arg = make_user(role="country_admin", party_code="ARG")
    submission = make_submission(author, parties=[], networks=[network.code])
    # observer parties are never recipients: they only ever see members-wide CLEAR/GREEN records
    assert submission.recipient_party_ids == [party_id("CRI")]
    assert len(notifications_of(cri)) == 1 and notifications_of(arg) == []
    assert [n.code for n in queries.submission_networks(submission)] == ["XNOTE"]


def test_replies_notify_their_audience_only(make_user, login_as, client):
    author = make_user(role="liaison_officer", party_code="GTM")
    submission = make_submission(author, parties=["MEX", "HND"], tlp="RED", title="Red secret")
    mex = make_user(role="liaison_officer", party_code="MEX")
    hnd = make_user(role="liaison_officer", party_code="HND")
    login_as(mex)
    client.post(f"/exchange/{submission.id}/reply", data={"body": "Private answer", "audience": ["GTM"]})
    [note] = [n for n in notifications_of(author) if n.kind == "exchange.reply"]
    assert note.title == f"Reply from MEX on {submission.reference} (TLP:RED)"
    assert [n for n in notifications_of(hnd) if n.kind == "exchange.reply"] == []
    assert all("Private" not in m.body and "Red secret" not in m.body for m in db.session.scalars(select(OutboxMessage)))
