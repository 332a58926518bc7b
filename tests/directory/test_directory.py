"""Directory behaviour: validation, search, encryption at rest, phone restriction, participation sync,
staleness and reminders, CSV and vCard exports, and the API."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text

from auth.tokens import create_token
from portal.audit.models import AuditEntry
from portal.directory import operations
from portal.directory.models import DirectoryEntry, DirectoryReminder
from portal.extensions import db
from portal.notifications.models import Notification
from portal.outbox.models import OutboxMessage
from portal.parties.models import NetworkParty
from portal.timeutil import utcnow
from tests.directory.factories import make_entry, network

VALID = {"full_name": "Ana Pérez", "email": "ana.perez@minex.gob.gt", "phones": "2411 1111",
         "languages": "es", "time_zone": "America/Guatemala"}


def _audit(action):
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)).all()


def _taking_part(network_code, party_id) -> bool:
    return db.session.get(NetworkParty, (network(network_code).id, party_id)) is not None


# --- validation -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("field, value, message", [
    ("full_name", "  ", "Enter the person"),
    ("email", "ana.perez@", "Enter a valid e-mail address."),
    ("phones", "12", "12 is not a valid phone number"),
    ("phones", "call me", "call me is not a phone number."),
    ("languages", "es, xx", "xx is not an ISO 639-1 language code"),
    ("languages", "spa", "spa is not an ISO 639-1 language code"),
    ("time_zone", "Guatemala/City", "Enter an IANA time zone"),
])
def test_bad_input_is_refused_next_to_its_field(make_user, login_as, client, field, value, message):
    login_as(make_user(role="country_admin", party_code="GTM"))
    response = client.post("/directory/entries/new", data={**VALID, field: value})
    assert response.status_code == 400
    html = response.data.decode()
    assert message in html
    # the message sits right after the offending input, which is marked invalid
    tag = re.search(rf'<(?:input|textarea)[^>]*id="{field}"[^>]*>', html).group(0)
    assert "is-invalid" in tag
    assert html.index(message) > html.index(tag)
    assert db.session.scalar(select(func.count(DirectoryEntry.id))) == 0


def test_several_bad_fields_are_all_reported(make_user, login_as, client):
    login_as(make_user(role="country_admin", party_code="GTM"))
    response = client.post("/directory/entries/new",
                           data={**VALID, "email": "nope", "phones": "12", "languages": "zz", "time_zone": "Mars/Base"})
    html = response.data.decode()
    assert response.status_code == 400
    assert html.count("invalid-feedback") == 4


def test_phones_are_normalised_with_the_party_region(make_user, login_as, client):
    login_as(make_user(role="country_admin", party_code="GTM"))
    response = client.post("/directory/entries/new",
                           data={**VALID, "phones": "2411 1111\n+52 55 5555 1234, 2411-1111"})
    assert response.status_code == 302
    entry = db.session.scalar(select(DirectoryEntry))
    assert entry.phones == ["+50224111111", "+525555551234"]  # E.164, duplicate dropped


def test_national_numbers_need_a_country_code_for_a_non_country_party(make_user):
    from portal.parties.models import Party

    secretariat = db.session.scalar(select(Party).where(Party.code == "TS"))
    with pytest.raises(operations.DirectoryError) as refused:
        operations.clean_phones(["2411 1111"], operations.party_region(secretariat))
    assert refused.value.field == "phones"
    assert operations.clean_phones(["+502 2411 1111"], None) == ["+50224111111"]


# --- search and encryption at rest ------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["lopez", "LÓPEZ", "María", "maria lopez", "López, María", "  maría   LÓPEZ "])
def test_search_by_name_token_ignores_accents_and_case(make_user, login_as, client, query):
    make_entry("GTM", name="María López")
    make_entry("MEX", name="Juan Lopera", email="juan@sre.gob.mx")
    login_as(make_user(role="border_officer", party_code="PAN"))
    html = client.get("/directory/", query_string={"q": query}).data.decode()
    assert "María López" in html and "Juan Lopera" not in html


def test_search_does_not_match_prefixes_or_absent_tokens(make_user, login_as, client):
    make_entry("GTM", name="María López")
    login_as(make_user(role="border_officer", party_code="PAN"))
    for query in ("lop", "maria garcia"):
        assert "María López" not in client.get("/directory/", query_string={"q": query}).data.decode()


def test_search_by_party_network_and_institution(make_user, login_as, client):
    make_entry("GTM", name="Ana Uno", institution="Dirección General de Migración", networks=(("GENDER", "member"),))
    make_entry("MEX", name="Beto Dos", email="b@sre.gob.mx", institution="Secretaría de Relaciones Exteriores",
               networks=(("LON-CP", "coordinator"),))
    login_as(make_user(role="liaison_officer", party_code="HND"))

    def names(**args):
        html = client.get("/directory/", query_string=args).data.decode()
        return [name for name in ("Ana Uno", "Beto Dos") if name in html]

    assert names(party="MEX") == ["Beto Dos"]
    assert names(network=str(network("GENDER").id)) == ["Ana Uno"]
    assert names(institution="direccion general") == ["Ana Uno"]
    assert names(institution="RELACIONES") == ["Beto Dos"]
    assert names() == ["Ana Uno", "Beto Dos"]


def test_listing_is_paginated(make_user, login_as, client, app, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    for n, name in enumerate(("Ana Alfa", "Bruno Beta", "Carla Gamma")):
        make_entry("GTM", name=name, email=f"p{n}@minex.gob.gt")
    login_as(make_user(role="liaison_officer", party_code="GTM"))
    first = client.get("/directory/").data.decode()
    second = client.get("/directory/?page=2").data.decode()
    assert "Ana Alfa" in first and "Bruno Beta" in first and "Carla Gamma" not in first
    assert "Carla Gamma" in second and "Page 2 of 2" in second


def test_no_personal_data_in_clear_in_the_database():
    entry = make_entry("GTM", name="María López", email="maria.lopez@minex.gob.gt", phones=["+502 2411 1111"])
    row = db.session.execute(
        text("SELECT full_name, email, phones, name_index FROM directory_entries WHERE id = :id"), {"id": entry.id}
    ).one()
    raw = " ".join(str(value) for value in row)
    for secret in ("María", "López", "Lopez", "lopez", "maria.lopez", "minex", "24111111", "+502"):
        assert secret not in raw
    tokens = db.session.execute(text("SELECT token_index FROM directory_name_tokens WHERE entry_id = :id"),
                                {"id": entry.id}).scalars().all()
    assert len(tokens) == 2 and all(len(token) == 64 and "lopez" not in token for token in tokens)
    assert entry.full_name == "María López"  # and it reads back through the ORM


def test_renaming_replaces_the_name_tokens(make_user):
    entry = make_entry("GTM", name="María López")
    admin = make_user(role="country_admin", party_code="GTM")
    data = operations.validate_entry_data(entry.party, full_name="María Gómez", email=entry.email)
    operations.update_entry(entry, admin, data)
    db.session.commit()
    principal_user = make_user(role="liaison_officer", party_code="MEX")
    from portal.principal import Principal

    principal = Principal.for_user(principal_user)
    assert operations.search_entries(principal, operations.SearchCriteria(name="lopez")) == []
    assert operations.search_entries(principal, operations.SearchCriteria(name="gomez")) == [entry]


# --- phone restriction ----------------------------------------------------------------------------------

@pytest.mark.parametrize("viewer, sees", [
    (("liaison_officer", "MEX"), True),     # MEX takes part in GENDER (one of its entries is a member)
    (("liaison_officer", "GTM"), True),     # the entry's own party
    (("liaison_officer", "PAN"), False),    # PAN has nobody in GENDER and was never seeded there
    (("secretariat_admin", "TS"), False),
])
def test_restricted_phones_are_shown_only_within_the_networks(make_user, login_as, client, viewer, sees):
    gender = network("GENDER")
    # start from participation driven by entries only: GENDER was seeded with every member country
    db.session.execute(NetworkParty.__table__.delete().where(NetworkParty.network_id == gender.id))
    entry = make_entry("GTM", name="Rosa Díaz", phones=["+502 2411 1111"], restricted=True,
                       networks=(("GENDER", "member"),))
    make_entry("MEX", name="Otro Contacto", email="o@sre.gob.mx", networks=(("GENDER", "alternate"),))
    login_as(make_user(role=viewer[0], party_code=viewer[1]))
    detail = client.get(f"/directory/entries/{entry.id}").data.decode()
    listing = client.get("/directory/", query_string={"q": "rosa"}).data.decode()
    csv_text = client.get("/directory/export.csv", query_string={"q": "rosa"}).data.decode()
    vcf = client.get("/directory/export.vcf", query_string={"q": "rosa"}).data.decode()
    api_user = make_user(role=viewer[0], party_code=viewer[1])
    _token, secret = create_token(api_user, name="dir", scopes=["directory:read"])
    db.session.commit()
    members = client.get(f"/api/v1/networks/{gender.id}/members",
                         headers={"Authorization": f"Bearer {secret}"}).get_json()["members"]
    api_phones = next(m["phones"] for m in members if m["id"] == entry.id)
    for shown in (detail, listing, csv_text, vcf):
        assert ("+50224111111" in shown) is sees
    assert api_phones == (["+50224111111"] if sees else None)
    if not sees:
        assert "Shown only to the parties of this person" in detail
        assert ",restricted," in csv_text and "TEL" not in vcf


def test_unrestricted_phones_are_shown_to_everyone(make_user, login_as, client):
    entry = make_entry("GTM", phones=["+502 2411 1111"], restricted=False, networks=())
    login_as(make_user(role="observer", party_code="ARG"))
    assert "+50224111111" in client.get(f"/directory/entries/{entry.id}").data.decode()


# --- taking part in networks (NetworkParty) --------------------------------------------------------------

def test_participation_follows_active_member_entries(make_user, party):
    secretariat = make_user(role="secretariat_admin", party_code="TS")
    admin = make_user(role="country_admin", party_code="PAN")
    gender = network("GENDER")
    pan = party("PAN").id
    db.session.execute(NetworkParty.__table__.delete().where(NetworkParty.network_id == gender.id))
    first = make_entry("PAN", name="Uno", email="1@pan.example", networks=())
    second = make_entry("PAN", name="Dos", email="2@pan.example", networks=())
    assert not _taking_part("GENDER", pan)

    membership = operations.add_membership(first, gender, "coordinator", secretariat)
    assert _taking_part("GENDER", pan)
    operations.add_membership(second, gender, "alternate", secretariat)
    operations.remove_membership(membership, secretariat)
    assert _taking_part("GENDER", pan)  # the alternate still takes part
    operations.deactivate_entry(second, admin)
    assert not _taking_part("GENDER", pan)  # no active member entry left
    db.session.commit()
    rows = [(json.loads(r.details)["taking_part"], r.object_party) for r in _audit("network.party.sync")]
    assert rows == [(True, "PAN"), (False, "PAN")]


def test_a_party_added_directly_stays_without_entries(make_user, login_as, client, party):
    troika = network("TROIKA")
    login_as(make_user(role="secretariat_admin", party_code="TS"))
    response = client.post(f"/directory/networks/{troika.id}/parties", data={"party": party("CRI").id})
    assert response.status_code == 302
    assert _taking_part("TROIKA", party("CRI").id)
    assert [r.object_party for r in _audit("network.party.add")] == ["CRI"]

    entry = make_entry("CRI", name="Tercera", email="t@cri.example", networks=(("TROIKA", "member"),))
    operations.remove_membership(entry.memberships[0], None)
    assert _taking_part("TROIKA", party("CRI").id)  # pinned

    response = client.post(f"/directory/networks/{troika.id}/parties/{party('CRI').id}/remove")
    assert response.status_code == 302
    assert not _taking_part("TROIKA", party("CRI").id)
    assert [r.object_party for r in _audit("network.party.remove")] == ["CRI"]


def test_direct_removal_is_refused_while_entries_remain_and_for_defining_parties(make_user, login_as, client, party):
    troika, tripartite = network("TROIKA"), network("TRIPARTITE")
    secretariat = make_user(role="secretariat_admin", party_code="TS")
    operations.add_party_to_network(troika, party("HND"), secretariat)
    make_entry("HND", name="Cuarto", email="c@hnd.example", networks=(("TROIKA", "member"),))
    login_as(secretariat)
    response = client.post(f"/directory/networks/{troika.id}/parties/{party('HND').id}/remove")
    assert response.status_code == 303
    assert _taking_part("TROIKA", party("HND").id)
    for code in ("RNCOM", "TS"):
        response = client.post(f"/directory/networks/{tripartite.id}/parties/{party(code).id}/remove")
        assert response.status_code == 303
        assert _taking_part("TRIPARTITE", party(code).id)
    assert _audit("network.party.remove") == []


def test_tripartite_parties_stay_when_their_entries_leave(make_user, party):
    secretariat = make_user(role="secretariat_admin", party_code="TS")
    entry = make_entry("TS", name="Secre Taria", email="s@ts.example", networks=(("TRIPARTITE", "coordinator"),))
    operations.remove_membership(entry.memberships[0], secretariat)
    assert _taking_part("TRIPARTITE", party("TS").id)


def test_network_distribution_follows_directory_participation(make_user, party):
    """A record distributed to a network reaches a party once one of its entries joins that network."""
    from portal.access import visible
    from portal.notices.models import Notice
    from portal.principal import Principal
    from tests.notices.factories import make_notice

    gender = network("GENDER")
    db.session.execute(NetworkParty.__table__.delete().where(NetworkParty.network_id == gender.id))
    author = make_user(role="liaison_officer", party_code="GTM")
    notice = make_notice(author, level="network", network=gender, tlp="AMBER")
    reader = Principal.for_user(make_user(role="liaison_officer", party_code="NIC"))

    def sees():
        return db.session.scalar(visible(Notice, reader).where(Notice.id == notice.id)) is not None

    assert not sees()
    make_entry("NIC", name="Nica Uno", email="n@nic.example", networks=(("GENDER", "member"),))
    assert sees()


# --- staleness and reminders ----------------------------------------------------------------------------

def test_stale_entries_are_flagged(make_user, login_as, client):
    today = utcnow().date()
    old = make_entry("GTM", name="Vieja Entrada", verified=today - timedelta(days=200))
    fresh = make_entry("GTM", name="Nueva Entrada", email="n@minex.gob.gt", verified=today - timedelta(days=30))
    login_as(make_user(role="liaison_officer", party_code="MEX"))
    assert "stale-flag" in client.get(f"/directory/entries/{old.id}").data.decode()
    assert "stale-flag" not in client.get(f"/directory/entries/{fresh.id}").data.decode()
    stale_list = client.get("/directory/", query_string={"stale": "1"}).data.decode()
    assert "Vieja Entrada" in stale_list and "Nueva Entrada" not in stale_list


def test_stale_cutoff_is_six_calendar_months():
    assert operations.stale_cutoff(date(2026, 8, 31)) == date(2026, 2, 28)
    assert operations.stale_cutoff(date(2026, 3, 15)) == date(2025, 9, 15)


def test_reminder_is_queued_once_per_party_per_day(app, make_user):
    today = utcnow().date()
    admins = [make_user(role="country_admin", party_code="GTM") for _ in range(2)]
    make_user(role="liaison_officer", party_code="GTM")
    make_user(role="country_admin", party_code="MEX")
    for n in range(3):
        make_entry("GTM", name=f"Persona {n}", email=f"p{n}@minex.gob.gt", verified=today - timedelta(days=190))
    make_entry("GTM", name="Al Día", email="ok@minex.gob.gt", verified=today)
    make_entry("GTM", name="Inactiva", email="x@minex.gob.gt", verified=today - timedelta(days=400), active=False)
    make_entry("MEX", name="Fresca", email="f@sre.gob.mx", verified=today)
    runner = app.test_cli_runner()

    first = runner.invoke(args=["directory", "remind"])
    assert first.exit_code == 0, first.output
    assert "GTM: 3 stale entries, 2 country admin(s) reminded" in first.output
    messages = db.session.scalars(select(OutboxMessage)).all()
    assert sorted(m.recipient for m in messages) == sorted(a.email for a in admins)
    assert all("3 entries of GTM" in m.body and "Persona" not in m.body for m in messages)
    notes = db.session.scalars(select(Notification).where(Notification.kind == "directory.stale")).all()
    assert sorted(n.user_id for n in notes) == sorted(a.id for a in admins)
    assert notes[0].link == "/directory/?party=GTM&stale=1"
    assert db.session.get(DirectoryReminder, (admins[0].party_id, today)).stale_count == 3
    audit = _audit("directory.remind")
    assert [(r.object_party, r.actor_role, json.loads(r.details)["stale"]) for r in audit] == [("GTM", "cli", 3)]

    second = runner.invoke(args=["directory", "remind"])
    assert second.exit_code == 0
    assert "0 parties reminded, 1 already reminded today" in second.output
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 2
    assert db.session.scalar(select(func.count(Notification.id)).where(Notification.kind == "directory.stale")) == 2

    tomorrow = runner.invoke(args=["directory", "remind", "--date", (today + timedelta(days=1)).isoformat()])
    assert "GTM: 3 stale entries" in tomorrow.output


# --- exports ----------------------------------------------------------------------------------------------

def test_csv_export_contents_and_audit(make_user, login_as, client):
    make_entry("GTM", name="María López", title="=HYPERLINK(\"x\")", phones=["+502 2411 1111"],
               languages=("es", "en"), networks=(("LON-CP", "coordinator"), ("GENDER", "member")))
    make_entry("MEX", name="Juan Ruiz", email="juan@sre.gob.mx", networks=())
    login_as(make_user(role="liaison_officer", party_code="HND"))
    response = client.get("/directory/export.csv", query_string={"party": "GTM"})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == "attachment; filename=rcm-directory.csv"
    rows = list(csv.DictReader(io.StringIO(response.data.decode())))
    assert len(rows) == 1
    row = rows[0]
    assert row["name"] == "María López" and row["party"] == "GTM" and row["email"] == "maria.lopez@minex.gob.gt"
    assert row["title"] == "'=HYPERLINK(\"x\")"  # never a live formula
    assert row["phones"] == "+50224111111" and row["languages"] == "es en"
    assert row["networks"] == "LON-CP:coordinator GENDER:member" and row["stale"] == "no"
    audit = _audit("directory.export")
    assert len(audit) == 1
    details = json.loads(audit[0].details)
    assert details["format"] == "csv" and details["count"] == 1 and details["filters"]["party"] is True
    assert "López" not in audit[0].details and "@" not in audit[0].details


def test_vcard_export_is_vcard_4(make_user, login_as, client):
    make_entry("GTM", name="María López", title="Cónsul; adjunta", institution="MINEX, Guatemala",
               phones=["+502 2411 1111"], languages=("es", "en"), time_zone="America/Guatemala",
               verified=date(2026, 1, 5))
    login_as(make_user(role="liaison_officer", party_code="GTM"))
    response = client.get("/directory/export.vcf", query_string={"q": "lopez"})
    assert response.status_code == 200 and response.mimetype == "text/vcard"
    body = response.data.decode()
    assert body.startswith("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:María López\r\n")
    for line in ("TITLE:Cónsul\\; adjunta", "ORG:MINEX\\, Guatemala", "EMAIL;TYPE=work:maria.lopez@minex.gob.gt",
                 "TEL;VALUE=uri;TYPE=work,voice:tel:+50224111111", "LANG;PREF=1:es", "LANG;PREF=2:en",
                 "TZ;VALUE=text:America/Guatemala", "REV:20260105T000000Z", "END:VCARD"):
        assert line + "\r\n" in body
    assert all(len(line.encode()) <= 75 for line in body.split("\r\n"))
    assert json.loads(_audit("directory.export")[0].details)["format"] == "vcf"


def test_vcard_long_lines_are_folded():
    from portal.directory.export import _fold

    folded = _fold("NOTE:" + "ñ" * 100)
    assert all(len(part.encode()) <= 75 for part in folded.split("\r\n"))
    assert folded.replace("\r\n ", "") == "NOTE:" + "ñ" * 100


# --- API ----------------------------------------------------------------------------------------------------

def _bearer(make_user, scopes, role="liaison_officer", party_code="GTM"):
    user = make_user(role=role, party_code=party_code)
    _token, secret = create_token(user, name="directory client", scopes=scopes)
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def test_api_lists_networks_with_their_parties(make_user, client):
    response = client.get("/api/v1/networks", headers=_bearer(make_user, ["directory:read"]))
    assert response.status_code == 200
    by_code = {n["code"]: n for n in response.get_json()["networks"]}
    assert len(by_code) == 7
    assert by_code["TRIPARTITE"]["parties"] == ["RNCOM", "TS"]
    assert by_code["LON-CP"]["name"] == "Liaison Officer Network for Consular Protection"
    assert set(by_code["LON-CP"]) == {"id", "code", "name", "name_es", "parties"}


def test_api_members_of_a_network(make_user, client):
    entry = make_entry("GTM", name="María López", networks=(("LON-CP", "coordinator"),))
    make_entry("MEX", name="Fuera de Red", email="f@sre.gob.mx", networks=(("GENDER", "member"),))
    make_entry("HND", name="Dado de Baja", email="d@hnd.example", networks=(("LON-CP", "member"),), active=False)
    response = client.get(f"/api/v1/networks/{network('LON-CP').id}/members",
                          headers=_bearer(make_user, ["directory:read"], party_code="PAN"))
    assert response.status_code == 200
    body = response.get_json()
    assert body["network"]["code"] == "LON-CP"
    assert [(m["id"], m["name"], m["role"], m["party"]) for m in body["members"]] == [
        (entry.id, "María López", "coordinator", "GTM")]


@pytest.mark.parametrize("path", ["/api/v1/networks", "/api/v1/networks/{id}/members"])
def test_api_needs_the_directory_scope(make_user, client, path):
    url = path.format(id=network("LON-CP").id)
    assert client.get(url).status_code == 401
    response = client.get(url, headers=_bearer(make_user, ["alerts:read"]))
    assert response.status_code == 403
    assert response.get_json()["error"] == "this token lacks the scope directory:read"
    assert json.loads(_audit("api.scope.denied")[-1].details) == {"scope": "directory:read"}


def test_api_unknown_network_is_404(make_user, client):
    response = client.get("/api/v1/networks/999999/members", headers=_bearer(make_user, ["directory:read"]))
    assert response.status_code == 404
    assert response.get_json() == {"error": "no such network", "status": 404}
