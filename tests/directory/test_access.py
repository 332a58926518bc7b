"""Who may do what in the directories: route x role x own/other party, exact statuses and DB effects."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.directory.models import DirectoryEntry, NetworkMembership
from portal.extensions import db
from portal.parties.models import Network
from portal.timeutil import utcnow
from tests.directory.factories import make_entry, network

VALID = {"full_name": "Ana Pérez", "email": "ana.perez@minex.gob.gt", "title": "Consul", "institution": "MINEX",
         "phones": "+502 2411 1111", "languages": "es, en", "time_zone": "America/Guatemala"}


def _count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _audit(action):
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)).all()


# (role, party) of the acting user; the entry under test always belongs to GTM.
OWN_ADMIN = ("country_admin", "GTM")
OTHER_ADMIN = ("country_admin", "MEX")
LIAISON = ("liaison_officer", "GTM")
SECRETARIAT = ("secretariat_admin", "TS")
OBSERVER = ("observer", "GTM")


@pytest.mark.parametrize("actor, status, created", [
    (OWN_ADMIN, 302, True), (OTHER_ADMIN, 302, True), (LIAISON, 403, False), (SECRETARIAT, 403, False),
    (OBSERVER, 403, False),
])
def test_create_entry(make_user, login_as, client, party, actor, status, created):
    user = make_user(role=actor[0], party_code=actor[1])
    login_as(user)
    response = client.post("/directory/entries/new", data=VALID)
    assert response.status_code == status
    entries = db.session.scalars(select(DirectoryEntry)).all()
    if created:
        assert len(entries) == 1
        entry = entries[0]
        assert entry.party_id == user.party_id  # always the creator's own party
        assert entry.full_name == "Ana Pérez" and entry.languages == ["es", "en"]
        assert entry.last_verified_on == utcnow().date()
        assert response.headers["Location"] == f"/directory/entries/{entry.id}"
        rows = _audit("directory.entry.create")
        assert [(r.object_id, r.object_party) for r in rows] == [(str(entry.id), actor[1])]
        assert "Ana" not in str(rows[0].details) and "@" not in str(rows[0].details)
    else:
        assert entries == []
        assert json.loads(_audit("access.denied")[-1].details) == {"permission": "manage_party_directory"}


@pytest.mark.parametrize("actor, status", [
    (OWN_ADMIN, 200), (OTHER_ADMIN, 404), (LIAISON, 403), (SECRETARIAT, 403),
])
def test_edit_form_access(make_user, login_as, client, actor, status):
    entry = make_entry("GTM")
    login_as(make_user(role=actor[0], party_code=actor[1]))
    assert client.get(f"/directory/entries/{entry.id}/edit").status_code == status


@pytest.mark.parametrize("actor, status, changed", [
    (OWN_ADMIN, 302, True), (OTHER_ADMIN, 404, False), (LIAISON, 403, False), (SECRETARIAT, 403, False),
])
def test_edit_entry(make_user, login_as, client, actor, status, changed):
    entry = make_entry("GTM", title="Consul")
    login_as(make_user(role=actor[0], party_code=actor[1]))
    response = client.post(f"/directory/entries/{entry.id}/edit", data={**VALID, "title": "Consul General"})
    assert response.status_code == status
    db.session.refresh(entry)
    assert entry.title == ("Consul General" if changed else "Consul")
    rows = _audit("directory.entry.update")
    if changed:
        assert [(r.object_id, r.object_party) for r in rows] == [(str(entry.id), "GTM")]
        assert set(json.loads(rows[0].details)["fields"]) >= {"title", "full_name", "email", "phones"}
    else:
        assert rows == []
    if status == 404:
        assert _audit("directory_entries.access")[-1].outcome == "denied"


@pytest.mark.parametrize("actor, status, effect", [
    (OWN_ADMIN, 302, True), (OTHER_ADMIN, 404, False), (LIAISON, 403, False), (SECRETARIAT, 403, False),
])
def test_verify_entry(make_user, login_as, client, actor, status, effect):
    old = utcnow().date().replace(year=utcnow().year - 1)
    entry = make_entry("GTM", verified=old)
    login_as(make_user(role=actor[0], party_code=actor[1]))
    assert client.post(f"/directory/entries/{entry.id}/verify").status_code == status
    db.session.refresh(entry)
    assert entry.last_verified_on == (utcnow().date() if effect else old)
    assert len(_audit("directory.entry.verify")) == (1 if effect else 0)


@pytest.mark.parametrize("actor, status, effect", [
    (OWN_ADMIN, 302, True), (OTHER_ADMIN, 404, False), (LIAISON, 403, False), (SECRETARIAT, 403, False),
])
def test_deactivate_entry(make_user, login_as, client, actor, status, effect):
    entry = make_entry("GTM")
    login_as(make_user(role=actor[0], party_code=actor[1]))
    assert client.post(f"/directory/entries/{entry.id}/deactivate").status_code == status
    db.session.refresh(entry)
    assert entry.active is (not effect)
    rows = _audit("directory.entry.deactivate")
    assert [(r.object_id, r.object_party) for r in rows] == ([(str(entry.id), "GTM")] if effect else [])


@pytest.mark.parametrize("actor, status", [
    (OWN_ADMIN, 200), (OTHER_ADMIN, 404), (LIAISON, 404), (SECRETARIAT, 200), (("liaison_officer", "MEX"), 404),
])
def test_deactivated_entry_is_seen_only_by_its_maintainers(make_user, login_as, client, actor, status):
    entry = make_entry("GTM", active=False)
    login_as(make_user(role=actor[0], party_code=actor[1]))
    assert client.get(f"/directory/entries/{entry.id}").status_code == status


@pytest.mark.parametrize("actor", [OWN_ADMIN, OTHER_ADMIN, LIAISON, SECRETARIAT, OBSERVER, ("observer", "ARG")])
def test_everyone_signed_in_reads_the_directory(make_user, login_as, client, actor):
    entry = make_entry("GTM", name="Lucía Fernández")
    login_as(make_user(role=actor[0], party_code=actor[1]))
    listing = client.get("/directory/")
    assert listing.status_code == 200 and "Lucía Fernández" in listing.data.decode()
    assert client.get(f"/directory/entries/{entry.id}").status_code == 200
    assert client.get(f"/directory/networks/{network('LON-CP').id}").status_code == 200
    assert client.get("/directory/entries/999999").status_code == 404


def test_anonymous_is_sent_to_login(client):
    response = client.get("/directory/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/auth/login")


@pytest.mark.parametrize("actor, status, effect", [
    (SECRETARIAT, 302, True), (OWN_ADMIN, 403, False), (LIAISON, 403, False),
])
def test_add_membership(make_user, login_as, client, actor, status, effect):
    entry = make_entry("GTM", networks=())
    gender = network("GENDER")
    login_as(make_user(role=actor[0], party_code=actor[1]))
    response = client.post(f"/directory/entries/{entry.id}/memberships",
                           data={"network": gender.id, "role": "coordinator"})
    assert response.status_code == status
    rows = db.session.scalars(select(NetworkMembership).where(NetworkMembership.entry_id == entry.id)).all()
    assert [(m.network_id, m.role) for m in rows] == ([(gender.id, "coordinator")] if effect else [])
    audit = _audit("directory.membership.add")
    assert [(r.object_party, json.loads(r.details)["network"], json.loads(r.details)["role"]) for r in audit] == (
        [("GTM", "GENDER", "coordinator")] if effect else [])


def test_add_membership_refuses_a_duplicate_and_a_bad_role(make_user, login_as, client):
    entry = make_entry("GTM", networks=(("LON-CP", "member"),))
    login_as(make_user(role="secretariat_admin", party_code="TS"))
    bad_role = client.post(f"/directory/entries/{entry.id}/memberships",
                           data={"network": network("GENDER").id, "role": "chief"})
    assert bad_role.status_code == 400
    duplicate = client.post(f"/directory/entries/{entry.id}/memberships",
                            data={"network": network("LON-CP").id, "role": "alternate"})
    assert duplicate.status_code == 400  # LON-CP is not offered again
    assert _count(NetworkMembership, NetworkMembership.entry_id == entry.id) == 1


@pytest.mark.parametrize("actor, status, effect", [
    (SECRETARIAT, 302, True), (OWN_ADMIN, 403, False),
])
def test_remove_membership(make_user, login_as, client, actor, status, effect):
    entry = make_entry("GTM", networks=(("GENDER", "member"),))
    membership = entry.memberships[0]
    login_as(make_user(role=actor[0], party_code=actor[1]))
    assert client.post(f"/directory/memberships/{membership.id}/remove").status_code == status
    assert _count(NetworkMembership, NetworkMembership.entry_id == entry.id) == (0 if effect else 1)
    assert len(_audit("directory.membership.remove")) == (1 if effect else 0)


@pytest.mark.parametrize("actor, status, effect", [
    (SECRETARIAT, 302, True), (OWN_ADMIN, 403, False), (LIAISON, 403, False),
])
def test_create_network(make_user, login_as, client, actor, status, effect):
    login_as(make_user(role=actor[0], party_code=actor[1]))
    response = client.post("/directory/networks/new",
                           data={"code": "lon-doc", "name_en": "Document experts", "name_es": "Expertos en documentos"})
    assert response.status_code == status
    created = db.session.scalar(select(Network).where(Network.code == "LON-DOC"))
    assert (created is not None) is effect
    rows = _audit("network.create")
    assert [(r.object_id, json.loads(r.details)) for r in rows] == ([(str(created.id), {"code": "LON-DOC"})] if effect else [])


def test_create_network_refuses_a_bad_or_taken_code(make_user, login_as, client):
    login_as(make_user(role="secretariat_admin", party_code="TS"))
    taken = client.post("/directory/networks/new", data={"code": "FOCAL", "name_en": "x", "name_es": "y"})
    assert taken.status_code == 400 and "exists already" in taken.data.decode()
    bad = client.post("/directory/networks/new", data={"code": "a b", "name_en": "x", "name_es": "y"})
    assert bad.status_code == 400 and "capital letters" in bad.data.decode()
    assert _count(Network) == 7


@pytest.mark.parametrize("actor, status, effect", [(SECRETARIAT, 302, True), (OWN_ADMIN, 403, False)])
def test_rename_network(make_user, login_as, client, actor, status, effect):
    troika = network("TROIKA")
    login_as(make_user(role=actor[0], party_code=actor[1]))
    response = client.post(f"/directory/networks/{troika.id}/edit",
                           data={"name_en": "RCM Troika (2026)", "name_es": "Troika de la CRM (2026)"})
    assert response.status_code == status
    db.session.refresh(troika)
    assert troika.name_en == ("RCM Troika (2026)" if effect else "RCM Troika")
    rows = _audit("network.update")
    assert [json.loads(r.details) for r in rows] == ([{"code": "TROIKA", "fields": ["name_en", "name_es"]}] if effect else [])


def test_unknown_network_is_404(make_user, login_as, client):
    login_as(make_user(role="secretariat_admin", party_code="TS"))
    assert client.get("/directory/networks/999999").status_code == 404
    assert client.get("/directory/networks/999999/edit").status_code == 404


# --- every loader goes through portal.access ----------------------------------------------------------------

def _denials(action):
    return [(r.outcome, r.object_type, r.object_id, r.object_party, json.loads(r.details or "{}"))
            for r in _audit(action)]


# Every route that loads an entry (or, for the last, a membership of one), with the permission it requires.
ENTRY_ROUTES = [
    ("GET", "/directory/entries/{entry}", "view_directory"),
    ("GET", "/directory/entries/{entry}/edit", "manage_party_directory"),
    ("POST", "/directory/entries/{entry}/edit", "manage_party_directory"),
    ("POST", "/directory/entries/{entry}/verify", "manage_party_directory"),
    ("POST", "/directory/entries/{entry}/deactivate", "manage_party_directory"),
    ("POST", "/directory/entries/{entry}/memberships", "manage_networks"),
    ("POST", "/directory/memberships/{membership}/remove", "manage_networks"),
]


def _call(client, method, path, entry):
    url = path.format(entry=entry.id, membership=entry.memberships[0].id)
    data = {**VALID, "network": network("GENDER").id, "role": "member"} if method == "POST" else None
    return client.open(url, method=method, data=data)


@pytest.mark.parametrize("method, path, permission", ENTRY_ROUTES)
@pytest.mark.parametrize("actor", [LIAISON, OBSERVER, ("border_officer", "MEX"), OTHER_ADMIN])
def test_a_deactivated_entry_is_not_found_by_those_it_is_hidden_from(make_user, login_as, client, method, path,
                                                                     permission, actor):
    """A deactivated entry is visible only to its own party's maintainers and the network maintainers: every
    other reader (without ``manage_party_directory``, or holding it for another party) whom the route's
    permission lets in gets 404, audited as a missing entry (no party, no details); the others are refused
    by the permission first (403), as before."""
    from auth.permissions import permissions_for_role

    entry = make_entry("GTM", active=False)
    login_as(make_user(role=actor[0], party_code=actor[1]))
    response = _call(client, method, path, entry)
    if permission not in permissions_for_role(actor[0]):
        assert response.status_code == 403
        assert json.loads(_audit("access.denied")[-1].details) == {"permission": permission}
        return
    assert response.status_code == 404
    assert _denials("directory_entries.access") == [("denied", "directory_entry", str(entry.id), None, {})]
    db.session.refresh(entry)
    assert entry.active is False and entry.title == "Consul"


@pytest.mark.parametrize("method, path, permission", ENTRY_ROUTES)
@pytest.mark.parametrize("actor", [OWN_ADMIN, SECRETARIAT])
def test_every_entry_loader_asks_visible(make_user, login_as, client, monkeypatch, method, path, permission, actor):
    """Whatever ``portal.access.visible(DirectoryEntry)`` hides, every route that loads an entry (or one of its
    memberships) answers 404 for, GET and POST, even to the entry's own maintainers and the secretariat."""
    from sqlalchemy import false

    from auth.permissions import permissions_for_role
    from portal import access

    entry = make_entry("GTM", networks=(("LON-CP", "member"),))
    login_as(make_user(role=actor[0], party_code=actor[1]))
    monkeypatch.setattr(access, "_VISIBILITY_CLAUSES", {})
    monkeypatch.setattr(access, "_directory_clause", lambda model, principal: false())
    response = _call(client, method, path, entry)
    if permission not in permissions_for_role(actor[0]):
        assert response.status_code == 403
        return
    assert response.status_code == 404
    if "memberships/" in path:
        membership = str(entry.memberships[0].id)
        assert _denials("network_memberships.access") == [("denied", "network_membership", membership, None, {})]
    else:
        assert _denials("directory_entries.access") == [("denied", "directory_entry", str(entry.id), None, {})]


def test_the_loaders_hide_a_deactivated_entry_from_a_reader_without_manage_party_directory(make_user):
    from werkzeug.exceptions import NotFound

    from portal.directory import queries
    from portal.principal import Principal

    entry = make_entry("GTM", active=False)
    membership_id = entry.memberships[0].id
    reader = Principal.for_user(make_user(role="liaison_officer", party_code="GTM"))
    assert not reader.can("manage_party_directory")
    for load, record_id in ((queries.get_entry_or_404, entry.id), (queries.get_manageable_entry_or_404, entry.id),
                            (queries.get_membership_or_404, membership_id)):
        with pytest.raises(NotFound):
            load(reader, record_id)
    maintainer = Principal.for_user(make_user(role="country_admin", party_code="GTM"))
    assert queries.get_manageable_entry_or_404(maintainer, entry.id) is entry
    assert queries.get_membership_or_404(maintainer, membership_id).entry is entry


def test_another_partys_entry_is_refused_exactly_as_a_missing_one(make_user, login_as, client):
    entry = make_entry("GTM")
    login_as(make_user(role="country_admin", party_code="MEX"))
    assert client.post(f"/directory/entries/{entry.id}/verify").status_code == 404
    assert client.post("/directory/entries/999999/verify").status_code == 404
    assert _denials("directory_entries.access") == [("denied", "directory_entry", str(entry.id), None, {}),
                                                    ("denied", "directory_entry", "999999", None, {})]


def test_unknown_networks_and_memberships_are_audited_as_before(make_user, login_as, client):
    login_as(make_user(role="secretariat_admin", party_code="TS"))
    assert client.post("/directory/networks/999999/parties", data={"party": 1}).status_code == 404
    assert client.post("/directory/memberships/999999/remove").status_code == 404
    assert _denials("networks.access") == [("denied", "network", "999999", None, {})]
    assert _denials("network_memberships.access") == [("denied", "network_membership", "999999", None, {})]
