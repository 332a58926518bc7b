"""Reference parties and networks, taken from the seed plans (see ../shared/seeds/README.md).

Country names come from pycountry in English and Spanish; idempotent, so ``setup`` can run any time.
"""

from __future__ import annotations

import gettext

import pycountry
from sqlalchemy import select

from portal.extensions import db
from portal.parties.models import Network, NetworkParty, Party

MEMBER_COUNTRIES = ("BLZ", "CAN", "CRI", "DOM", "SLV", "GTM", "HND", "MEX", "NIC", "PAN", "USA")
OBSERVER_COUNTRIES = ("ARG", "COL", "ECU", "JAM", "PER")
SECRETARIAT = ("TS", "Technical Secretariat of the RCM", "Secretaría Técnica de la CRM")
ORGANISATIONS = (
    ("IOM", "International Organization for Migration", "Organización Internacional para las Migraciones"),
    ("UNHCR", "Office of the United Nations High Commissioner for Refugees",
     "Oficina del Alto Comisionado de las Naciones Unidas para los Refugiados"),
    ("RNCOM", "Regional Network of Civil Society Organizations for Migration",
     "Red Regional de Organizaciones Civiles para las Migraciones"),
)
# Every party's code (the vocabulary of a "reporting party" filter, as the API declares it).
PARTY_CODES = (*MEMBER_COUNTRIES, *OBSERVER_COUNTRIES, SECRETARIAT[0], *(code for code, _en, _es in ORGANISATIONS))
# code, English name, Spanish name, parties taking part ("members" = every member country)
NETWORKS = (
    ("LON-CP", "Liaison Officer Network for Consular Protection",
     "Red de Funcionarios de Enlace para la Protección Consular", "members"),
    ("LON-SMT", "Liaison Officer Network to Combat Migrant Smuggling and Trafficking in Persons",
     "Red de Funcionarios de Enlace para el Combate al Tráfico Ilícito de Migrantes y la Trata de Personas",
     "members"),
    ("FOCAL", "RCM focal points", "Puntos focales de la CRM", "members"),
    ("WDC-CONS", "Network of consulates in Washington on extra-regional flows",
     "Red de consulados en Washington sobre flujos extrarregionales", "members"),
    ("TRIPARTITE", "RNCOM-RCM-TS tripartite team", "Equipo tripartito RROCM-CRM-ST", ("RNCOM", "TS")),
    ("TROIKA", "RCM Troika", "Troika de la CRM", ()),
    ("GENDER", "Gender and migration contacts", "Contactos de género y migración", "members"),
)


def _spanish_country_names():
    return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["es"], fallback=True)


def _upsert_party(code: str, kind: str, name_en: str, name_es: str) -> Party:
    party = db.session.scalar(select(Party).where(Party.code == code))
    if party is None:
        party = Party(code=code, kind=kind, name_en=name_en, name_es=name_es)
        db.session.add(party)
    else:
        party.kind, party.name_en, party.name_es = kind, name_en, name_es
    return party


def load_reference_parties() -> None:
    """Create or update every party and network (idempotent)."""
    spanish = _spanish_country_names()
    for kind, codes in (("member", MEMBER_COUNTRIES), ("observer", OBSERVER_COUNTRIES)):
        for code in codes:
            name = pycountry.countries.get(alpha_3=code).name
            _upsert_party(code, kind, name, spanish.gettext(name))
    _upsert_party(SECRETARIAT[0], "secretariat", SECRETARIAT[1], SECRETARIAT[2])
    for code, name_en, name_es in ORGANISATIONS:
        _upsert_party(code, "organisation", name_en, name_es)
    db.session.flush()
    parties = {party.code: party for party in db.session.scalars(select(Party))}
    for code, name_en, name_es, taking_part in NETWORKS:
        network = db.session.scalar(select(Network).where(Network.code == code))
        if network is None:
            network = Network(code=code, name_en=name_en, name_es=name_es)
            db.session.add(network)
            db.session.flush()
            codes = MEMBER_COUNTRIES if taking_part == "members" else taking_part
            for party_code in codes:
                db.session.add(NetworkParty(network_id=network.id, party_id=parties[party_code].id))
        else:
            network.name_en, network.name_es = name_en, name_es
    db.session.flush()
