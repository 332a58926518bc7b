"""The exchange machine API: scopes, scoping (invisible = 404), validation per field, boxes, acknowledgement."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from auth.tokens import create_token
from portal.audit.models import AuditEntry
from portal.exchange.models import Submission, SubmissionAcknowledgement
from portal.extensions import db
from portal.notifications.models import Notification
from tests.exchange.factories import make_submission, party_id, submission_input


def bearer(user, *scopes) -> dict:
    _token, secret = create_token(user, name="exchange client", scopes=scopes or ("directory:read",))
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def _count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(Submission.id)))


def _audit(action, **where):
    stmt = select(AuditEntry).where(AuditEntry.action == action)
    for key, value in where.items():
        stmt = stmt.where(getattr(AuditEntry, key) == value)
    return db.session.scalars(stmt.order_by(AuditEntry.seq)).all()


def test_post_creates_and_sends(make_user, client):
    author = make_user(role="liaison_officer", party_code="GTM")
    mex = make_user(role="liaison_officer", party_code="MEX")
    response = client.post("/api/v1/submissions", json=submission_input(), headers=bearer(author, "exchange:write"))
    assert response.status_code == 201
    body = response.get_json()
    submission = db.session.get(Submission, body["id"])
    assert body == {"id": submission.id, "reference": submission.reference, "status": "sent"}
    assert response.headers["Location"] == f"/api/v1/submissions/{submission.id}"
    assert submission.created_by_id == author.id and submission.recipient_party_ids == [party_id("MEX")]
    assert len(db.session.scalars(select(Notification).where(Notification.user_id == mex.id)).all()) == 1
    [entry] = _audit("exchange.send", actor_user_id=author.id)
    assert entry.actor_token_id is not None


def test_post_as_draft(make_user, client):
    author = make_user(role="liaison_officer", party_code="GTM")
    response = client.post("/api/v1/submissions", json=submission_input(send=False),
                           headers=bearer(author, "exchange:write"))
    assert response.status_code == 201 and response.get_json()["status"] == "draft"


@pytest.mark.parametrize(("overrides", "fields"), [
    ({"title": None}, {"title"}),
    ({"title": 7}, {"title"}),
    ({"title": "x" * 201}, {"title"}),
    ({"kind": "gossip"}, {"kind"}),
    ({"summary": ""}, {"summary"}),
    ({"body": ["x"]}, {"body"}),
    ({"source_reliability": "E"}, {"source_reliability"}),
    ({"information_accuracy": 1}, {"information_accuracy"}),
    ({"handling_code": "other"}, {"handling_restrictions"}),
    ({"tlp": "WHITE"}, {"tlp"}),
    ({"parties": []}, {"parties"}),
    ({"parties": "MEX"}, {"parties"}),
    ({"parties": ["XYZ"]}, {"parties"}),
    ({"networks": ["NOPE"]}, {"networks"}),
    ({"related_alerts": ["1"]}, {"related_alerts"}),
    ({"related_alerts": [999999]}, {"related_alerts"}),
    ({"objectives": ["NOPE-1"]}, {"objectives"}),
    ({"kind": "request_for_information"}, {"due_date"}),
    ({"kind": "request_for_information", "due_date": "31/12/2030"}, {"due_date"}),
    ({"related_alerts": [2**70]}, {"related_alerts"}),
    ({"title": "lone \ud800 surrogate"}, {"title"}),
    ({"body": "nul \x00 byte"}, {"body"}),
    ({"parties": ["M\x00"]}, {"parties"}),
    ({"send": "yes"}, {"send"}),
    ({"colour": "red"}, {"colour"}),
    ({"title": "", "tlp": "WHITE", "parties": ["XYZ"]}, {"title", "tlp", "parties"}),
])
def test_post_validation_one_message_per_field_nothing_stored(overrides, fields, make_user, client):
    author = make_user(role="liaison_officer", party_code="GTM")
    headers = bearer(author, "exchange:write")
    before = _count()
    data = {key: value for key, value in submission_input(**overrides).items() if value is not None}
    response = client.post("/api/v1/submissions", json=data, headers=headers)
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "invalid input" and set(body["fields"]) == fields
    assert all(isinstance(message, str) and message for message in body["fields"].values())
    assert _count() == before
    assert _audit("exchange.create") == []


def test_post_not_json_is_400(make_user, client):
    headers = bearer(make_user(role="liaison_officer", party_code="GTM"), "exchange:write")
    response = client.post("/api/v1/submissions", data="title=x", headers=headers)
    assert response.status_code == 400 and "body" in response.get_json()["fields"]
    assert client.post("/api/v1/submissions", json=["x"], headers=headers).status_code == 400


def test_scopes_and_permission(make_user, client):
    author = make_user(role="liaison_officer", party_code="GTM")
    submission = make_submission(author, parties=["MEX"])
    read_only = bearer(author, "exchange:read")
    assert client.post("/api/v1/submissions", json=submission_input(), headers=read_only).status_code == 403
    write_only = bearer(author, "exchange:write")
    assert client.get(f"/api/v1/submissions/{submission.id}", headers=write_only).status_code == 403
    assert client.get("/api/v1/submissions", headers=write_only).status_code == 403
    assert client.get("/api/v1/submissions").status_code == 401
    # a border officer's token with exchange scopes: the role lacks exchange_intelligence, so 403 (audited)
    border = make_user(role="border_officer", party_code="MEX")
    headers = bearer(border, "exchange:read", "exchange:write")
    assert client.get(f"/api/v1/submissions/{submission.id}", headers=headers).status_code == 403
    assert client.get("/api/v1/submissions", headers=headers).status_code == 403
    assert client.post("/api/v1/submissions", json=submission_input(), headers=headers).status_code == 403
    assert client.post(f"/api/v1/submissions/{submission.id}/acknowledge", json={}, headers=headers).status_code == 403
    assert len(db.session.scalars(select(AuditEntry).where(AuditEntry.actor_user_id == border.id,
                                                          AuditEntry.outcome == "denied")).all()) == 4


def test_detail_scoping_and_content(make_user, client):
    author = make_user(role="liaison_officer", party_code="GTM")
    submission = make_submission(author, parties=["MEX", "HND"], body="Hello <script>x</script> **there**")
    mex = make_user(role="liaison_officer", party_code="MEX")
    hnd = make_user(role="liaison_officer", party_code="HND")
    from portal.exchange import operations
    from portal.principal import Principal

    operations.reply(Principal.for_user(mex), submission, body="For GTM only", audience=["GTM"])
    operations.acknowledge(Principal.for_user(hnd), submission)
    db.session.commit()

    as_hnd = client.get(f"/api/v1/submissions/{submission.id}", headers=bearer(hnd, "exchange:read")).get_json()
    assert as_hnd["reference"] == submission.reference and as_hnd["recipients"] == ["HND", "MEX"]
    assert as_hnd["replies"] == []  # the MEX reply went to GTM only
    assert [ack["party"] for ack in as_hnd["acknowledgements"]] == ["HND"]
    assert "<script" not in as_hnd["body_html"] and "<strong>there</strong>" in as_hnd["body_html"]
    as_gtm = client.get(f"/api/v1/submissions/{submission.id}", headers=bearer(author, "exchange:read")).get_json()
    assert [(r["party"], r["body"], r["restricted"], r["audience"]) for r in as_gtm["replies"]] == [
        ("MEX", "For GTM only", True, ["GTM", "MEX"])]
    assert sorted(ack["party"] for ack in as_gtm["acknowledgements"]) == ["HND", "MEX"]  # MEX by replying

    pan = make_user(role="liaison_officer", party_code="PAN")
    response = client.get(f"/api/v1/submissions/{submission.id}", headers=bearer(pan, "exchange:read"))
    assert response.status_code == 404
    assert client.get("/api/v1/submissions/999999", headers=bearer(pan, "exchange:read")).status_code == 404
    denied = _audit("submissions.access", actor_user_id=pan.id, outcome="denied")
    assert [row.object_id for row in denied] == [str(submission.id), "999999"]
    views = _audit("exchange.view", actor_user_id=hnd.id)
    assert [json.loads(row.details)["via"] for row in views] == ["api"]


def test_boxes(make_user, client):
    author = make_user(role="liaison_officer", party_code="GTM")
    first = make_submission(author, parties=["MEX"], title="To MEX")
    make_submission(author, parties=["HND"], title="To HND")
    draft = make_submission(author, parties=["MEX"], send=False, title="Draft to MEX")
    mex = make_user(role="liaison_officer", party_code="MEX")
    headers = bearer(mex, "exchange:read")
    inbox = client.get("/api/v1/submissions?box=inbox", headers=headers).get_json()
    assert [item["title"] for item in inbox["items"]] == ["To MEX"]
    assert inbox["unread"] == 1 and inbox["items"][0]["unread"] is True
    client.get(f"/api/v1/submissions/{first.id}", headers=headers)
    assert client.get("/api/v1/submissions", headers=headers).get_json()["unread"] == 0
    assert client.get("/api/v1/submissions?box=sent", headers=headers).get_json()["items"] == []
    sent = client.get("/api/v1/submissions?box=sent", headers=bearer(author, "exchange:read")).get_json()
    assert {item["title"] for item in sent["items"]} == {"To MEX", "To HND", "Draft to MEX"}
    assert {item["status"] for item in sent["items"] if item["id"] == draft.id} == {"draft"}
    bad = client.get("/api/v1/submissions?box=trash&per_page=0", headers=headers)
    assert bad.status_code == 422 and set(bad.get_json()["fields"]) == {"box", "per_page"}


def test_acknowledge(make_user, client):
    author = make_user(role="liaison_officer", party_code="GTM")
    submission = make_submission(author, parties=["MEX"])
    mex = make_user(role="liaison_officer", party_code="MEX")
    headers = bearer(mex, "exchange:write")
    response = client.post(f"/api/v1/submissions/{submission.id}/acknowledge", json={}, headers=headers)
    assert response.status_code == 200
    assert response.get_json()["party"] == "MEX" and response.get_json()["status"] == "acknowledged"
    ack = db.session.get(SubmissionAcknowledgement, (submission.id, party_id("MEX")))
    assert ack.user_id == mex.id
    again = client.post(f"/api/v1/submissions/{submission.id}/acknowledge", json={}, headers=headers)
    assert again.status_code == 409 and again.get_json()["error"] == "already_acknowledged"
    assert client.post(f"/api/v1/submissions/{submission.id}/acknowledge", json={"x": 1},
                       headers=headers).status_code == 422
    assert client.post(f"/api/v1/submissions/{submission.id}/acknowledge", data="x",
                       headers=headers).status_code == 400
    sender = client.post(f"/api/v1/submissions/{submission.id}/acknowledge", json={},
                         headers=bearer(author, "exchange:write"))
    assert sender.status_code == 403 and sender.get_json()["error"] == "not_recipient"
    pan = make_user(role="liaison_officer", party_code="PAN")
    assert client.post(f"/api/v1/submissions/{submission.id}/acknowledge", json={},
                       headers=bearer(pan, "exchange:write")).status_code == 404
    draft = make_submission(author, parties=["MEX"], send=False)
    assert client.post(f"/api/v1/submissions/{draft.id}/acknowledge", json={}, headers=headers).status_code == 404


def test_openapi_describes_the_exchange_routes(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert set(document["paths"]["/api/v1/submissions"]) == {"get", "post"}
    assert document["paths"]["/api/v1/submissions/{submission_id}"]["get"]["x-required-scope"] == "exchange:read"
    assert document["paths"]["/api/v1/submissions/{submission_id}/acknowledge"]["post"]["x-required-scope"] == \
        "exchange:write"
    assert document["components"]["schemas"]["SubmissionInput"]["additionalProperties"] is False
