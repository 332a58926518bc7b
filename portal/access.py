"""Access control, in one module.

Who is asking is a ``Principal`` (``portal.principal``: a signed-in user, or a user acting through an API
token). What they may do is a permission from ``auth.permissions``. What they may see is decided by
``visible()``: one scoping query per protected model that lists, detail pages, search, exports, the API
and downloads all use. A record that is not visible is answered exactly like one that does not exist: 404, and the
attempt is audited as denied.

Which rule scopes a model is declared on the model, and the rule itself lives here (so this module never
imports a feature's models): a shareable record (``ShareableMixin``) by its owner, distribution and TLP;
a record that belongs to one (``visible_through``: an alert's attachment, a submission's file) by exactly
its parent's scope; a directory record (``DirectoryRecordMixin``) by the directory permissions.
"""

from __future__ import annotations

from functools import cache, wraps
from typing import NamedTuple, NoReturn

from flask import abort
from sqlalchemy import ForeignKey, Integer, String, and_, cast, exists, false, or_, select, true
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from portal.audit.service import record as audit
from portal.extensions import db
from portal.principal import Principal, current_principal

TLP_LEVELS = ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED")
RESTRICTED_TLP = frozenset({"AMBER+STRICT", "RED"})  # never exported, forwarded or re-shared wider
OBSERVER_TLP = frozenset({"CLEAR", "GREEN"})
DISTRIBUTION_LEVELS = ("party", "parties", "network", "members")
# How wide each level reaches, to refuse re-sharing a restricted record wider than it was.
_LEVEL_WIDTH = {"party": 0, "parties": 1, "network": 1, "members": 2}


def permission_required(permission: str):
    """Refuse the view with 403 (audited) unless the principal holds ``permission``."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            principal = current_principal()
            if principal is None:
                abort(401)
            if not principal.can(permission):
                audit("access.denied", outcome="denied", details={"permission": permission})
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_permission = permission  # read by the route-matrix test
        return wrapped

    return decorator


class DistributionRecipient(db.Model):
    """The parties a shareable record of any model was sent to: its listed recipients (level ``parties``)
    and the frozen audience of a network distribution (level ``network``).

    One table for every shareable model keeps the scoping query identical for all of them; the record
    is named by its table and id rather than a foreign key, because shareable records are never deleted
    (they are withdrawn), so no row can be orphaned.

    ``via_network_id`` names the network a party was reached through. A distribution to a network reaches
    the parties that were members when the record was sent (``set_distribution`` writes one row per
    member then, and one for the owner party, which marks the audience as taken), never a later member;
    and a party reached through a network keeps it only while it stays in that network. A listed party
    (``via_network_id`` empty) keeps it whatever networks it joins or leaves.
    """

    __tablename__ = "distribution_recipients"

    record_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    record_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), primary_key=True)
    via_network_id: Mapped[int | None] = mapped_column(ForeignKey("networks.id"), nullable=True)


class ShareableMixin:
    """Owning party, distribution and TLP marking for a record that parties share."""

    @declared_attr
    def owner_party_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("parties.id"), index=True)

    @declared_attr
    def distribution_level(cls) -> Mapped[str]:
        return mapped_column(String(16), default="party")

    @declared_attr
    def network_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("networks.id"), nullable=True)

    @declared_attr
    def tlp(cls) -> Mapped[str]:
        return mapped_column(String(16), default="AMBER")

    @property
    def recipient_party_ids(self) -> list[int]:
        """The listed recipients that the record reaches now (level ``parties``; none for another level):
        a party reached through a network only while it is still a member of that network."""
        if self.distribution_level != "parties":
            return []
        return reached_party_ids(self)

    @property
    def listed_party_ids(self) -> list[int]:
        """The recipients listed by name (level ``parties``), not reached through a network."""
        if self.distribution_level != "parties":
            return []
        return sorted(party_id for party_id, via in _recipient_rows(self) if via is None)

    @property
    def network_audience_ids(self) -> list[int]:
        """The parties other than the owner that a network distribution reaches now: those that were members
        when it was sent (or last re-shared) and still are."""
        if self.distribution_level != "network":
            return []
        return [party_id for party_id in reached_party_ids(self) if party_id != self.owner_party_id]


def _recipient_rows(record) -> list[tuple[int, int | None]]:
    """``(party_id, via_network_id)`` of every recipients row of ``record``."""
    return [tuple(row) for row in db.session.execute(
        select(DistributionRecipient.party_id, DistributionRecipient.via_network_id).where(
            DistributionRecipient.record_type == type(record).__tablename__,
            DistributionRecipient.record_id == record.id).order_by(DistributionRecipient.party_id)).all()]


def sent_to_party_ids(record) -> list[int]:
    """Every party ``record`` was sent to (its recipients rows), whether or not it still reaches them."""
    return [party_id for party_id, _via in _recipient_rows(record)]


def reached_party_ids(record) -> list[int]:
    """The parties whose recipients row of ``record`` still reaches them: listed by name, or reached through
    a network they are still a member of (the rule of ``_distribution_clause``), sorted."""
    from portal.parties.models import NetworkParty

    member = exists().where(NetworkParty.network_id == DistributionRecipient.via_network_id,
                            NetworkParty.party_id == DistributionRecipient.party_id)
    return list(db.session.scalars(
        select(DistributionRecipient.party_id).where(
            DistributionRecipient.record_type == type(record).__tablename__,
            DistributionRecipient.record_id == record.id,
            or_(DistributionRecipient.via_network_id.is_(None), member)).order_by(DistributionRecipient.party_id)))


class DistributionError(ValueError):
    """An invalid distribution or TLP; ``field`` names the offending input."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def validate_distribution(level: str, tlp: str, party_ids=(), network_id=None) -> None:
    if tlp not in TLP_LEVELS:
        raise DistributionError("tlp", f"TLP must be one of {', '.join(TLP_LEVELS)}")
    if level not in DISTRIBUTION_LEVELS:
        raise DistributionError("distribution", f"distribution must be one of {', '.join(DISTRIBUTION_LEVELS)}")
    if level == "parties" and not party_ids:
        raise DistributionError("parties", "a 'parties' distribution needs at least one recipient party")
    if level == "network" and not network_id:
        raise DistributionError("network", "a 'network' distribution needs a network")


# The parties a record may be sent to (``portal.distribution`` offers them): observer countries and
# organisations only ever see members-wide CLEAR/GREEN records, so a network never reaches them either.
RECIPIENT_KINDS = ("member", "secretariat")


def network_members(network_ids) -> dict[int, int]:
    """party id -> network id: the active member and secretariat parties taking part in ``network_ids`` now
    (a party in several of them is reached through the first, by id)."""
    from portal.parties.models import NetworkParty, Party

    network_ids = sorted(set(network_ids or ()))
    if not network_ids:
        return {}
    rows = db.session.execute(
        select(NetworkParty.party_id, NetworkParty.network_id).join(Party, Party.id == NetworkParty.party_id)
        .where(NetworkParty.network_id.in_(network_ids), Party.active.is_(True), Party.kind.in_(RECIPIENT_KINDS))
        .order_by(NetworkParty.network_id.desc())).all()
    return {party_id: network_id for party_id, network_id in rows}


def audience_rows(record_type: str, record_id: int, owner_party_id: int, level: str, party_ids=(),
                  network_id=None, through_networks=(), members: dict[int, int] | None = None) -> list[dict]:
    """The ``distribution_recipients`` rows of a distribution sent now: the listed parties; for a network
    distribution its current members and the owner party (which marks the audience as taken, so an edit
    that keeps the network keeps it); for ``through_networks`` (a ``parties`` distribution addressed to
    networks too, a submission's) their current members not listed by name, each through its network.
    ``members``: the network's ``network_members``, when the caller read them already (a bulk import)."""
    reach: dict[int, int | None] = {}
    if level == "network" and network_id:
        reach = {**(network_members([network_id]) if members is None else members), owner_party_id: network_id}
    elif level == "parties":
        reach = {party_id: via for party_id, via in network_members(through_networks).items()
                 if party_id != owner_party_id}
        reach.update({party_id: None for party_id in party_ids})
    return [{"record_type": record_type, "record_id": record_id, "party_id": party_id, "via_network_id": via}
            for party_id, via in sorted(reach.items())]


def _has_audience_of(record, network_id) -> bool:
    return db.session.scalar(select(DistributionRecipient.party_id).where(
        DistributionRecipient.record_type == type(record).__tablename__, DistributionRecipient.record_id == record.id,
        DistributionRecipient.via_network_id == network_id).limit(1)) is not None


def set_distribution(record, *, level: str, tlp: str, party_ids=(), network_id=None, through_networks=(),
                     retake: bool = False) -> None:
    """Set a record's distribution and TLP (the record must have been flushed, so it has an id).

    A network distribution is resolved now to the network's members (``audience_rows``); setting it again
    with the same network keeps the audience it was sent to (a later member is reached only by an explicit
    ``retake``: a draft's publication, its owner's re-share). ``through_networks``: see ``audience_rows``.
    """
    validate_distribution(level, tlp, party_ids or through_networks, network_id)
    keep = (level == "network" and not retake and record.distribution_level == "network"
            and record.network_id == network_id and _has_audience_of(record, network_id))
    record.distribution_level = level
    record.tlp = tlp
    record.network_id = network_id if level == "network" else None
    if keep:
        return
    table = type(record).__tablename__
    db.session.execute(
        DistributionRecipient.__table__.delete().where(
            DistributionRecipient.record_type == table, DistributionRecipient.record_id == record.id
        )
    )
    rows = audience_rows(table, record.id, record.owner_party_id, level, sorted(set(party_ids or ())), network_id,
                         through_networks)
    if rows:
        db.session.execute(DistributionRecipient.__table__.insert(), rows)


def add_recipients(record, party_ids) -> None:
    """List ``party_ids`` by name as recipients of ``record`` (a forward), beside the recipients it has: a
    party it reached through a network is listed by name from now on."""
    table = type(record).__tablename__
    party_ids = sorted(set(party_ids))
    if not party_ids:
        return
    db.session.execute(DistributionRecipient.__table__.delete().where(
        DistributionRecipient.record_type == table, DistributionRecipient.record_id == record.id,
        DistributionRecipient.party_id.in_(party_ids)))
    db.session.execute(DistributionRecipient.__table__.insert(), [
        {"record_type": table, "record_id": record.id, "party_id": party_id, "via_network_id": None}
        for party_id in party_ids])


def retake_network_audience(record) -> list[int]:
    """Resolve ``record``'s network distribution again to the network's members now (a draft's publication,
    an owner's re-share); returns the parties it reaches now and did not before. Leaves any other
    distribution as it is."""
    if record.distribution_level != "network" or not record.network_id:
        return []
    before = set(reached_party_ids(record))
    set_distribution(record, level="network", tlp=record.tlp, network_id=record.network_id, retake=True)
    return sorted(set(reached_party_ids(record)) - before - {record.owner_party_id})


def can_reshare_to_network_members(record) -> bool:
    """Whether ``record``'s owner may re-share it to its network's current members: only a network
    distribution, and never a RED or AMBER+STRICT one (a later member is a wider audience)."""
    return record.distribution_level == "network" and record.network_id is not None \
        and record.tlp not in RESTRICTED_TLP


def unreached_network_members(record) -> list[int]:
    """The network's current member parties that ``record``'s network distribution does not reach."""
    if record.distribution_level != "network" or not record.network_id:
        return []
    reached = set(reached_party_ids(record)) | {record.owner_party_id}
    return sorted(set(network_members([record.network_id])) - reached)


class DirectoryRecordMixin:
    """A record of a party's directory (a ``party_id`` and an ``active`` flag), scoped by permission.

    Every holder of ``view_directory`` sees the active records; a deactivated one stays visible only to
    its own party's directory maintainers (``manage_party_directory``) and to the network maintainers
    (``manage_networks``, who see every record), so they can still find it.
    """


def visibility_clause(model, principal: Principal | None):
    """SQL condition: the rows of ``model`` that ``principal`` may see (no principal: none).

    The model declares its rule:

    - ``visible_through = "<foreign key column>"``: a record seen by exactly whoever sees the record it
      belongs to (an alert's attachment through ``alert_id``), never wider;
    - ``DirectoryRecordMixin``: the directory permissions;
    - ``visible_with_permission = "<permission>"``: a reference record (a network) that every holder of
      the permission sees, and nobody else;
    - ``visible_to_parties = ("<party column>", ...)``: a record between those parties only (a hit
      confirmation), for their members holding one of ``visible_to_permissions``;
    - otherwise a shareable record (``ShareableMixin``): owner, distribution and TLP. It may narrow them
      further with a ``visibility_refinement(principal)`` classmethod (alerts: a draft is seen only by its
      own party), so every loader still goes through this one place.
    """
    if principal is None:
        return false()
    key = (model, principal.visibility_key)
    clause = _VISIBILITY_CLAUSES.get(key)
    if clause is None:
        clause = _VISIBILITY_CLAUSES[key] = _build_visibility_clause(model, principal)
    return clause


# Built clauses, per model and principal key. SQL constructs are immutable, so one clause serves every
# statement and thread; building it anew cost ~0.3 ms of every scoped query (bench/alerts_bench.py).
# Bounded: models x parties x roles x token scope sets.
_VISIBILITY_CLAUSES: dict = {}


def _build_visibility_clause(model, principal: Principal):
    parent_key = getattr(model, "visible_through", None)
    if parent_key is not None:
        return _parent_clause(model, parent_key, principal)
    if issubclass(model, DirectoryRecordMixin):
        return _directory_clause(model, principal)
    between = getattr(model, "visible_to_parties", None)
    if between is not None:
        return _between_parties_clause(model, between, principal)
    permission = getattr(model, "visible_with_permission", None)
    if permission is not None:
        return true() if principal.can(permission) else false()
    refinement = getattr(model, "visibility_refinement", None)
    clause = _distribution_clause(model, principal)
    return and_(clause, refinement(principal)) if refinement is not None else clause


@cache
def _referenced_model(model, column_name: str):
    """The mapped class whose table the foreign key ``model.<column_name>`` points at."""
    (foreign_key,) = model.__table__.c[column_name].foreign_keys
    table = foreign_key.column.table
    return next(mapper.class_ for mapper in db.Model.registry.mappers if mapper.local_table is table)


def _parent_clause(model, column_name: str, principal: Principal):
    parent = _referenced_model(model, column_name)
    parents = select(parent.id).where(visibility_clause(parent, principal)).correlate(None)
    return getattr(model, column_name).in_(parents)


def _between_parties_clause(model, columns, principal: Principal):
    """A record between named parties (a hit confirmation: the requesting and the reporting party): seen
    by the members of exactly those parties who hold one of the model's ``visible_to_permissions`` (the
    observer role holds none), and by nobody else: not the secretariat, not another party."""
    needed = getattr(model, "visible_to_permissions", ())
    if needed and not any(principal.can(name) for name in needed):
        return false()
    return or_(*(getattr(model, column) == principal.party_id for column in columns))


def _directory_clause(model, principal: Principal):
    if not principal.can("view_directory"):
        return false()
    if principal.can("manage_networks"):
        return true()
    if principal.can("manage_party_directory"):
        return or_(model.active.is_(True), model.party_id == principal.party_id)
    return model.active.is_(True)


def _distribution_clause(model, principal: Principal):
    from portal.parties.models import NetworkParty

    members_wide = model.distribution_level == "members"
    if principal.is_observer:
        observed = and_(members_wide, model.tlp.in_(OBSERVER_TLP))
        if principal.role != "observer" and principal.party_kind in ("observer", "organisation"):
            # An observer country or organisation still sees what its own party posted (otherwise its
            # country admin could post a notice and never read it back); the observer *role* does not.
            return or_(model.owner_party_id == principal.party_id, observed)
        return observed
    # A listed recipient, or a party a network distribution was sent to, that is still a member of the
    # network it was reached through (``DistributionRecipient``): a later member of the network is never
    # reached, a party that leaves it is no longer reached.
    # OFFSET 0 keeps this a per-row probe of the recipients' primary key (and, for a row reached through a
    # network, one probe of the memberships' primary key). Without it PostgreSQL may turn the EXISTS into a
    # hashed sub-plan that reads every record ever listed for the party on every query (37,000 rows, ~20 ms,
    # at 1,000,000 alerts: bench/alerts_bench.py), whereas the probe costs in proportion to the rows the rest
    # of the query already narrowed to. SQLite plans it the same either way.
    still_member = exists().where(NetworkParty.network_id == DistributionRecipient.via_network_id,
                                  NetworkParty.party_id == principal.party_id)
    reached = and_(
        model.distribution_level.in_(("parties", "network")),
        select(DistributionRecipient.record_id).where(
            DistributionRecipient.record_type == model.__tablename__,
            DistributionRecipient.record_id == model.id,
            DistributionRecipient.party_id == principal.party_id,
            or_(DistributionRecipient.via_network_id.is_(None), still_member),
        ).offset(0).exists(),
    )
    return or_(model.owner_party_id == principal.party_id, members_wide, reached)


def sees_under_marking(principal: Principal | None, *, owner_party_id: int, level: str, tlp: str,
                       party_ids=(), network_id: int | None = None, via_networks=None) -> bool:
    """Whether ``principal`` could see a shareable record of ``owner_party_id`` marked with this distribution
    and TLP: the rule of ``_distribution_clause``, for a marking a record no longer has (a revision's, a
    version's). A revision is seen only by those who could see it under its own marking as well as under
    the record's current one, so widening or downgrading a record never reveals what it said before.
    ``tests/test_access.py`` holds this and the SQL clause to the same answers.

    ``party_ids`` are the parties the marking was sent to: the listed ones (level ``parties``; those in
    ``via_networks``, party id -> network id, were reached through that network) or the audience a network
    distribution was resolved to (level ``network``, all through ``network_id``). A party reached through
    a network sees it only while it is still a member of that network."""
    if principal is None:
        return False
    if principal.is_observer:
        observed = level == "members" and tlp in OBSERVER_TLP
        if principal.role != "observer" and principal.party_kind in ("observer", "organisation"):
            return owner_party_id == principal.party_id or observed
        return observed
    if owner_party_id == principal.party_id or level == "members":
        return True
    if level not in ("parties", "network") or principal.party_id not in set(party_ids or ()):
        return False
    via = network_id if level == "network" else (via_networks or {}).get(principal.party_id)
    if via is None:
        return level == "parties"
    from portal.parties.models import NetworkParty

    return db.session.get(NetworkParty, (via, principal.party_id)) is not None


class Marking(NamedTuple):
    """The marking a shareable record had at one time (a revision's, a version's): what
    ``sees_under_marking`` judges."""

    level: str
    tlp: str
    party_ids: tuple[int, ...] = ()
    network_id: int | None = None


def history_seen_by(principal: Principal | None, owner_party_id: int, items, marking_of) -> list:
    """The ``items`` of a record's history (revisions, versions) that ``principal`` may read: those whose
    own marking (``marking_of(item)``, a ``Marking``) it could see the record under. The caller has loaded
    the record through ``get_visible_or_404``, which holds it to the current marking: together, a past
    state is seen only by whoever could see the record then and can see it now."""
    return [item for item in items
            if sees_under_marking(principal, owner_party_id=owner_party_id, **marking_of(item)._asdict())]


def visible(model, principal: Principal | None = None):
    """``select(model)`` filtered to what the principal (default: the current one) may see: the one
    scoping query of every protected model (see ``visibility_clause`` for the rules)."""
    principal = principal if principal is not None else current_principal()
    return select(model).where(visibility_clause(model, principal))


def get_visible_or_404(model, record_id, principal: Principal | None = None, *, object_type: str | None = None):
    """The one loader for a single shareable record: invisible and nonexistent both answer 404.
    ``object_type`` names the record in the denial's audit (default: the table name)."""
    principal = principal if principal is not None else current_principal()
    record = None
    if isinstance(record_id, int) or (isinstance(record_id, str) and record_id.isdigit()):
        record = db.session.scalar(visible(model, principal).where(model.id == int(record_id)))
    if record is None:
        refuse_as_missing(model, record_id, object_type=object_type)
    return record


def owning_party_id(record) -> int:
    """The party that owns ``record``: ``owner_party_id`` of a shareable record, ``party_id`` of a directory
    record (a model may name another column with ``owning_party_attr``)."""
    attr = getattr(type(record), "owning_party_attr", None)
    if attr is None:
        attr = "party_id" if isinstance(record, DirectoryRecordMixin) else "owner_party_id"
    return getattr(record, attr)


def owns(record, principal: Principal | None = None) -> bool:
    """Whether ``principal`` (default: the current one) belongs to the party that owns ``record``: the one
    ownership question behind every "may change" decision (loaders and operations alike)."""
    principal = principal if principal is not None else current_principal()
    return principal is not None and owning_party_id(record) == principal.party_id


def may_change(record, permission: str | None = None, principal: Principal | None = None) -> bool:
    """Whether ``principal`` may change ``record``: its party owns the record and it holds ``permission``."""
    principal = principal if principal is not None else current_principal()
    return owns(record, principal) and (permission is None or principal.can(permission))


def get_changeable_or_404(model, record_id, *, action: str, permission: str | None = None,
                          denied_status: int = 404, object_type: str | None = None, details: dict | None = None,
                          principal: Principal | None = None):
    """The one loader for "this principal may change this record", beside ``get_visible_or_404``.

    An invisible or nonexistent record answers 404 exactly as the read loader does. A visible record that
    the principal's party does not own, or that the principal lacks ``permission`` for, is refused with
    ``denied_status`` (404 where even its existence as someone else's is not to be confirmed, 403 where
    the reader already sees it) and audited as ``action`` denied, with the reason (``not_owner`` or
    ``permission``). ``object_type`` names the record in the audit (default: the table name).
    """
    principal = principal if principal is not None else current_principal()
    found = get_visible_or_404(model, record_id, principal)
    if not owns(found, principal):
        reason = "not_owner"
    elif permission is not None and not principal.can(permission):
        reason = "permission"
    else:
        return found
    owner = getattr(found, "owner_party", None) or getattr(found, "party", None)
    audit(action, outcome="denied", object_type=object_type or model.__tablename__, object_id=found.id,
          object_party=getattr(owner, "code", None), principal=principal,
          details={**({"permission": permission} if permission else {}), "reason": reason, **(details or {})})
    abort(denied_status)


def refuse_as_missing(model, record_id, *, object_type: str | None = None) -> NoReturn:
    """Answer 404, audited exactly as ``get_visible_or_404`` audits a record it cannot find: for a change
    loader (built on ``get_visible_or_404`` and ``may_change``) whose refusal must not confirm that the record
    exists, not even to the audit readers of the party that owns it."""
    audit(f"{model.__tablename__}.access", outcome="denied", object_type=object_type or model.__tablename__,
          object_id=str(record_id))
    abort(404)


def sees_recipients(record, principal: Principal | None = None) -> bool:
    """Whether ``principal`` (default: the current one) may learn whom a shareable record was sent to: its
    listed recipient parties or its network. Only the owner (reporting) party does; every other reader,
    a recipient included, learns the distribution level alone. The API, the export, the detail page and
    the revision history all ask this one question."""
    return owns(record, principal)


def can_export(record) -> bool:
    return record.tlp not in RESTRICTED_TLP


def _audience(record, level: str, party_ids, network_id) -> frozenset[int] | None:
    """The party ids ``record`` would reach with this distribution (``None``: every member party and the
    secretariat): its frozen audience where ``set_distribution`` would keep it (the same network), the
    network's members now where it would resolve the network anew."""
    if level == "members":
        return None
    reach = {record.owner_party_id}
    if level == "parties":
        reach |= set(party_ids or ())
    elif level == "network" and network_id:
        if record.distribution_level == "network" and record.network_id == network_id:
            reach |= set(reached_party_ids(record))
        else:
            reach |= set(network_members([network_id]))
    return frozenset(reach)


def can_reshare(record, new_level: str, party_ids=None, network_id=None) -> bool:
    """Restricted records may be re-shared only as narrowly as they already are, or narrower.

    Given only a level, levels are compared by width. Given the new recipients (``party_ids`` or
    ``network_id``), the new audience must be a subset of the current one: listing another party, or
    swapping a network for a different one, is wider even at the same level.
    """
    if record.tlp not in RESTRICTED_TLP:
        return True
    if _LEVEL_WIDTH[new_level] > _LEVEL_WIDTH[record.distribution_level]:
        return False
    if party_ids is None and network_id is None:
        return True
    current = _audience(record, record.distribution_level, record.recipient_party_ids, record.network_id)
    wanted = _audience(record, new_level, party_ids, network_id)
    if current is None:
        return True
    return wanted is not None and wanted <= current


def manageable_users(principal: Principal | None):
    """``select(User)`` of the accounts ``principal`` may administer (the one scope for admin pages).

    Holders of ``manage_all_users`` administer every party's accounts; holders of
    ``manage_party_users`` only their own party's. Everyone else administers nobody.
    """
    from auth.models import User

    if principal is None:
        return select(User).where(false())
    if principal.can("manage_all_users"):
        return select(User)
    if principal.can("manage_party_users"):
        return select(User).where(User.party_id == principal.party_id)
    return select(User).where(false())


# object_type (as the audit names it) -> the model whose visibility rule decides who may learn of actions
# on it; each feature registers its records beside its models.
_AUDITED_RECORDS: dict[str, type] = {}


def register_audited_record(object_type: str, model) -> None:
    """Declare that audit entries with ``object_type`` name a ``model`` row by its id."""
    _AUDITED_RECORDS[object_type] = model


def audit_entries_about_what_they_see(principal: Principal | None):
    """SQL condition on ``AuditEntry``: the entries whose existence ``principal`` may learn of (counts on the
    plan pages): with ``view_all_audit`` every entry; otherwise its own party's actions and actions on
    records it may see (a registered object type whose row passes the model's visibility rule). An
    observer never learns that a party-only RED alert was created."""
    from portal.audit.models import AuditEntry

    if principal is None:
        return false()
    if principal.can("view_all_audit"):
        return true()
    about_visible = [
        and_(AuditEntry.object_type == object_type,
             AuditEntry.object_id.in_(select(cast(model.id, String)).where(visibility_clause(model, principal))))
        for object_type, model in sorted(_AUDITED_RECORDS.items())
    ]
    return or_(AuditEntry.actor_party == principal.party_code, *about_visible)


def visible_audited_ids(principal: Principal | None, object_type: str, ids) -> set[str]:
    """Of ``ids`` (an audit entry's ``object_id`` values, text), those of the records of ``object_type`` that
    ``principal`` may see: a registered record by its model's visibility rule, an account when the principal
    administers it (``manageable_users``). The audit viewer links only these to their pages."""
    numbers = sorted({int(i) for i in ids if isinstance(i, str) and i.isdigit() and len(i) <= 10 and int(i) < 2**31})
    if principal is None or not numbers:
        return set()
    if object_type == "user":
        from auth.models import User

        statement = manageable_users(principal).with_only_columns(User.id).where(User.id.in_(numbers))
    elif object_type in _AUDITED_RECORDS:
        model = _AUDITED_RECORDS[object_type]
        statement = select(model.id).where(model.id.in_(numbers), visibility_clause(model, principal))
    else:
        return set()
    return {str(found) for found in db.session.scalars(statement)}


def visible_audit_entries(principal: Principal | None):
    """``select(AuditEntry)`` the principal may read: all of it with ``view_all_audit``; with
    ``view_party_audit``, the entries whose actor or object belongs to the principal's party."""
    from portal.audit.models import AuditEntry

    if principal is None:
        return select(AuditEntry).where(false())
    if principal.can("view_all_audit"):
        return select(AuditEntry)
    if principal.can("view_party_audit"):
        return select(AuditEntry).where(
            or_(AuditEntry.actor_party == principal.party_code, AuditEntry.object_party == principal.party_code)
        )
    return select(AuditEntry).where(false())
