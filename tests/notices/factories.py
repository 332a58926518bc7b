"""Build notices directly (no notifications, no audit) for access and listing tests."""

from __future__ import annotations

from sqlalchemy import select

from portal.access import set_distribution
from portal.extensions import db
from portal.notices.models import Notice
from portal.parties.models import Network, NetworkParty, Party


def party_id(code: str) -> int:
    return db.session.scalar(select(Party.id).where(Party.code == code))


def make_network(code: str, party_codes) -> Network:
    """A test network with the given parties taking part."""
    network = Network(code=code, name_en=f"{code} network", name_es=f"Red {code}")
    db.session.add(network)
    db.session.flush()
    for party_code in party_codes:
        db.session.add(NetworkParty(network_id=network.id, party_id=party_id(party_code)))
    db.session.commit()
    return network


def make_notice(author, *, level="party", tlp="AMBER", parties=(), network=None, title="Meeting call",
                body="The next meeting is on Tuesday.", created_at=None) -> Notice:
    """A notice owned by ``author``'s party; ``parties`` are party codes, ``network`` a Network."""
    notice = Notice(title=title, body=body, owner_party_id=author.party_id, created_by_id=author.id)
    if created_at is not None:
        notice.created_at = created_at
    db.session.add(notice)
    db.session.flush()
    set_distribution(notice, level=level, tlp=tlp, party_ids=[party_id(code) for code in parties],
                     network_id=network.id if network is not None else None)
    db.session.commit()
    return notice
