"""Reading the directories: the loaders, search and lists, staleness, who takes part in a network, and
which phones a reader may see.

Every read of entries goes through ``portal.access.visible(DirectoryEntry)`` (the ``DirectoryRecordMixin``
rule: active entries for every holder of ``view_directory``, deactivated ones for their own party's
maintainers and the network maintainers); networks and memberships through ``get_visible_or_404`` too
(their rules are declared on their models). A loader that refuses writes the denial's audit entry itself,
so views never call ``record()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from math import ceil

from flask import abort
from sqlalchemy import and_, exists, func, or_, select

from portal.access import get_visible_or_404, may_change, owns, refuse_as_missing, visible
from portal.audit.service import record, record_listing
from portal.directory.indexes import name_index, name_tokens, normalise_name, token_index
from portal.directory.models import (
    MEMBERSHIP_ROLES,
    DirectoryEntry,
    DirectoryNameToken,
    NetworkMembership,
    NetworkPartyPin,
)
from portal.extensions import db
from portal.parties.models import Network, NetworkParty, Party
from portal.parties.seed import NETWORKS as SEEDED_NETWORKS
from portal.principal import Principal
from portal.timeutil import utcnow

STALE_MONTHS = 6
# Parties that are part of a network's definition (seeded by name): always taking part.
FIXED_PARTICIPANTS: dict[str, frozenset[str]] = {
    code: frozenset(taking_part) for code, _en, _es, taking_part in SEEDED_NETWORKS if taking_part != "members"
}
# How the directory's audit entries name its records.
ENTRY, MEMBERSHIP, NETWORK = "directory_entry", "network_membership", "network"


# --- loaders ------------------------------------------------------------------------------------------

def get_entry_or_404(principal: Principal | None, entry_id: int) -> DirectoryEntry:
    """An entry the principal may see; any other answers 404 (audited as ``directory_entries.access``)."""
    return get_visible_or_404(DirectoryEntry, entry_id, principal, object_type=ENTRY)


def get_manageable_entry_or_404(principal: Principal | None, entry_id: int) -> DirectoryEntry:
    """An entry the principal may change: one of its own party's, for its directory maintainers
    (``manage_party_directory``). Any other entry answers and is audited exactly as one that does not
    exist, so another party's entry is not even confirmed."""
    entry = get_entry_or_404(principal, entry_id)
    if not may_change(entry, "manage_party_directory", principal):
        refuse_as_missing(DirectoryEntry, entry_id, object_type=ENTRY)
    return entry


def get_membership_or_404(principal: Principal | None, membership_id: int) -> NetworkMembership:
    """A membership of an entry the principal may see (``NetworkMembership.visible_through``)."""
    return get_visible_or_404(NetworkMembership, membership_id, principal, object_type=MEMBERSHIP)


def get_network_or_404(principal: Principal | None, network_id: int) -> Network:
    """A network, for the holders of ``view_directory`` (``Network.visible_with_permission``)."""
    return get_visible_or_404(Network, network_id, principal, object_type=NETWORK)


def get_party_or_404(party_id: int) -> Party:
    """A party (parties are public reference data: not audited)."""
    party = db.session.get(Party, party_id)
    if party is None:
        abort(404)
    return party


# --- staleness ---------------------------------------------------------------------------------------

def stale_cutoff(today: date | None = None) -> date:
    """Entries last verified before this day are stale (six calendar months ago)."""
    today = today or utcnow().date()
    month = today.month - STALE_MONTHS
    year = today.year
    while month < 1:
        month += 12
        year -= 1
    day = today.day
    while True:
        try:
            return date(year, month, day)
        except ValueError:
            day -= 1


def is_stale(entry: DirectoryEntry, today: date | None = None) -> bool:
    """Whether the entry has not been verified for ``STALE_MONTHS`` months."""
    return entry.last_verified_on is None or entry.last_verified_on < stale_cutoff(today)


def stale_clause(today: date | None = None):
    """SQL condition: the entries ``is_stale`` as of ``today``."""
    return or_(DirectoryEntry.last_verified_on.is_(None), DirectoryEntry.last_verified_on < stale_cutoff(today))


# --- phones ------------------------------------------------------------------------------------------

def viewer_network_ids(principal: Principal | None) -> frozenset[int]:
    """The networks the principal's party takes part in."""
    if principal is None:
        return frozenset()
    return frozenset(db.session.scalars(select(NetworkParty.network_id).where(NetworkParty.party_id == principal.party_id)))


def phones_visible(entry: DirectoryEntry, principal: Principal | None, network_ids: frozenset[int]) -> bool:
    """Restricted phones are shown to parties taking part in one of the entry's networks, and to the
    entry's own party (whose admins maintain them)."""
    if not entry.phones_restricted:
        return True
    if principal is None:
        return False
    return owns(entry, principal) or bool(entry.network_ids & network_ids)


def phone_rule(principal: Principal | None, entries) -> dict[int, bool]:
    """entry id -> whether the principal may see its phones."""
    networks = viewer_network_ids(principal)
    return {entry.id: phones_visible(entry, principal, networks) for entry in entries}


# --- search and lists --------------------------------------------------------------------------------

@dataclass
class SearchCriteria:
    """The filters of a directory search (all optional)."""

    name: str = ""
    party_code: str = ""
    network_id: int | None = None
    institution: str = ""
    include_inactive: bool = False
    stale_only: bool = False

    def used(self) -> dict[str, bool]:
        """Which filters were used (for the audit: never the searched name itself)."""
        return {"name": bool(self.name.strip()), "party": bool(self.party_code), "network": self.network_id is not None,
                "institution": bool(self.institution.strip()), "stale_only": self.stale_only}


def _name_clause(name: str):
    """The whole name's index, or every token of it among the entry's name tokens (None: nothing to match)."""
    tokens = name_tokens(name)
    if not tokens:
        return None
    token_match = and_(*[
        exists().where(DirectoryNameToken.entry_id == DirectoryEntry.id,
                       DirectoryNameToken.token_index == token_index(token))
        for token in tokens
    ])
    return or_(DirectoryEntry.name_index == name_index(name), token_match)


def search_entries(principal: Principal | None, criteria: SearchCriteria) -> list[DirectoryEntry]:
    """Visible entries matching ``criteria``, sorted by party code and name (names are encrypted)."""
    stmt = visible(DirectoryEntry, principal)
    if not criteria.include_inactive:
        stmt = stmt.where(DirectoryEntry.active.is_(True))
    if criteria.name.strip():
        name_match = _name_clause(criteria.name)
        if name_match is None:
            return []
        stmt = stmt.where(name_match)
    if criteria.party_code:
        stmt = stmt.join(Party, Party.id == DirectoryEntry.party_id).where(Party.code == criteria.party_code.upper())
    if criteria.network_id is not None:
        stmt = stmt.where(exists().where(NetworkMembership.entry_id == DirectoryEntry.id,
                                         NetworkMembership.network_id == criteria.network_id))
    if criteria.institution.strip():
        stmt = stmt.where(DirectoryEntry.institution_key.contains(normalise_name(criteria.institution), autoescape=True))
    if criteria.stale_only:
        stmt = stmt.where(stale_clause())
    entries = db.session.scalars(stmt).unique().all()
    return sorted(entries, key=lambda entry: (entry.party.code, normalise_name(entry.full_name), entry.id))


def network_members(principal: Principal | None, network_id: int) -> list[tuple[NetworkMembership, DirectoryEntry]]:
    """(membership, entry) of the visible active entries in a network: coordinators first, then by name."""
    entries = search_entries(principal, SearchCriteria(network_id=network_id))
    order = {role: n for n, role in enumerate(MEMBERSHIP_ROLES)}
    rows = []
    for entry in entries:
        for membership in entry.memberships:
            if membership.network_id == network_id:
                rows.append((membership, entry))
    return sorted(rows, key=lambda row: (order.get(row[0].role, 9), row[1].party.code, normalise_name(row[1].full_name)))


class ListPage:
    """A page of an already sorted list, shaped like Flask-SQLAlchemy's pagination for the macro."""

    def __init__(self, items: list, page: int, per_page: int):
        self.total = len(items)
        self.per_page = per_page
        self.pages = max(1, ceil(self.total / per_page))
        self.page = min(max(page, 1), self.pages)
        start = (self.page - 1) * per_page
        self.items = items[start:start + per_page]
        self.has_prev = self.page > 1
        self.has_next = self.page < self.pages
        self.prev_num = self.page - 1 if self.has_prev else None
        self.next_num = self.page + 1 if self.has_next else None


def all_networks() -> list[Network]:
    """Every network, by code."""
    return list(db.session.scalars(select(Network).order_by(Network.code)))


def active_parties() -> list[Party]:
    """The active parties, by code (the choices of the party fields)."""
    return list(db.session.scalars(select(Party).where(Party.active.is_(True)).order_by(Party.code)))


def network_counts() -> dict[int, int]:
    """Active entries per network id."""
    rows = db.session.execute(
        select(NetworkMembership.network_id, func.count(NetworkMembership.id))
        .join(DirectoryEntry, DirectoryEntry.id == NetworkMembership.entry_id)
        .where(DirectoryEntry.active.is_(True))
        .group_by(NetworkMembership.network_id)
    )
    return {network_id: count for network_id, count in rows}


# --- who takes part in a network (the rules: portal.directory.operations) ---------------------------------

def is_fixed_participant(network: Network, party: Party) -> bool:
    """Whether the party is part of the network's definition (seeded by name)."""
    return party.code in FIXED_PARTICIPANTS.get(network.code, frozenset())


def active_member_entries(network_id: int, party_id: int) -> int:
    """How many active entries of the party are members of the network."""
    return db.session.scalar(
        select(func.count(NetworkMembership.id))
        .join(DirectoryEntry, DirectoryEntry.id == NetworkMembership.entry_id)
        .where(NetworkMembership.network_id == network_id, DirectoryEntry.party_id == party_id,
               DirectoryEntry.active.is_(True))
    ) or 0


def is_pinned(network_id: int, party_id: int) -> bool:
    """Whether the secretariat added the party to the network directly."""
    return db.session.get(NetworkPartyPin, (network_id, party_id)) is not None


def pinned_party_ids(network_id: int) -> set[int]:
    """The parties the secretariat added to the network directly."""
    return set(db.session.scalars(select(NetworkPartyPin.party_id).where(NetworkPartyPin.network_id == network_id)))


# --- the JSON view of an entry ----------------------------------------------------------------------

def entry_summary(entry: DirectoryEntry, show_phones: bool, today: date | None = None) -> dict:
    """The JSON/export view of an entry (phones only when the viewer may see them)."""
    return {
        "id": entry.id,
        "name": entry.full_name,
        "title": entry.title,
        "institution": entry.institution,
        "party": entry.party.code,
        "email": entry.email,
        "phones": entry.phones if show_phones else None,
        "phones_restricted": entry.phones_restricted,
        "languages": list(entry.languages or []),
        "time_zone": entry.time_zone,
        "last_verified": entry.last_verified_on.isoformat() if entry.last_verified_on else None,
        "stale": is_stale(entry, today),
        "active": entry.active,
        "memberships": [{"network_id": m.network_id, "network": m.network.code, "role": m.role}
                        for m in entry.memberships],
    }


def read_network_members(principal: Principal | None, network: Network) -> list[dict]:
    """The JSON view of each visible active entry in ``network`` with its role there (``network_members``
    order; phones by ``phones_visible``), the reading audited (``directory.api.members``, with the count)."""
    visible_networks = viewer_network_ids(principal)
    result = []
    for membership, entry in network_members(principal, network.id):
        item = entry_summary(entry, phones_visible(entry, principal, visible_networks))
        item["role"] = membership.role
        result.append(item)
    record("directory.api.members", object_type="network", object_id=network.id, details={"count": len(result)})
    return result


def read_directory_page(principal: Principal, criteria: SearchCriteria, page: int, per_page: int) -> ListPage:
    """One page of the directory search, its reading audited like a detail page: which entries it listed
    and which filters were used (never the searched name or institution)."""
    result = ListPage(search_entries(principal, criteria), page, per_page)
    record_listing("directory.list", object_type=ENTRY, ids=[entry.id for entry in result.items],
                   principal=principal, page=result.page, filters=criteria.used())
    return result
