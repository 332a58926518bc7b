"""Account administration: creating accounts, set-password links, two-factor resets, deactivation,
role changes, the accounts list and the parties page; with their audit entries."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from auth.models import ApiToken, PasswordResetToken, RecoveryCode, User, UserSession
from auth.tokens import create_token
from portal.admin.operations import issue_password_reset, reset_two_factor
from portal.audit.models import AuditEntry
from portal.crypto import token_digest
from portal.extensions import db
from portal.outbox.models import OutboxMessage
from portal.timeutil import utcnow


def _head() -> int:
    return db.session.scalar(select(func.max(AuditEntry.seq))) or 0


def _entries_since(seq: int, action: str | None = None) -> list[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.seq > seq).order_by(AuditEntry.seq)
    if action:
        query = query.where(AuditEntry.action == action)
    return db.session.scalars(query).all()


def _outbox_ids() -> set[int]:
    return set(db.session.scalars(select(OutboxMessage.id)))


def _as(client, login_as, user):
    """Sign ``user`` in on ``client`` (a fresh client when None) and forget the previous request's user.

    The test's app context (conftest) outlives requests, and Flask-Login caches the signed-in user on
    ``g`` for the life of the app context: switching users in one test must clear that cache.
    """
    from flask import g

    g.pop("_login_user", None)
    return login_as(user, client)


def _forget_user() -> None:
    from flask import g

    g.pop("_login_user", None)


def _main(response) -> str:
    """The page's main content (the navigation bar names the signed-in user too)."""
    page = response.data.decode()
    return page[page.index('<main id="main"'):page.index("</main>")]


def _no_personal_data(entry: AuditEntry, *values: str) -> None:
    raw = entry.details.lower()
    for value in values:
        assert value.lower() not in raw
    assert "@" not in raw


# --- creating accounts -------------------------------------------------------------------------


def test_country_admin_creates_user_of_own_party(client, make_user, login_as, app):
    admin = make_user(role="country_admin", party_code="GTM")
    login_as(admin)
    head, mails = _head(), _outbox_ids()
    response = client.post("/admin/users/new", data={
        "email": "New.Officer@Minex.gob.gt", "full_name": "Ana Pérez", "role": "liaison_officer",
        "party": "MEX",  # ignored: a country admin has no party field, the account is theirs
    })
    assert response.status_code == 302
    user = User.find_by_email("new.officer@minex.gob.gt")
    assert user is not None
    assert response.headers["Location"].endswith(f"/admin/users/{user.id}")
    assert (user.party.code, user.role, user.active, user.full_name) == ("GTM", "liaison_officer", True, "Ana Pérez")
    assert user.password_hash is None and user.totp_secret is None

    # a set-password link went out by e-mail; only its digest is stored
    new_mails = db.session.scalars(select(OutboxMessage).where(OutboxMessage.id.not_in(mails))).all()
    assert len(new_mails) == 1
    assert new_mails[0].recipient == "New.Officer@Minex.gob.gt"
    match = re.search(re.escape(app.config["BASE_URL"]) + r"/auth/reset/([A-Za-z0-9_-]{43})", new_mails[0].body)
    assert match
    reset = db.session.scalar(select(PasswordResetToken).where(PasswordResetToken.user_id == user.id))
    assert reset.token_digest == token_digest(match.group(1))
    assert reset.issued_by_id == admin.id and reset.used_at is None

    created, issued = _entries_since(head, "user.create"), _entries_since(head, "user.password_reset_issued")
    assert len(created) == 1 and len(issued) == 1
    for entry in created + issued:
        assert (entry.object_type, entry.object_id, entry.object_party) == ("user", str(user.id), "GTM")
        assert (entry.actor_user_id, entry.actor_party, entry.outcome) == (admin.id, "GTM", "ok")
        _no_personal_data(entry, "Ana", "Pérez", "minex")
    assert json.loads(created[0].details) == {"role": "liaison_officer", "user_id": user.id}
    assert json.loads(issued[0].details) == {"reset_id": reset.id, "user_id": user.id}


@pytest.mark.parametrize("role", ("secretariat_admin", "country_admin", "observer", "liaison_officer"))
def test_secretariat_creates_only_country_admins_for_other_parties(client, make_user, login_as, role):
    login_as(make_user(role="secretariat_admin", party_code="TS"))
    response = client.post("/admin/users/new", data={
        "email": f"{role}@sre.gob.mx", "full_name": "Luis Gómez", "role": role, "party": "MEX"})
    created = User.find_by_email(f"{role}@sre.gob.mx")
    if role == "country_admin":
        assert response.status_code == 302
        assert (created.party.code, created.role) == ("MEX", "country_admin")
    else:
        assert response.status_code == 400
        # roles the secretariat never grants are not even offered; the others are refused for MEX
        message = b"Not a valid choice" if role == "liaison_officer" else b"You cannot give this role"
        assert message in response.data
        assert created is None


def test_secretariat_creates_secretariat_accounts(client, make_user, login_as):
    login_as(make_user(role="secretariat_admin", party_code="TS"))
    response = client.post("/admin/users/new", data={
        "email": "colleague@rcm.example.org", "full_name": "Colleague", "role": "secretariat_admin",
        "party": "TS"})
    assert response.status_code == 302
    assert User.find_by_email("colleague@rcm.example.org").role == "secretariat_admin"


@pytest.mark.parametrize("role, status", (
    ("secretariat_admin", 400), ("country_admin", 302), ("liaison_officer", 302), ("border_officer", 302),
    ("observer", 302), ("superuser", 400),
))
def test_country_admin_grants_only_the_roles_of_the_party_kind(client, make_user, login_as, role, status):
    login_as(make_user(role="country_admin", party_code="GTM"))
    response = client.post("/admin/users/new", data={
        "email": f"x-{role}@minex.gob.gt", "full_name": "X", "role": role})
    assert response.status_code == status
    assert (User.find_by_email(f"x-{role}@minex.gob.gt") is not None) == (status == 302)


def test_observer_party_admin_cannot_create_officers(client, make_user, login_as):
    login_as(make_user(role="country_admin", party_code="COL"))
    response = client.post("/admin/users/new", data={
        "email": "officer@cancilleria.gov.co", "full_name": "X", "role": "liaison_officer"})
    assert response.status_code == 400
    assert User.find_by_email("officer@cancilleria.gov.co") is None
    page = client.get("/admin/users/new").data.decode()
    assert 'value="observer"' in page and 'value="liaison_officer"' not in page


@pytest.mark.parametrize("email, message", (
    ("not-an-address", b"Invalid email address."),
    ("", b"This field is required."),
))
def test_invalid_email_is_a_form_error(client, make_user, login_as, email, message):
    login_as(make_user(role="country_admin", party_code="GTM"))
    count = db.session.scalar(select(func.count(User.id)))
    response = client.post("/admin/users/new", data={"email": email, "full_name": "X", "role": "observer"})
    assert response.status_code == 400
    assert message in response.data
    assert b"invalid-feedback" in response.data
    assert db.session.scalar(select(func.count(User.id))) == count


def test_duplicate_email_is_refused_whatever_the_case(client, make_user, login_as):
    existing = make_user(role="liaison_officer", party_code="MEX", email="taken@sre.gob.mx")
    login_as(make_user(role="country_admin", party_code="GTM"))
    response = client.post("/admin/users/new", data={
        "email": "TAKEN@SRE.gob.mx", "full_name": "X", "role": "observer"})
    assert response.status_code == 400
    assert b"An account with this e-mail address already exists." in response.data
    assert User.find_by_email("taken@sre.gob.mx").id == existing.id


def test_create_form_offers_party_only_to_secretariat(client, make_user, login_as):
    login_as(make_user(role="country_admin", party_code="GTM"))
    page = client.get("/admin/users/new").data.decode()
    assert 'name="party"' not in page
    assert 'value="secretariat_admin"' not in page
    _as(client, login_as, make_user(role="secretariat_admin", party_code="TS"))
    page = client.get("/admin/users/new").data.decode()
    assert 'name="party"' in page and 'value="MEX"' in page


# --- set-password links and two-factor resets ----------------------------------------------------


def test_issue_password_reset_replaces_earlier_links(app_ctx, make_user, app):
    admin = make_user(role="country_admin", party_code="GTM")
    user = make_user(role="liaison_officer", party_code="GTM")
    first = issue_password_reset(admin, user)
    before = utcnow()
    second = issue_password_reset(admin, user)
    assert first != second
    assert second.startswith(f"{app.config['BASE_URL']}/auth/reset/")
    tokens = {t.token_digest: t for t in db.session.scalars(
        select(PasswordResetToken).where(PasswordResetToken.user_id == user.id))}
    old = tokens[token_digest(first.rsplit("/", 1)[1])]
    new = tokens[token_digest(second.rsplit("/", 1)[1])]
    assert old.expires_at <= utcnow()  # no longer usable
    assert timedelta(minutes=59) < new.expires_at - before <= timedelta(hours=1, seconds=5)
    assert new.issued_by_id == admin.id
    assert second.rsplit("/", 1)[1] not in json.dumps([e.details for e in _entries_since(0)])


def test_reset_two_factor_forgets_secret_codes_and_sessions(client, make_user, login_as):
    admin = make_user(role="country_admin", party_code="GTM")
    user = make_user(role="liaison_officer", party_code="GTM")
    db.session.add_all(RecoveryCode(user_id=user.id, code_digest=f"{n:064x}") for n in range(3))
    db.session.commit()
    user_client = login_as(user, client.application.test_client())
    assert user_client.get("/").status_code == 200
    _as(client, login_as, admin)
    head = _head()
    assert client.post(f"/admin/users/{user.id}/reset-two-factor").status_code == 302
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert (user.totp_secret, user.totp_enrolled_at, user.totp_last_step) == (None, None, None)
    assert db.session.scalar(select(func.count()).select_from(RecoveryCode).where(RecoveryCode.user_id == user.id)) == 0
    live = select(func.count()).select_from(UserSession).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    assert db.session.scalar(live) == 0
    _forget_user()
    assert user_client.get("/").status_code == 302  # signed out
    [entry] = _entries_since(head, "user.two_factor_reset")
    assert json.loads(entry.details) == {"sessions_revoked": 1, "user_id": user.id}


def test_reset_two_factor_operation_directly(app_ctx, make_user):
    user = make_user(role="border_officer", party_code="MEX")
    reset_two_factor(None, user)
    assert user.totp_enrolled_at is None and user.totp_secret is None and not user.two_factor_enrolled


# --- deactivation, reactivation, role changes --------------------------------------------------


def test_deactivation_revokes_sessions_and_api_tokens(client, make_user, login_as):
    admin = make_user(role="country_admin", party_code="GTM")
    user = make_user(role="border_officer", party_code="GTM")
    token, _secret = create_token(user, name="border system", scopes=["alerts:check"])
    issue_password_reset(admin, user)
    db.session.commit()
    user_client = login_as(user, client.application.test_client())
    assert user_client.get("/").status_code == 200
    _as(client, login_as, admin)
    head = _head()
    assert client.post(f"/admin/users/{user.id}/deactivate").status_code == 302
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert user.active is False and user.deactivated_at is not None
    assert db.session.get(ApiToken, token.id).revoked_at is not None
    assert all(t.expires_at <= utcnow() for t in db.session.scalars(
        select(PasswordResetToken).where(PasswordResetToken.user_id == user.id)))
    _forget_user()
    assert user_client.get("/").status_code == 302
    _as(client, login_as, admin)
    [entry] = _entries_since(head, "user.deactivate")
    assert json.loads(entry.details) == {"api_tokens_revoked": 1, "sessions_revoked": 1, "user_id": user.id}
    assert db.session.get(User, user.id) is not None  # never deleted
    page = _main(client.get(f"/admin/users/{user.id}"))
    assert "Deactivated on" in page and "Reactivate the account" in page and "Deactivate the account" not in page

    assert client.post(f"/admin/users/{user.id}/reactivate").status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).active is True
    assert db.session.get(ApiToken, token.id).revoked_at is not None  # stays revoked
    assert [e.outcome for e in _entries_since(head, "user.reactivate")] == ["ok"]


@pytest.mark.parametrize("role, party_code", (("country_admin", "GTM"), ("secretariat_admin", "TS")))
def test_nobody_deactivates_or_demotes_themselves(client, make_user, login_as, role, party_code):
    admin = make_user(role=role, party_code=party_code)
    login_as(admin)
    head = _head()
    response = client.post(f"/admin/users/{admin.id}/deactivate")
    assert response.status_code == 403
    assert b"You cannot deactivate your own account." in response.data
    response = client.post(f"/admin/users/{admin.id}/role", data={"role": "observer"})
    assert response.status_code == 403
    db.session.expire_all()
    me = db.session.get(User, admin.id)
    assert (me.active, me.role) == (True, role)
    assert [(e.action, e.outcome) for e in _entries_since(head) if e.action.startswith("user.")] == [
        ("user.deactivate", "denied"), ("user.role_change", "denied")]
    page = client.get(f"/admin/users/{admin.id}").data.decode()
    assert "/deactivate" not in page and f"/admin/users/{admin.id}/role" not in page


def test_role_change_within_own_party(client, make_user, login_as):
    admin = make_user(role="country_admin", party_code="GTM")
    user = make_user(role="liaison_officer", party_code="GTM")
    login_as(admin)
    head = _head()
    assert client.post(f"/admin/users/{user.id}/role", data={"role": "country_admin"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).role == "country_admin"
    [entry] = _entries_since(head, "user.role_change")
    assert json.loads(entry.details) == {"new_role": "country_admin", "old_role": "liaison_officer",
                                         "user_id": user.id}
    # never to the secretariat's role, nor to an unknown one
    assert client.post(f"/admin/users/{user.id}/role", data={"role": "secretariat_admin"}).status_code == 403
    assert client.post(f"/admin/users/{user.id}/role", data={"role": "root"}).status_code == 400
    db.session.expire_all()
    assert db.session.get(User, user.id).role == "country_admin"


# --- the accounts list and the parties page ------------------------------------------------------


def test_country_admin_lists_only_own_party(client, make_user, login_as):
    admin = make_user(role="country_admin", party_code="GTM", name="Zelda Admin")
    make_user(role="liaison_officer", party_code="GTM", name="beatriz Officer", email="beatriz@minex.gob.gt")
    make_user(role="border_officer", party_code="GTM", name="Alberto Border", active=False)
    make_user(role="liaison_officer", party_code="MEX", name="Mexican Officer", email="officer@sre.gob.mx")
    login_as(admin)
    page = _main(client.get("/admin/users"))
    assert "Mexican Officer" not in page and "officer@sre.gob.mx" not in page
    assert page.index("Alberto Border") < page.index("beatriz Officer") < page.index("Zelda Admin")
    assert 'name="party"' not in page
    page = _main(client.get("/admin/users?active=no"))
    assert "Alberto Border" in page and "beatriz Officer" not in page
    page = _main(client.get("/admin/users?role=liaison_officer&active=yes"))
    assert "beatriz Officer" in page and "Alberto Border" not in page and "Zelda Admin" not in page
    # a party filter from a country admin is not a way out of the scope
    page = _main(client.get("/admin/users?party=MEX"))
    assert "Mexican Officer" not in page


def test_secretariat_lists_and_filters_every_party(client, make_user, login_as):
    login_as(make_user(role="secretariat_admin", party_code="TS"))
    make_user(role="country_admin", party_code="MEX", name="Mexican Admin")
    make_user(role="country_admin", party_code="HND", name="Honduran Admin")
    page = client.get("/admin/users").data.decode()
    assert "Mexican Admin" in page and "Honduran Admin" in page
    page = client.get("/admin/users?party=HND").data.decode()
    assert "Honduran Admin" in page and "Mexican Admin" not in page


@pytest.mark.parametrize("query", ("role=root", "active=maybe", "party=XXX"))
def test_invalid_list_filters_are_form_errors(client, make_user, login_as, query):
    login_as(make_user(role="secretariat_admin", party_code="TS"))
    response = client.get(f"/admin/users?{query}")
    assert response.status_code == 400
    assert b"Not a valid choice" in response.data


def test_parties_page_counts_accounts(client, make_user, login_as):
    login_as(make_user(role="secretariat_admin", party_code="TS"))
    before = client.get("/admin/parties").data.decode()
    make_user(role="country_admin", party_code="BLZ")
    make_user(role="liaison_officer", party_code="BLZ", active=False)
    page = client.get("/admin/parties").data.decode()
    assert before != page
    row = re.search(r'party=BLZ">BLZ</a></td>(.*?)</tr>', page, re.DOTALL).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)
    assert cells[0] == "Member country"
    assert cells[1] == "Belize" and cells[2] == "Belice"
    base = re.search(r'party=BLZ">BLZ</a></td>(.*?)</tr>', before, re.DOTALL).group(1)
    base_cells = re.findall(r"<td[^>]*>(.*?)</td>", base, re.DOTALL)
    assert int(cells[3]) == int(base_cells[3]) + 1  # active accounts
    assert int(cells[4]) == int(base_cells[4]) + 2  # all accounts
    assert "Technical Secretariat of the RCM" in page and "Secretaría Técnica de la CRM" in page
