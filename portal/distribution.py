"""Whom a shared record may be distributed to: the recipient parties and networks that alerts, notices,
submissions and library documents all offer, and the checks of a chosen distribution.

Only active member and secretariat parties are offered as recipients: observer countries and
organisations only ever see members-wide CLEAR/GREEN records (``portal.access``), so listing them would be
a silent no-op. The owning party is never its own recipient.
"""

from __future__ import annotations

from sqlalchemy import select

from portal.access import RECIPIENT_KINDS, DistributionError, network_members
from portal.extensions import db
from portal.parties.models import Network, Party


def recipient_parties(owner_party_id: int) -> list[Party]:
    """The parties a record of ``owner_party_id`` may list as recipients, by code."""
    return list(db.session.scalars(
        select(Party).where(Party.active.is_(True), Party.kind.in_(RECIPIENT_KINDS), Party.id != owner_party_id)
        .order_by(Party.code)))


def recipient_ids_by_code(owner_party_id: int) -> dict[str, int]:
    """Code -> id of the parties a record of ``owner_party_id`` may list as recipients."""
    return {party.code: party.id for party in recipient_parties(owner_party_id)}


def networks() -> list[Network]:
    """Every network a record may be distributed to, by code."""
    return list(db.session.scalars(select(Network).order_by(Network.code)))


def check_recipients(owner_party_id: int, level: str, party_ids, network_id) -> tuple[list[int], int | None]:
    """The listed parties (sorted, only for a ``parties`` distribution) and the network (only for a
    ``network`` one) of a chosen distribution; raises ``DistributionError`` for a party that may not be
    listed or a network that does not exist."""
    party_ids = sorted(set(party_ids or ())) if level == "parties" else []
    network_id = network_id if level == "network" else None
    if party_ids:
        allowed = set(recipient_ids_by_code(owner_party_id).values())
        if any(party_id not in allowed for party_id in party_ids):
            raise DistributionError("parties", "unknown or ineligible recipient party")
    if network_id is not None and db.session.get(Network, network_id) is None:
        raise DistributionError("network", "unknown network")
    return party_ids, network_id


def expand_recipients(owner_party_id: int, party_ids, network_ids) -> list[int]:
    """Listed parties plus the eligible parties of the networks now (``portal.access.network_members``, what
    a distribution sent now reaches), without the owning party."""
    ids = set(party_ids) | set(network_members(network_ids))
    ids.discard(owner_party_id)
    return sorted(ids)
