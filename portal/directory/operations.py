"""The operations that change the directories: entries, memberships, direct participations and networks.

Each takes the acting principal first, flushes (never commits: the request or the command commits once)
and writes its audit entry (never a name, e-mail or phone: only ids, codes and field names). Who may call
which is decided before, by the route's permission and the loaders of ``portal.directory.queries``.

Who takes part in a network (``NetworkParty``, which drives distribution level "network"):
- a party takes part while at least one of its *active* entries is a member of the network (any role);
- a party the secretariat added directly (a ``NetworkPartyPin``) takes part regardless of entries,
  until the secretariat removes it; removing it directly is refused while the party still has active
  member entries there (their memberships must go first, so the directory never contradicts the list);
- the parties a network was *seeded with by name* (not "every member country": the RNCOM-RCM-TS
  tripartite team's RNCOM and TS) are part of its definition: always taking part, never removed;
- seeded member-country participations of the member-wide networks count as entry-driven: they stand
  until the first time that party's participation is recomputed (an entry of that party joins or leaves
  the network), and from then on follow the rule above.

A change of participation is audited (``network.party.sync``) and told to the network's parties
(``portal.directory.notify``). It matters: a distribution to a network reaches the parties taking part
when it is sent, and a party that stops taking part no longer sees it at once (``portal.access``).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from portal.audit.service import record
from portal.directory.indexes import name_index, normalise_name, token_indexes
from portal.directory.models import DirectoryEntry, DirectoryNameToken, NetworkMembership, NetworkPartyPin
from portal.directory.notify import tell_network_of_change
from portal.directory.queries import ENTRY, NETWORK, active_member_entries, is_fixed_participant, is_pinned
from portal.directory.validation import DirectoryError, EntryData, clean_network_code, clean_role
from portal.extensions import db
from portal.parties.models import Network, NetworkParty, Party
from portal.timeutil import utcnow

# --- entries -----------------------------------------------------------------------------------------


def _apply(entry: DirectoryEntry, data: EntryData) -> list[str]:
    """Copy ``data`` onto ``entry`` (re-indexing a changed name); returns the names of the fields that changed."""
    changed = []
    values = {
        "full_name": data.full_name, "email": data.email, "title": data.title, "institution": data.institution,
        "phones": data.phones, "languages": data.languages, "time_zone": data.time_zone,
        "phones_restricted": data.phones_restricted,
    }
    for name, value in values.items():
        if entry.id is None or getattr(entry, name) != value:
            changed.append(name)
            setattr(entry, name, value)
    entry.institution_key = normalise_name(data.institution)
    if "full_name" in changed:
        entry.name_index = name_index(data.full_name)
        wanted = set(token_indexes(data.full_name))
        entry.name_tokens = [token for token in entry.name_tokens if token.token_index in wanted]
        have = {token.token_index for token in entry.name_tokens}
        entry.name_tokens.extend(DirectoryNameToken(token_index=index) for index in sorted(wanted - have))
    return changed


def _audit_entry(principal, action: str, entry: DirectoryEntry, details: dict) -> None:
    record(action, object_type=ENTRY, object_id=entry.id, object_party=entry.party.code, details=details,
           principal=principal)


def create_entry(principal, data: EntryData) -> DirectoryEntry:
    """A new entry of the principal's own party, verified today by its creator."""
    party = db.session.get(Party, principal.party_id)
    entry = DirectoryEntry(party_id=party.id, party=party, active=True, last_verified_on=utcnow().date(),
                           verified_by_id=principal.user_id, name_tokens=[])
    changed = _apply(entry, data)
    db.session.add(entry)
    db.session.flush()
    _audit_entry(principal, "directory.entry.create", entry, {
        "fields": sorted(changed), "phones": len(data.phones), "phones_restricted": data.phones_restricted})
    return entry


def update_entry(principal, entry: DirectoryEntry, data: EntryData) -> list[str]:
    """Change an entry's fields; returns the names of those that changed (audited only when some did)."""
    changed = _apply(entry, data)
    if changed:
        entry.updated_at = utcnow()
        db.session.flush()
        _audit_entry(principal, "directory.entry.update", entry, {"fields": sorted(changed)})
    return changed


def verify_entry(principal, entry: DirectoryEntry) -> None:
    """Mark the entry verified today by the principal."""
    previous = entry.last_verified_on
    entry.last_verified_on = utcnow().date()
    entry.verified_by_id = principal.user_id
    db.session.flush()
    _audit_entry(principal, "directory.entry.verify", entry,
                 {"previous": previous.isoformat() if previous else None})


def deactivate_entry(principal, entry: DirectoryEntry) -> None:
    """Deactivate an entry; its networks' participations are recomputed (memberships are kept)."""
    if not entry.active:
        return
    entry.active = False
    db.session.flush()
    _audit_entry(principal, "directory.entry.deactivate", entry, {"networks": sorted(entry.network_ids)})
    for network_id in sorted(entry.network_ids):
        sync_network_party(principal, network_id, entry.party_id)


# --- memberships and participations ---------------------------------------------------------------------

def sync_network_party(principal, network_id: int, party_id: int) -> bool:
    """Make ``NetworkParty`` say whether the party takes part (see the module docstring); returns it."""
    network = db.session.get(Network, network_id)
    party = db.session.get(Party, party_id)
    wanted = (is_fixed_participant(network, party) or is_pinned(network_id, party_id)
              or active_member_entries(network_id, party_id) > 0)
    current = db.session.get(NetworkParty, (network_id, party_id))
    if wanted and current is None:
        db.session.add(NetworkParty(network_id=network_id, party_id=party_id))
    elif not wanted and current is not None:
        db.session.delete(current)
    else:
        return wanted
    db.session.flush()
    told = tell_network_of_change(network, party, wanted)
    record("network.party.sync", object_type=NETWORK, object_id=network_id, object_party=party.code,
           details={"network": network.code, "taking_part": wanted, "told": told}, principal=principal)
    return wanted


def add_membership(principal, entry: DirectoryEntry, network: Network, role: str) -> NetworkMembership:
    """The entry joins the network with ``role``; its party's participation is recomputed."""
    clean_role(role)
    if not entry.active:
        raise DirectoryError("network", _l("A deactivated entry cannot join a network."))
    if network.id in entry.network_ids:
        raise DirectoryError("network", _l("This person is already in that network."))
    membership = NetworkMembership(entry=entry, network_id=network.id, role=role)
    db.session.add(membership)
    db.session.flush()
    _audit_entry(principal, "directory.membership.add", entry,
                 {"membership_id": membership.id, "network": network.code, "role": role})
    sync_network_party(principal, network.id, entry.party_id)
    return membership


def remove_membership(principal, membership: NetworkMembership) -> None:
    """The entry leaves the network; its party's participation is recomputed."""
    entry, network = membership.entry, membership.network
    entry.memberships.remove(membership)
    db.session.delete(membership)
    db.session.flush()
    _audit_entry(principal, "directory.membership.remove", entry,
                 {"membership_id": membership.id, "network": network.code, "role": membership.role})
    sync_network_party(principal, network.id, entry.party_id)


def _audit_network_party(principal, action: str, network: Network, party: Party) -> None:
    record(action, object_type=NETWORK, object_id=network.id, object_party=party.code,
           details={"network": network.code}, principal=principal)


def add_party_to_network(principal, network: Network, party: Party) -> None:
    """The secretariat adds a party directly: it takes part regardless of directory entries."""
    if not is_pinned(network.id, party.id):
        db.session.add(NetworkPartyPin(network_id=network.id, party_id=party.id, added_by_id=principal.user_id))
        db.session.flush()
        _audit_network_party(principal, "network.party.add", network, party)
    sync_network_party(principal, network.id, party.id)


def remove_party_from_network(principal, network: Network, party: Party) -> None:
    """Undo a direct participation. Refused for the parties a network is defined with, and while the
    party still has active member entries in it."""
    if is_fixed_participant(network, party):
        raise DirectoryError("party", _l("%(party)s is part of this network's definition and cannot be removed.",
                                         party=party.code))
    members = active_member_entries(network.id, party.id)
    if members:
        raise DirectoryError("party", _l("%(party)s still has %(n)s active member(s) in this network: remove "
                                         "their memberships first.", party=party.code, n=members))
    db.session.execute(delete(NetworkPartyPin).where(NetworkPartyPin.network_id == network.id,
                                                     NetworkPartyPin.party_id == party.id))
    db.session.flush()
    _audit_network_party(principal, "network.party.remove", network, party)
    sync_network_party(principal, network.id, party.id)


# --- networks ----------------------------------------------------------------------------------------

def create_network(principal, *, code: str, name_en: str, name_es: str) -> Network:
    """A new network; its code must be new (``DirectoryError`` on field ``code`` otherwise)."""
    code = clean_network_code(code)
    if db.session.scalar(select(Network.id).where(Network.code == code)) is not None:
        raise DirectoryError("code", _l("A network with this code exists already."))
    network = Network(code=code, name_en=name_en.strip(), name_es=name_es.strip())
    db.session.add(network)
    db.session.flush()
    record("network.create", object_type=NETWORK, object_id=network.id, details={"code": code}, principal=principal)
    return network


def rename_network(principal, network: Network, *, name_en: str, name_es: str) -> list[str]:
    """Change a network's names; returns the fields that changed (audited only when some did)."""
    changed = [name for name, value in (("name_en", name_en.strip()), ("name_es", name_es.strip()))
               if getattr(network, name) != value]
    if changed:
        network.name_en, network.name_es = name_en.strip(), name_es.strip()
        db.session.flush()
        record("network.update", object_type=NETWORK, object_id=network.id,
               details={"code": network.code, "fields": changed}, principal=principal)
    return changed
