"""The boxes, unread and overdue counts, and the audited read of a submission (``portal.exchange.queries``)."""

from __future__ import annotations

import json
from datetime import timedelta

from portal.extensions import db
from portal.timeutil import utcnow
from tests.exchange.factories import (
    audit_rows,
    make_submission,
)


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
    [row] = audit_rows("exchange.view", actor_user_id=mex.id)
    assert (row.object_id, row.object_party, json.loads(row.details)["via"]) == (str(submission.id), "GTM", "web")
