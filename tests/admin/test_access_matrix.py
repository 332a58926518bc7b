"""Access matrix of the administration routes: every route x role x (own party / other party).

Each cell names the exact status and the test checks the database effect: a refused request changes
nothing and leaves a 'denied' audit entry; an allowed one changes exactly what it says.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from auth.models import PasswordResetToken, User
from portal.audit.models import AuditEntry
from portal.extensions import db

ROLES = ("secretariat_admin", "country_admin", "liaison_officer", "border_officer", "observer")
ACTOR_PARTY = {"secretariat_admin": "TS"}  # everyone else acts from GTM
OTHER_PARTY = "MEX"


def _actor_party(role: str) -> str:
    return ACTOR_PARTY.get(role, "GTM")


def _target_role(party_code: str) -> str:
    return "observer" if party_code == "TS" else "liaison_officer"


# route -> {actor role: (status for a target of the own party, status for a target of another party)}
SA, CA, LO, BO, OB = ROLES
DENIED = {LO: (403, 403), BO: (403, 403), OB: (403, 403)}
MATRIX = {
    "users": {SA: (200, 200), CA: (200, 200), **DENIED},
    "create_form": {SA: (200, 200), CA: (200, 200), **DENIED},
    "parties": {SA: (200, 200), CA: (403, 403), **DENIED},
    "detail": {SA: (200, 200), CA: (200, 404), **DENIED},
    "deactivate": {SA: (302, 302), CA: (302, 404), **DENIED},
    "reactivate": {SA: (302, 302), CA: (302, 404), **DENIED},
    "reset_password": {SA: (302, 302), CA: (302, 404), **DENIED},
    "reset_two_factor": {SA: (302, 302), CA: (302, 404), **DENIED},
    # role changes are the party's own business: the secretariat finds the MEX account but may not
    "change_role": {SA: (302, 403), CA: (302, 404), **DENIED},
}


def _request(client, route: str, target: User):
    uid = target.id
    new_role = "secretariat_admin" if target.party.code == "TS" else "border_officer"
    return {
        "users": lambda: client.get("/admin/users"),
        "create_form": lambda: client.get("/admin/users/new"),
        "parties": lambda: client.get("/admin/parties"),
        "detail": lambda: client.get(f"/admin/users/{uid}"),
        "deactivate": lambda: client.post(f"/admin/users/{uid}/deactivate"),
        "reactivate": lambda: client.post(f"/admin/users/{uid}/reactivate"),
        "reset_password": lambda: client.post(f"/admin/users/{uid}/reset-password"),
        "reset_two_factor": lambda: client.post(f"/admin/users/{uid}/reset-two-factor"),
        "change_role": lambda: client.post(f"/admin/users/{uid}/role", data={"role": new_role}),
    }[route]()


def _state(user_id: int) -> dict:
    db.session.expire_all()
    user = db.session.get(User, user_id)
    return {
        "active": user.active,
        "role": user.role,
        "enrolled": user.totp_enrolled_at is not None,
        "reset_links": db.session.scalar(
            select(func.count()).select_from(PasswordResetToken).where(PasswordResetToken.user_id == user_id)
        ),
    }


def _expected_change(route: str, before: dict) -> dict:
    after = dict(before)
    if route == "deactivate":
        after["active"] = False
    elif route == "reactivate":
        after["active"] = True
    elif route == "reset_password":
        after["reset_links"] = 1
    elif route == "reset_two_factor":
        after["enrolled"] = False
    elif route == "change_role":
        after["role"] = "secretariat_admin" if before["role"] == "observer" else "border_officer"
    return after


def _last_entries(after_seq: int) -> list[AuditEntry]:
    return db.session.scalars(select(AuditEntry).where(AuditEntry.seq > after_seq).order_by(AuditEntry.seq)).all()


@pytest.mark.parametrize("relation", ("own", "other"))
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", tuple(MATRIX))
def test_admin_access_matrix(client, make_user, login_as, route, role, relation):
    actor = make_user(role=role, party_code=_actor_party(role))
    target_party = _actor_party(role) if relation == "own" else OTHER_PARTY
    target = make_user(role=_target_role(target_party), party_code=target_party,
                       active=route != "reactivate")
    login_as(actor)
    before = _state(target.id)
    head = db.session.scalar(select(func.max(AuditEntry.seq))) or 0

    response = _request(client, route, target)

    expected = MATRIX[route][role][0 if relation == "own" else 1]
    assert response.status_code == expected
    after = _state(target.id)
    entries = _last_entries(head)
    if expected in (302,):
        assert after == _expected_change(route, before)
        assert any(e.outcome == "ok" and e.object_type == "user" and e.object_id == str(target.id)
                   and e.object_party == target_party and e.actor_user_id == actor.id for e in entries)
    else:
        assert after == before
    if expected == 403 and role != "secretariat_admin":  # refused by the permission check
        assert [(e.action, e.outcome) for e in entries] == [("access.denied", "denied")]
    if expected == 404:
        assert [(e.action, e.outcome, e.object_id) for e in entries] == [("user.access", "denied", str(target.id))]
    if expected == 403 and role == "secretariat_admin":  # found, but the operation refuses
        assert [(e.action, e.outcome, e.object_party) for e in entries] == [
            ("user.role_change", "denied", OTHER_PARTY)
        ]


def test_anonymous_is_sent_to_login(client, make_user):
    target = make_user(role="liaison_officer", party_code="GTM")
    for path in ("/admin/users", "/admin/users/new", "/admin/parties", f"/admin/users/{target.id}"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/auth/login" in response.headers["Location"]
    response = client.post(f"/admin/users/{target.id}/deactivate")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]
    assert db.session.get(User, target.id).active is True


def test_nonexistent_user_is_404_like_another_partys(client, make_user, login_as):
    login_as(make_user(role="secretariat_admin", party_code="TS"))
    assert client.get("/admin/users/99999999").status_code == 404
    assert client.post("/admin/users/99999999/deactivate").status_code == 404
