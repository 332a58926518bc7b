"""Demo directory entries for ``flask demo``: liaison officers of GTM and MEX in several networks, one
entry left unverified for a year (so the country admin's dashboard has something to verify)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from portal.cli_support import register_demo_content
from portal.directory.operations import add_membership, create_entry
from portal.directory.validation import validate_entry_data
from portal.extensions import db
from portal.parties.models import Network, Party
from portal.principal import Principal
from portal.timeutil import utcnow

# party, name, e-mail, title, institution, networks (code, role)
ENTRIES = (
    ("GTM", "María López", "maria.lopez@gtm.demo.rcm.example", "Consul", "Ministerio de Relaciones Exteriores",
     (("LON-CP", "coordinator"), ("FOCAL", "member"))),
    ("GTM", "Carlos Pérez", "carlos.perez@gtm.demo.rcm.example", "Document examiner", "Instituto Guatemalteco de Migración",
     (("LON-SMT", "member"),)),
    ("MEX", "Lucía Hernández", "lucia.hernandez@mex.demo.rcm.example", "Liaison officer", "Instituto Nacional de Migración",
     (("LON-SMT", "coordinator"), ("GENDER", "member"))),
    ("MEX", "Jorge Ramírez", "jorge.ramirez@mex.demo.rcm.example", "Consul", "Secretaría de Relaciones Exteriores",
     (("LON-CP", "member"), ("WDC-CONS", "member"))),
)


def fill(accounts) -> str:
    networks = {network.code: network for network in db.session.scalars(select(Network))}
    made = []
    for code, name, email, title, institution, memberships in ENTRIES:
        principal = Principal.for_user(accounts[(code, "admin")])
        party = db.session.get(Party, principal.party_id)
        entry = create_entry(principal, validate_entry_data(party, full_name=name, email=email, title=title,
                                                             institution=institution, languages=["es", "en"]))
        for network_code, role in memberships:
            add_membership(principal, entry, networks[network_code], role)
        made.append(entry)
    made[1].last_verified_on = utcnow().date() - timedelta(days=400)  # due for verification
    return f"{len(made)} directory entries in {len({n for e in ENTRIES for n, _r in e[5]})} networks"


register_demo_content("directory", fill, order=30)
