"""Notices: listing, reading, posting (validation, audit, notifications) and re-sharing."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select, text

from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.notices.models import Notice
from portal.notifications.models import Notification
from portal.timeutil import utcnow
from tests.notices.factories import make_network, make_notice, party_id


def _audit(action, **where):
    stmt = select(AuditEntry).where(AuditEntry.action == action)
    for key, value in where.items():
        stmt = stmt.where(getattr(AuditEntry, key) == value)
    return db.session.scalars(stmt.order_by(AuditEntry.seq)).all()


def _notices_count():
    return db.session.scalar(select(func.count(Notice.id)))


def _notifications(user):
    return db.session.scalars(select(Notification).where(Notification.user_id == user.id)).all()


# --- listing and reading ------------------------------------------------------------------------------

def test_list_is_newest_first_with_tlp_and_owner(make_user, login_as, client):
    author = make_user(role="liaison_officer", party_code="GTM")
    now = utcnow()
    make_notice(author, level="members", tlp="GREEN", title="Older circular", created_at=now - timedelta(days=2))
    make_notice(author, level="members", tlp="AMBER", title="Newer circular", created_at=now - timedelta(days=1))
    login_as(make_user(role="border_officer", party_code="MEX"))
    response = client.get("/notices/")
    assert response.status_code == 200
    html = response.data.decode()
    assert html.index("Newer circular") < html.index("Older circular")
    assert "TLP:GREEN" in html and "TLP:AMBER" in html
    assert ">GTM</abbr>" in html


def test_list_is_paginated(make_user, login_as, client, app, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    author = make_user(role="liaison_officer", party_code="GTM")
    now = utcnow()
    for n in range(3):
        make_notice(author, level="party", tlp="GREEN", title=f"Bulletin {n}", created_at=now - timedelta(hours=n))
    login_as(author)
    first = client.get("/notices/").data.decode()
    second = client.get("/notices/?page=2").data.decode()
    assert "Bulletin 0" in first and "Bulletin 1" in first and "Bulletin 2" not in first
    assert "Bulletin 2" in second and "Bulletin 0" not in second
    assert "Page 1 of 2" in first


def test_detail_shows_content_and_is_audited(make_user, login_as, client):
    author = make_user(role="liaison_officer", party_code="GTM")
    notice = make_notice(author, level="parties", tlp="RED", parties=["MEX", "HND"],
                         title="Route change", body="First paragraph.\n\nSecond <b>paragraph</b>.")
    reader = make_user(role="liaison_officer", party_code="MEX")
    login_as(reader)
    response = client.get(f"/notices/{notice.id}")
    assert response.status_code == 200
    html = response.data.decode()
    assert "Route change" in html and "TLP:RED" in html
    assert "<p>First paragraph.</p>" in html
    assert "Second &lt;b&gt;paragraph&lt;/b&gt;." in html  # escaped, never rendered as markup
    assert "HND, MEX" in html
    assert "do not export or forward" in html
    assert 'id="share-heading"' not in html  # only the owner party may change the distribution
    rows = _audit("notice.view", actor_user_id=reader.id)
    assert [(r.object_id, r.object_party, r.outcome) for r in rows] == [(str(notice.id), "GTM", "ok")]


def test_title_and_body_are_encrypted_at_rest(make_user):
    author = make_user(role="liaison_officer", party_code="GTM")
    notice = make_notice(author, title="Plainly visible title", body="Plainly visible body")
    raw = db.session.execute(text("SELECT title, body FROM notices WHERE id = :id"), {"id": notice.id}).one()
    assert "Plainly" not in raw.title and "Plainly" not in raw.body


# --- posting --------------------------------------------------------------------------------------------

def test_new_form_offers_eligible_parties_and_networks(make_user, login_as, client):
    login_as(make_user(role="liaison_officer", party_code="GTM"))
    response = client.get("/notices/new")
    assert response.status_code == 200
    html = response.data.decode()
    parties = html[html.index('id="parties"'):]
    parties = parties[:parties.index("</fieldset>")]  # checkboxes, not a multi-select
    assert f'value="{party_id("MEX")}"' in parties and f'value="{party_id("TS")}"' in parties
    assert f'value="{party_id("GTM")}"' not in parties  # not the own party
    assert f'value="{party_id("ARG")}"' not in parties  # observers never see listed notices
    assert f'value="{party_id("IOM")}"' not in parties
    assert "LON-CP" in html
    assert '<label class="form-label" for="title">' in html


def test_post_notice_to_listed_parties(make_user, login_as, client):
    author = make_user(role="liaison_officer", party_code="GTM")
    colleague = make_user(role="border_officer", party_code="GTM")
    mex = make_user(role="country_admin", party_code="MEX")
    hnd = make_user(role="liaison_officer", party_code="HND")
    inactive_mex = make_user(role="liaison_officer", party_code="MEX", active=False)
    observer_gtm = make_user(role="observer", party_code="GTM")
    login_as(author)
    response = client.post("/notices/new", data={
        "title": "Forged visas seen", "body": "Details follow.", "tlp": "AMBER",
        "distribution": "parties", "parties": [str(party_id("MEX"))], "network": "",
    })
    notice = db.session.scalar(select(Notice).order_by(Notice.id.desc()))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/notices/{notice.id}"
    assert (notice.title, notice.body, notice.tlp, notice.distribution_level) == (
        "Forged visas seen", "Details follow.", "AMBER", "parties")
    assert notice.owner_party_id == party_id("GTM") and notice.created_by_id == author.id
    assert notice.recipient_party_ids == [party_id("MEX")]
    rows = _audit("notice.create", actor_user_id=author.id)
    assert len(rows) == 1
    assert rows[0].object_party == "GTM" and rows[0].object_id == str(notice.id)
    assert json.loads(rows[0].details) == {"level": "parties", "tlp": "AMBER", "recipients": 1, "network_id": None}
    # Notified: those who can see it, except the author; AMBER carries only a reference, in their language.
    assert _notifications(author) == []
    assert _notifications(hnd) == [] and _notifications(inactive_mex) == [] and _notifications(observer_gtm) == []
    [for_colleague] = _notifications(colleague)
    assert for_colleague.title == f"New notice N-{notice.id} from GTM"
    assert (for_colleague.link, for_colleague.tlp, for_colleague.kind) == (f"/notices/{notice.id}", "AMBER", "notice.new")
    [for_mex] = _notifications(mex)
    assert "Forged" not in for_mex.title
    assert str(notice.id) in for_mex.title


def test_green_notice_notification_names_the_title(make_user, login_as, client):
    author = make_user(role="liaison_officer", party_code="GTM")
    ts = make_user(role="secretariat_admin", party_code="TS")
    arg = make_user(role="country_admin", party_code="ARG")
    login_as(author)
    response = client.post("/notices/new", data={"title": "Meeting on Tuesday", "body": "Room 4.",
                                                 "tlp": "GREEN", "distribution": "members"})
    assert response.status_code == 302
    [note] = _notifications(ts)
    assert note.title == "New notice from GTM: Meeting on Tuesday"
    assert len(_notifications(arg)) == 1  # members + GREEN reaches observers too


def test_post_to_network(make_user, login_as, client):
    network = make_network("POSTNET", ["CRI"])
    author = make_user(role="liaison_officer", party_code="GTM")
    cri = make_user(role="liaison_officer", party_code="CRI")
    login_as(author)
    response = client.post("/notices/new", data={"title": "Net", "body": "B", "tlp": "RED",
                                                 "distribution": "network", "network": str(network.id)})
    assert response.status_code == 302
    notice = db.session.scalar(select(Notice).order_by(Notice.id.desc()))
    assert (notice.distribution_level, notice.network_id) == ("network", network.id)
    assert len(_notifications(cri)) == 1


def _post_invalid(client, **data):
    base = {"title": "T", "body": "B", "tlp": "AMBER", "distribution": "party"}
    base.update(data)
    return client.post("/notices/new", data=base)


def test_post_validation_errors_are_field_errors(make_user, login_as, client):
    login_as(make_user(role="liaison_officer", party_code="GTM"))
    before = _notices_count()
    cases = [
        ({"distribution": "parties"}, "Choose at least one recipient party"),
        ({"distribution": "network", "network": ""}, "Choose the network to distribute to."),
        ({"distribution": "parties", "parties": ["999999"]}, "not a valid choice"),
        ({"distribution": "parties", "parties": [str(party_id("GTM"))]}, "not a valid choice"),
        ({"distribution": "parties", "parties": [str(party_id("ARG"))]}, "not a valid choice"),
        ({"distribution": "parties", "parties": ["abc"]}, "could not be coerced"),
        ({"distribution": "network", "network": "999999"}, "Not a valid choice"),
        ({"tlp": "PURPLE"}, "Not a valid choice"),
        ({"distribution": "world"}, "Not a valid choice"),
        ({"title": ""}, "This field is required."),
        ({"body": "   "}, "This field is required."),
    ]
    for data, message in cases:
        response = _post_invalid(client, **data)
        assert response.status_code == 400, data
        html = response.data.decode()
        assert message in html, (data, message)
        assert "invalid-feedback" in html and "is-invalid" in html
    assert _notices_count() == before
    assert db.session.scalar(select(func.count(Notification.id))) == 0
    assert _audit("notice.create") == []


def test_observer_country_can_post_and_read_back_its_notice(make_user, login_as, client):
    admin = make_user(role="country_admin", party_code="ARG")
    login_as(admin)
    response = client.post("/notices/new", data={"title": "From ARG", "body": "B", "tlp": "AMBER",
                                                 "distribution": "party"})
    assert response.status_code == 302
    assert client.get(response.headers["Location"]).status_code == 200


def test_roles_without_post_notice_get_403(make_user, login_as, client):
    for role, code in (("border_officer", "GTM"), ("observer", "GTM")):
        login_as(make_user(role=role, party_code=code))
        assert client.get("/notices/new").status_code == 403
        assert client.post("/notices/new", data={"title": "x", "body": "y", "tlp": "CLEAR",
                                                 "distribution": "members"}).status_code == 403
    assert _notices_count() == 0


# --- re-sharing -----------------------------------------------------------------------------------------

def test_owner_widens_an_amber_notice_and_new_readers_are_notified(make_user, login_as, client):
    author = make_user(role="liaison_officer", party_code="GTM")
    mex = make_user(role="liaison_officer", party_code="MEX")
    hnd = make_user(role="liaison_officer", party_code="HND")
    notice = make_notice(author, level="parties", tlp="AMBER", parties=["MEX"])
    login_as(author)
    page = client.get(f"/notices/{notice.id}").data.decode()
    assert 'id="share-heading"' in page
    response = client.post(f"/notices/{notice.id}/share", data={
        "distribution": "parties", "parties": [str(party_id("MEX")), str(party_id("HND"))]})
    assert response.status_code == 302
    db.session.refresh(notice)
    assert sorted(notice.recipient_party_ids) == sorted([party_id("MEX"), party_id("HND")])
    assert _notifications(mex) == []  # already a reader
    [note] = _notifications(hnd)
    assert note.kind == "notice.shared" and "N-" in note.title
    [row] = _audit("notice.share", actor_user_id=author.id)
    assert row.outcome == "ok"
    assert json.loads(row.details)["from_level"] == "parties"


def test_red_notice_cannot_be_shared_wider(make_user, login_as, client):
    author = make_user(role="liaison_officer", party_code="GTM")
    notice = make_notice(author, level="parties", tlp="RED", parties=["MEX"])
    login_as(author)
    for data in ({"distribution": "members"},
                 {"distribution": "parties", "parties": [str(party_id("MEX")), str(party_id("CRI"))]}):
        response = client.post(f"/notices/{notice.id}/share", data=data)
        assert response.status_code == 400
        assert "cannot be shared wider than it already is" in response.data.decode()
    db.session.refresh(notice)
    assert (notice.distribution_level, notice.recipient_party_ids) == ("parties", [party_id("MEX")])
    rows = _audit("notice.share", actor_user_id=author.id)
    assert [(r.outcome, json.loads(r.details)["reason"]) for r in rows] == [("denied", "restricted_tlp")] * 2


def test_red_notice_can_be_narrowed(make_user, login_as, client):
    author = make_user(role="liaison_officer", party_code="GTM")
    notice = make_notice(author, level="parties", tlp="AMBER+STRICT", parties=["MEX", "HND"])
    login_as(author)
    response = client.post(f"/notices/{notice.id}/share", data={"distribution": "party"})
    assert response.status_code == 302
    db.session.refresh(notice)
    assert (notice.distribution_level, notice.recipient_party_ids, notice.tlp) == ("party", [], "AMBER+STRICT")


def test_only_the_owner_party_may_reshare(make_user, login_as, client):
    author = make_user(role="liaison_officer", party_code="GTM")
    notice = make_notice(author, level="members", tlp="GREEN")
    hidden = make_notice(author, level="party", tlp="GREEN")
    mex = make_user(role="liaison_officer", party_code="MEX")
    login_as(mex)
    assert client.post(f"/notices/{notice.id}/share", data={"distribution": "party"}).status_code == 403
    assert client.post(f"/notices/{hidden.id}/share", data={"distribution": "members"}).status_code == 404
    db.session.refresh(notice)
    db.session.refresh(hidden)
    assert (notice.distribution_level, hidden.distribution_level) == ("members", "party")
    [row] = _audit("notice.share", actor_user_id=mex.id)
    assert (row.outcome, json.loads(row.details)) == ("denied", {"reason": "not_owner"})


def test_share_validation_error(make_user, login_as, client):
    author = make_user(role="liaison_officer", party_code="GTM")
    notice = make_notice(author, level="party", tlp="GREEN")
    login_as(author)
    response = client.post(f"/notices/{notice.id}/share", data={"distribution": "network", "network": ""})
    assert response.status_code == 400
    assert "Choose the network to distribute to." in response.data.decode()
    db.session.refresh(notice)
    assert notice.distribution_level == "party"


def test_dashboard_lists_only_visible_notices_and_unread_notifications(make_user, login_as, client):
    author = make_user(role="liaison_officer", party_code="GTM")
    make_notice(author, level="members", tlp="GREEN", title="Shared with everyone")
    make_notice(author, level="party", tlp="RED", title="GTM internal")
    reader = make_user(role="liaison_officer", party_code="MEX")
    db.session.add(Notification(user_id=reader.id, kind="notice.new", title="Ping for MEX", link="/notices/", tlp="GREEN"))
    db.session.commit()
    login_as(reader)
    html = client.get("/").data.decode()
    assert "Shared with everyone" in html and "TLP:GREEN" in html
    assert "GTM internal" not in html
    assert "Ping for MEX" in html


def test_create_notice_operation_refuses_bad_recipients(app_ctx, make_user):
    import pytest

    from portal.access import DistributionError
    from portal.notices.operations import create_notice
    from portal.principal import Principal

    author = Principal.for_user(make_user(role="liaison_officer", party_code="GTM"))
    cases = [
        ({"level": "parties", "party_ids": [999999]}, "parties"),
        ({"level": "parties", "party_ids": [party_id("ARG")]}, "parties"),
        ({"level": "parties", "party_ids": []}, "parties"),
        ({"level": "network", "network_id": 999999}, "network"),
        ({"level": "network"}, "network"),
        ({"level": "galaxy"}, "distribution"),
    ]
    for kwargs, field in cases:
        with pytest.raises(DistributionError) as raised:
            create_notice(author, title="T", body="B", tlp="AMBER", **kwargs)
        assert raised.value.field == field, kwargs
    with pytest.raises(DistributionError) as raised:
        create_notice(author, title="T", body="B", tlp="BLACK", level="party")
    assert raised.value.field == "tlp"
    assert _notices_count() == 0


def test_reshare_operation_refuses_wider_for_restricted(app_ctx, make_user):
    import pytest

    from portal.notices.operations import ReshareRefused, reshare_notice
    from portal.principal import Principal

    author = make_user(role="liaison_officer", party_code="GTM")
    notice = make_notice(author, level="party", tlp="AMBER+STRICT")
    with pytest.raises(ReshareRefused):
        reshare_notice(Principal.for_user(author), notice, level="parties", party_ids=[party_id("MEX")])
    assert (notice.distribution_level, notice.recipient_party_ids) == ("party", [])
