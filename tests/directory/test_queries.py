"""Reading the directories: search by blind index, encryption at rest, pagination, the phone restriction
and staleness."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import text

from auth.tokens import create_token
from portal.directory import queries
from portal.extensions import db
from portal.parties.models import NetworkParty
from portal.timeutil import utcnow
from tests.directory.factories import make_entry, network

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
    csv_text = client.post("/directory/export.csv", query_string={"q": "rosa"}).data.decode()
    vcf = client.post("/directory/export.vcf", query_string={"q": "rosa"}).data.decode()
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
    assert queries.stale_cutoff(date(2026, 8, 31)) == date(2026, 2, 28)
    assert queries.stale_cutoff(date(2026, 3, 15)) == date(2025, 9, 15)
