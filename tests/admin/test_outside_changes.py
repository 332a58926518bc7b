"""Accounts made in a party by someone outside it are seen by that party (issue 11, section 3).

The secretariat creates country-admin accounts by design; it could create ``shadow@...`` as a MEX country
admin and read MEX's party-only records, and MEX was not told. Now every active administrator of the
party is told at once (in-app and by e-mail), and the party's accounts page lists such accounts.
"""

from __future__ import annotations

from sqlalchemy import select

from auth.models import User
from portal.extensions import db
from portal.notifications.models import Notification
from portal.outbox.models import OutboxMessage


def _mails_to(user) -> list[OutboxMessage]:
    return [m for m in db.session.scalars(select(OutboxMessage)) if m.recipient == user.email]


def _notes_of(user) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user.id)))


def test_the_party_is_told_when_the_secretariat_creates_one_of_its_accounts(client, make_user, login_as):
    mex_admin = make_user(role="country_admin", party_code="MEX")
    mex_officer = make_user(role="liaison_officer", party_code="MEX")
    login_as(make_user(role="secretariat_admin", party_code="TS"))
    response = client.post("/admin/users/new", data={
        "email": "shadow@sre.gob.mx", "full_name": "Shadow Admin", "role": "country_admin", "party": "MEX"})
    assert response.status_code == 302
    shadow = User.find_by_email("shadow@sre.gob.mx")
    [note] = _notes_of(mex_admin)
    assert note.kind == "admin.outside_created" and "TS" in note.title and "Shadow Admin" in note.title
    assert note.link == f"/admin/users/{shadow.id}"
    [mail] = [m for m in _mails_to(mex_admin) if "outside" in m.subject]
    assert f"/admin/users/{shadow.id}" in mail.body
    assert _notes_of(mex_officer) == []  # only the party's administrators
    assert not [m for m in _mails_to(shadow) if "outside" in m.subject]  # not the new account itself


def test_the_party_is_not_told_of_its_own_changes(client, make_user, login_as):
    other_admin = make_user(role="country_admin", party_code="GTM")
    login_as(make_user(role="country_admin", party_code="GTM"))
    response = client.post("/admin/users/new", data={
        "email": "colleague@minex.gob.gt", "full_name": "Colleague", "role": "liaison_officer"})
    assert response.status_code == 302
    assert _notes_of(other_admin) == []


def test_a_reactivation_from_outside_is_told(client, make_user, login_as):
    mex_admin = make_user(role="country_admin", party_code="MEX")
    dormant = make_user(role="country_admin", party_code="MEX")
    dormant.active = False
    db.session.commit()
    login_as(make_user(role="secretariat_admin", party_code="TS"))
    assert client.post(f"/admin/users/{dormant.id}/reactivate", data={"confirm": "y"}).status_code == 302
    assert [note.kind for note in _notes_of(mex_admin)] == ["admin.outside_reactivated"]


def test_the_accounts_page_lists_accounts_created_from_outside(client, make_user, login_as, app):
    mex_admin = make_user(role="country_admin", party_code="MEX")
    secretariat = app.test_client()
    login_as(make_user(role="secretariat_admin", party_code="TS"), secretariat)
    secretariat.post("/admin/users/new", data={
        "email": "shadow@sre.gob.mx", "full_name": "Shadow Admin", "role": "country_admin", "party": "MEX"})
    login_as(mex_admin)
    client.post("/admin/users/new", data={
        "email": "own@sre.gob.mx", "full_name": "Own Officer", "role": "liaison_officer"})
    page = client.get("/admin/users").get_data(as_text=True)
    listed = page[page.index('id="from-outside"'):]
    assert "Shadow Admin" in listed and "Own Officer" not in listed
