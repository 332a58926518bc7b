"""The network directories: loaders, validation helpers, and the operations that change data.

Every read of entries goes through ``portal.access.visible(DirectoryEntry)`` (lists, detail pages, search,
exports, the API); every change goes through a function here, which flushes and writes its audit entry
(never a name, e-mail or phone: only ids, codes and field names).

Name search. Names are encrypted, so they are found through blind indexes (keyed HMACs) of the name
normalised by ``normalise_name()`` (Unicode NFKD, combining marks dropped, casefolded, punctuation
turned into spaces, whitespace collapsed): one of the whole name (``DirectoryEntry.name_index``) and one
per token (``DirectoryNameToken``). A query matches an entry when its whole normalised text equals the
entry's name, or when every token of the query is one of the name's tokens: "lopez", "LÓPEZ" and
"maria lopez" all find "María López"; prefixes ("lop") do not, by design (a prefix index would leak far
more about the names to whoever reads the database).

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
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from math import ceil
from zoneinfo import available_timezones

import phonenumbers
import pycountry
from email_validator import EmailNotValidError, validate_email
from flask import abort
from sqlalchemy import and_, delete, exists, func, or_, select

from portal.access import visible
from portal.audit.service import record
from portal.crypto import blind_index
from portal.directory.models import (
    MEMBERSHIP_ROLES,
    DirectoryEntry,
    DirectoryNameToken,
    DirectoryReminder,
    NetworkMembership,
    NetworkPartyPin,
)
from portal.extensions import db
from portal.parties.models import Network, NetworkParty, Party
from portal.parties.seed import NETWORKS as SEEDED_NETWORKS
from portal.principal import Principal
from portal.timeutil import utcnow

STALE_MONTHS = 6
MAX_PHONES = 5
MAX_LANGUAGES = 10
# Parties that are part of a network's definition (seeded by name): always taking part.
FIXED_PARTICIPANTS: dict[str, frozenset[str]] = {
    code: frozenset(taking_part) for code, _en, _es, taking_part in SEEDED_NETWORKS if taking_part != "members"
}
NETWORK_CODE = re.compile(r"^[A-Z][A-Z0-9-]{1,31}$")


class DirectoryError(ValueError):
    """Refused input; ``field`` names the form field or JSON key, ``message`` says why (translatable)."""

    def __init__(self, field: str, message):
        super().__init__(str(message))
        self.field = field
        self.message = message


# --- normalisation and validation ---------------------------------------------------------------------

def normalise_name(text: str) -> str:
    """Casefolded, accents stripped, punctuation as spaces, whitespace collapsed."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    bare = "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()
    return " ".join(re.split(r"[\W_]+", bare)).strip()


def name_tokens(text: str) -> list[str]:
    return sorted(set(normalise_name(text).split()))


def name_index(text: str) -> str:
    return blind_index(normalise_name(text), scope="directory.name")


def token_index(token: str) -> str:
    return blind_index(token, scope="directory.name_token")


def party_region(party: Party | None) -> str | None:
    """The ISO 3166 alpha-2 region of a country party (default region for national phone numbers)."""
    if party is None or party.kind not in ("member", "observer"):
        return None
    country = pycountry.countries.get(alpha_3=party.code)
    return country.alpha_2 if country else None


def clean_name(value: str) -> str:
    from flask_babel import lazy_gettext as _l

    name = " ".join((value or "").split())
    if not normalise_name(name):
        raise DirectoryError("full_name", _l("Enter the person's name."))
    if len(name) > 200:
        raise DirectoryError("full_name", _l("At most 200 characters."))
    return name


def clean_email(value: str) -> str:
    try:
        return validate_email((value or "").strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        from flask_babel import lazy_gettext as _l

        raise DirectoryError("email", _l("Enter a valid e-mail address.")) from exc


def clean_phones(values, region: str | None) -> list[str]:
    """Parse each number (national numbers in ``region``), refuse invalid ones; return E.164, deduplicated."""
    from flask_babel import lazy_gettext as _l

    numbers: list[str] = []
    for raw in values:
        raw = raw.strip()
        if not raw:
            continue
        try:
            parsed = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException as exc:
            raise DirectoryError("phones", _l("%(number)s is not a phone number.", number=raw[:40])) from exc
        if not phonenumbers.is_valid_number(parsed):
            raise DirectoryError("phones", _l("%(number)s is not a valid phone number (write it with its "
                                              "country code, e.g. +502 2411 1111).", number=raw[:40]))
        e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        if e164 not in numbers:
            numbers.append(e164)
    if len(numbers) > MAX_PHONES:
        raise DirectoryError("phones", _l("At most %(n)s phone numbers.", n=MAX_PHONES))
    return numbers


def split_list(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,;\s]+", text or "") if part.strip()]


def clean_languages(codes) -> list[str]:
    from flask_babel import lazy_gettext as _l

    cleaned: list[str] = []
    for code in codes:
        code = code.strip().lower()
        if len(code) != 2 or pycountry.languages.get(alpha_2=code) is None:
            raise DirectoryError("languages", _l("%(code)s is not an ISO 639-1 language code (e.g. es, en, fr).",
                                                 code=code[:12]))
        if code not in cleaned:
            cleaned.append(code)
    if len(cleaned) > MAX_LANGUAGES:
        raise DirectoryError("languages", _l("At most %(n)s languages.", n=MAX_LANGUAGES))
    return cleaned


def clean_time_zone(value: str | None) -> str | None:
    from flask_babel import lazy_gettext as _l

    value = (value or "").strip()
    if not value:
        return None
    if value not in available_timezones():
        raise DirectoryError("time_zone", _l("Enter an IANA time zone, e.g. America/Guatemala."))
    return value


def language_name(code: str) -> str:
    language = pycountry.languages.get(alpha_2=code)
    return language.name if language else code


@dataclass
class EntryData:
    """Validated entry fields, as the form or another caller hands them over."""

    full_name: str
    email: str
    title: str = ""
    institution: str = ""
    phones: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    time_zone: str | None = None
    phones_restricted: bool = False


def entry_errors(party: Party, raw: dict) -> dict[str, object]:
    """Every field error of raw entry input at once (field name -> message), for the form."""
    errors: dict[str, object] = {}
    checks = {
        "full_name": lambda: clean_name(raw.get("full_name", "")),
        "email": lambda: clean_email(raw.get("email", "")),
        "phones": lambda: clean_phones(raw.get("phones", ()), party_region(party)),
        "languages": lambda: clean_languages(raw.get("languages", ())),
        "time_zone": lambda: clean_time_zone(raw.get("time_zone")),
    }
    for check in checks.values():
        try:
            check()
        except DirectoryError as error:
            errors[error.field] = error.message
    return errors


def validate_entry_data(party: Party, *, full_name: str, email: str, title: str = "", institution: str = "",
                        phones=(), languages=(), time_zone: str | None = None,
                        phones_restricted: bool = False) -> EntryData:
    """Check and normalise raw entry input; raises ``DirectoryError`` naming the first bad field."""
    return EntryData(
        full_name=clean_name(full_name),
        email=clean_email(email),
        title=(title or "").strip()[:200],
        institution=(institution or "").strip()[:200],
        phones=clean_phones(phones, party_region(party)),
        languages=clean_languages(languages),
        time_zone=clean_time_zone(time_zone),
        phones_restricted=bool(phones_restricted),
    )


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
    return entry.last_verified_on is None or entry.last_verified_on < stale_cutoff(today)


def _stale_clause(today: date | None = None):
    return or_(DirectoryEntry.last_verified_on.is_(None), DirectoryEntry.last_verified_on < stale_cutoff(today))


# --- loading (through the one scoping query, ``visible(DirectoryEntry)``) -------------------------------

def _not_found(entry_id) -> None:
    record("directory_entries.access", outcome="denied", object_type="directory_entry", object_id=str(entry_id))
    abort(404)


def get_entry_or_404(entry_id: int, principal: Principal) -> DirectoryEntry:
    entry = db.session.scalar(visible(DirectoryEntry, principal).where(DirectoryEntry.id == entry_id))
    if entry is None:
        _not_found(entry_id)
    return entry


def get_manageable_entry_or_404(entry_id: int, principal: Principal) -> DirectoryEntry:
    """An entry of the principal's own party, for its country admins; any other entry is not found."""
    entry = db.session.scalar(
        select(DirectoryEntry).where(DirectoryEntry.id == entry_id, DirectoryEntry.party_id == principal.party_id)
    )
    if entry is None or not principal.can("manage_party_directory"):
        _not_found(entry_id)
    return entry


def viewer_network_ids(principal: Principal | None) -> frozenset[int]:
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
    return entry.party_id == principal.party_id or bool(entry.network_ids & network_ids)


@dataclass
class SearchCriteria:
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


def search_entries(principal: Principal | None, criteria: SearchCriteria) -> list[DirectoryEntry]:
    """Visible entries matching ``criteria``, sorted by party code and name (names are encrypted)."""
    stmt = visible(DirectoryEntry, principal)
    if not criteria.include_inactive:
        stmt = stmt.where(DirectoryEntry.active.is_(True))
    if criteria.name.strip():
        tokens = name_tokens(criteria.name)
        if not tokens:
            return []
        token_match = and_(*[
            exists().where(DirectoryNameToken.entry_id == DirectoryEntry.id,
                           DirectoryNameToken.token_index == token_index(token))
            for token in tokens
        ])
        stmt = stmt.where(or_(DirectoryEntry.name_index == name_index(criteria.name), token_match))
    if criteria.party_code:
        stmt = stmt.join(Party, Party.id == DirectoryEntry.party_id).where(Party.code == criteria.party_code.upper())
    if criteria.network_id is not None:
        stmt = stmt.where(exists().where(NetworkMembership.entry_id == DirectoryEntry.id,
                                         NetworkMembership.network_id == criteria.network_id))
    if criteria.institution.strip():
        stmt = stmt.where(DirectoryEntry.institution_key.contains(normalise_name(criteria.institution), autoescape=True))
    if criteria.stale_only:
        stmt = stmt.where(_stale_clause())
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


# --- entries -----------------------------------------------------------------------------------------

def _apply(entry: DirectoryEntry, data: EntryData) -> list[str]:
    """Copy ``data`` onto ``entry``; returns the names of the fields that changed."""
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
        wanted = {token_index(token) for token in name_tokens(data.full_name)}
        entry.name_tokens = [token for token in entry.name_tokens if token.token_index in wanted]
        have = {token.token_index for token in entry.name_tokens}
        entry.name_tokens.extend(DirectoryNameToken(token_index=index) for index in sorted(wanted - have))
    return changed


def create_entry(actor, party: Party, data: EntryData) -> DirectoryEntry:
    """A new entry of ``party`` (the actor's own), verified today by its creator."""
    entry = DirectoryEntry(party_id=party.id, party=party, active=True, last_verified_on=utcnow().date(),
                           verified_by_id=actor.id, name_tokens=[])
    changed = _apply(entry, data)
    db.session.add(entry)
    db.session.flush()
    record("directory.entry.create", object_type="directory_entry", object_id=entry.id, object_party=party.code,
           details={"fields": sorted(changed), "phones": len(data.phones),
                    "phones_restricted": data.phones_restricted})
    return entry


def update_entry(entry: DirectoryEntry, actor, data: EntryData) -> list[str]:
    changed = _apply(entry, data)
    if changed:
        entry.updated_at = utcnow()
        db.session.flush()
        record("directory.entry.update", object_type="directory_entry", object_id=entry.id,
               object_party=entry.party.code, details={"fields": sorted(changed)})
    return changed


def verify_entry(entry: DirectoryEntry, actor) -> None:
    previous = entry.last_verified_on
    entry.last_verified_on = utcnow().date()
    entry.verified_by_id = actor.id
    db.session.flush()
    record("directory.entry.verify", object_type="directory_entry", object_id=entry.id,
           object_party=entry.party.code,
           details={"previous": previous.isoformat() if previous else None})


def deactivate_entry(entry: DirectoryEntry, actor) -> None:
    """Deactivate an entry; its networks' participations are recomputed (memberships are kept)."""
    if not entry.active:
        return
    entry.active = False
    db.session.flush()
    record("directory.entry.deactivate", object_type="directory_entry", object_id=entry.id,
           object_party=entry.party.code, details={"networks": sorted(entry.network_ids)})
    for network_id in sorted(entry.network_ids):
        sync_network_party(network_id, entry.party_id)


# --- memberships and participations ---------------------------------------------------------------------

def _active_member_entries(network_id: int, party_id: int) -> int:
    return db.session.scalar(
        select(func.count(NetworkMembership.id))
        .join(DirectoryEntry, DirectoryEntry.id == NetworkMembership.entry_id)
        .where(NetworkMembership.network_id == network_id, DirectoryEntry.party_id == party_id,
               DirectoryEntry.active.is_(True))
    ) or 0


def is_fixed_participant(network: Network, party: Party) -> bool:
    return party.code in FIXED_PARTICIPANTS.get(network.code, frozenset())


def _is_pinned(network_id: int, party_id: int) -> bool:
    return db.session.get(NetworkPartyPin, (network_id, party_id)) is not None


def sync_network_party(network_id: int, party_id: int) -> bool:
    """Make ``NetworkParty`` say whether the party takes part (see the module docstring); returns it."""
    network = db.session.get(Network, network_id)
    party = db.session.get(Party, party_id)
    wanted = (is_fixed_participant(network, party) or _is_pinned(network_id, party_id)
              or _active_member_entries(network_id, party_id) > 0)
    current = db.session.get(NetworkParty, (network_id, party_id))
    if wanted and current is None:
        db.session.add(NetworkParty(network_id=network_id, party_id=party_id))
    elif not wanted and current is not None:
        db.session.delete(current)
    else:
        return wanted
    db.session.flush()
    record("network.party.sync", object_type="network", object_id=network_id, object_party=party.code,
           details={"network": network.code, "taking_part": wanted})
    return wanted


def add_membership(entry: DirectoryEntry, network: Network, role: str, actor) -> NetworkMembership:
    from flask_babel import lazy_gettext as _l

    if role not in MEMBERSHIP_ROLES:
        raise DirectoryError("role", _l("Choose a role from the list."))
    if not entry.active:
        raise DirectoryError("network", _l("A deactivated entry cannot join a network."))
    if network.id in entry.network_ids:
        raise DirectoryError("network", _l("This person is already in that network."))
    membership = NetworkMembership(entry=entry, network_id=network.id, role=role)
    db.session.add(membership)
    db.session.flush()
    record("directory.membership.add", object_type="directory_entry", object_id=entry.id,
           object_party=entry.party.code,
           details={"membership_id": membership.id, "network": network.code, "role": role})
    sync_network_party(network.id, entry.party_id)
    return membership


def remove_membership(membership: NetworkMembership, actor) -> None:
    entry, network = membership.entry, membership.network
    entry.memberships.remove(membership)
    db.session.delete(membership)
    db.session.flush()
    record("directory.membership.remove", object_type="directory_entry", object_id=entry.id,
           object_party=entry.party.code,
           details={"membership_id": membership.id, "network": network.code, "role": membership.role})
    sync_network_party(network.id, entry.party_id)


def add_party_to_network(network: Network, party: Party, actor) -> None:
    """The secretariat adds a party directly: it takes part regardless of directory entries."""
    if not _is_pinned(network.id, party.id):
        db.session.add(NetworkPartyPin(network_id=network.id, party_id=party.id, added_by_id=actor.id))
        db.session.flush()
        record("network.party.add", object_type="network", object_id=network.id, object_party=party.code,
               details={"network": network.code})
    sync_network_party(network.id, party.id)


def remove_party_from_network(network: Network, party: Party, actor) -> None:
    """Undo a direct participation. Refused for the parties a network is defined with, and while the
    party still has active member entries in it."""
    from flask_babel import lazy_gettext as _l

    if is_fixed_participant(network, party):
        raise DirectoryError("party", _l("%(party)s is part of this network's definition and cannot be removed.",
                                         party=party.code))
    members = _active_member_entries(network.id, party.id)
    if members:
        raise DirectoryError("party", _l("%(party)s still has %(n)s active member(s) in this network: remove "
                                         "their memberships first.", party=party.code, n=members))
    db.session.execute(delete(NetworkPartyPin).where(NetworkPartyPin.network_id == network.id,
                                                     NetworkPartyPin.party_id == party.id))
    db.session.flush()
    record("network.party.remove", object_type="network", object_id=network.id, object_party=party.code,
           details={"network": network.code})
    sync_network_party(network.id, party.id)


# --- networks ----------------------------------------------------------------------------------------

def create_network(actor, *, code: str, name_en: str, name_es: str) -> Network:
    from flask_babel import lazy_gettext as _l

    code = (code or "").strip().upper()
    if not NETWORK_CODE.match(code):
        raise DirectoryError("code", _l("Use 2 to 32 capital letters, digits or dashes, starting with a letter."))
    if db.session.scalar(select(Network.id).where(Network.code == code)) is not None:
        raise DirectoryError("code", _l("A network with this code exists already."))
    network = Network(code=code, name_en=name_en.strip(), name_es=name_es.strip())
    db.session.add(network)
    db.session.flush()
    record("network.create", object_type="network", object_id=network.id, details={"code": code})
    return network


def rename_network(network: Network, actor, *, name_en: str, name_es: str) -> list[str]:
    changed = [name for name, value in (("name_en", name_en.strip()), ("name_es", name_es.strip()))
               if getattr(network, name) != value]
    if changed:
        network.name_en, network.name_es = name_en.strip(), name_es.strip()
        db.session.flush()
        record("network.update", object_type="network", object_id=network.id,
               details={"code": network.code, "fields": changed})
    return changed


def all_networks() -> list[Network]:
    return list(db.session.scalars(select(Network).order_by(Network.code)))


def network_counts() -> dict[int, int]:
    """Active entries per network id."""
    rows = db.session.execute(
        select(NetworkMembership.network_id, func.count(NetworkMembership.id))
        .join(DirectoryEntry, DirectoryEntry.id == NetworkMembership.entry_id)
        .where(DirectoryEntry.active.is_(True))
        .group_by(NetworkMembership.network_id)
    )
    return {network_id: count for network_id, count in rows}


# --- reminders ---------------------------------------------------------------------------------------

@dataclass
class ReminderResult:
    party_code: str
    stale: int
    recipients: int


def send_reminders(today: date | None = None, principal=None) -> tuple[list[ReminderResult], int]:
    """Remind each party's country admins of its stale active entries, at most once per party per day.

    Returns the reminders sent now and how many parties had been reminded already today.
    """
    from flask_babel import force_locale
    from flask_babel import gettext as _

    from auth.models import User
    from portal.notifications.operations import notify
    from portal.outbox.service import queue_email

    today = today or utcnow().date()
    counts = db.session.execute(
        select(DirectoryEntry.party_id, func.count(DirectoryEntry.id))
        .where(DirectoryEntry.active.is_(True), _stale_clause(today))
        .group_by(DirectoryEntry.party_id)
    ).all()
    sent, skipped = [], 0
    for party_id, stale in sorted(counts):
        if db.session.get(DirectoryReminder, (party_id, today)) is not None:
            skipped += 1
            continue
        party = db.session.get(Party, party_id)
        admins = db.session.scalars(
            select(User).where(User.party_id == party_id, User.role == "country_admin", User.active.is_(True))
        ).all()
        for admin in admins:
            with force_locale(admin.locale or "en"):
                subject = _("RCM portal: %(n)s directory entries to verify", n=stale)
                body = _("%(n)s entries of %(party)s in the network directories have not been verified for "
                         "%(months)s months. Please check them and mark them verified in the portal "
                         "(Directory, filter 'Not verified recently').", n=stale, party=party.code,
                         months=STALE_MONTHS)
            queue_email(admin.email, subject, body)
        from flask_babel import lazy_gettext as _l

        notify(admins, "directory.stale",
               _l("%(n)s directory entries of your party need verifying", n=stale),
               f"/directory/?party={party.code}&stale=1", None)
        db.session.add(DirectoryReminder(party_id=party_id, sent_on=today, stale_count=stale))
        db.session.flush()
        record("directory.remind", object_type="party", object_id=party_id, object_party=party.code,
               details={"stale": stale, "recipients": len(admins), "day": today.isoformat()}, principal=principal)
        sent.append(ReminderResult(party.code, stale, len(admins)))
    return sent, skipped


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

