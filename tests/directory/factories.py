"""Build directory entries directly (no audit of the entry itself) for access, listing and export tests,
and the small readers the directory tests share."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from portal.audit.models import AuditEntry
from portal.directory import operations
from portal.directory.models import DirectoryEntry, NetworkMembership
from portal.directory.validation import validate_entry_data
from portal.extensions import db
from portal.parties.models import Network, NetworkParty, Party
from portal.timeutil import utcnow


def network(code: str) -> Network:
    return db.session.scalar(select(Network).where(Network.code == code))


def audit_rows(action: str) -> list[AuditEntry]:
    """The audit entries of ``action``, oldest first."""
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)).all()


def taking_part(network_code: str, party_id: int) -> bool:
    """Whether the party takes part in the network (``NetworkParty``)."""
    return db.session.get(NetworkParty, (network(network_code).id, party_id)) is not None


def make_entry(party_code="GTM", *, name="María López", email="maria.lopez@minex.gob.gt", title="Consul",
               institution="Ministerio de Relaciones Exteriores", phones=(), restricted=False, languages=("es",),
               time_zone="America/Guatemala", networks=(("LON-CP", "member"),), verified: date | None = None,
               active=True) -> DirectoryEntry:
    """An entry of ``party_code`` with memberships ``(network code, role)``; participations are synced."""
    party = db.session.scalar(select(Party).where(Party.code == party_code))
    data = validate_entry_data(party, full_name=name, email=email, title=title, institution=institution,
                               phones=list(phones), languages=list(languages), time_zone=time_zone,
                               phones_restricted=restricted)
    entry = DirectoryEntry(party_id=party.id, party=party, active=active, name_tokens=[],
                           last_verified_on=verified or utcnow().date())
    operations._apply(entry, data)
    db.session.add(entry)
    db.session.flush()
    for code, role in networks:
        db.session.add(NetworkMembership(entry=entry, network_id=network(code).id, role=role))
    db.session.flush()
    for code, _role in networks:
        operations.sync_network_party(None, network(code).id, party.id)
    db.session.commit()
    return entry
