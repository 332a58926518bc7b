"""Searching alerts, always within what the principal may see (``portal.access.visible``).

One search box: a document number (normalised: upper case, no spaces, dashes or fillers), a pasted MRZ
however it arrives (``alerts.mrz_paste``: its number and issuing state are searched; one that cannot be
read is refused, naming what failed, rather than searched as words) or words (full text over the narrative fields). A number
search answers, in this order:

1. ``match="exact"``: the number itself (blind index; within the issuing state when one is given, in any
   state otherwise);
2. ``match="near"``: numbers that differ only by look-alike characters (O/0, I/1, S/5, B/8, Z/2, G/6);
3. ``match="range"``: series of stolen blanks whose bounds enclose the number (candidate series found by
   blind index, then only their bounds decrypted and compared).

Every search is audited as ``alert.search`` with what was asked sealed (``portal.audit.sealing``: encrypted
afresh each time, so two searches of one number never look alike in the log), never the number in clear
or a comparable hash of it, and the number of results. ``check_document`` is the border systems' hit / no-hit question: exact
and series matches among published alerts, by indexed lookups only; ``check_documents`` asks it for a
manifest (validated first, looked up together, one audit entry ``alert.check_batch``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import Select, bindparam, func, or_, select
from werkzeug.exceptions import Forbidden

from alerts import fulltext, vocabulary
from alerts.indexes import (
    VALID_NUMBER,
    NumberRange,
    normalise_document_number,
    number_any_index,
    number_index,
    series_indexes,
    skeleton_index,
    split_number,
)
from alerts.models import Alert
from alerts.mrz import canonical_state, is_valid_icao_code
from alerts.mrz_paste import read_pasted_mrz
from portal.access import visibility_clause, visible
from portal.audit.sealing import SEALED, SearchTerm, seal_search_terms
from portal.audit.service import record
from portal.extensions import db
from portal.parties.models import Party
from portal.principal import Principal

MAX_PER_PAGE = 100
MAX_BATCH = 500  # documents in one batch check (a manifest)
# Documents per lookup statement: keeps the bound values (up to ~31 blind indexes a document) within every
# engine's limit.
_LOOKUP_CHUNK = 100
# Word and filter searches count at most this many matches (and say "more than"): counting every match
# of a common word cost time in proportion to the matches (a GIN bitmap and a heap visit per match), and
# nobody pages through more than a thousand alerts - they narrow the search.
COUNT_LIMIT = 1000
FILTER_KEYS = ("issuing_state", "document_category", "fraud_type", "reporting_party", "detected_from",
               "detected_to", "status", "text")
_ORDER = {
    "-detection_date": lambda: (Alert.detection_date.desc().nulls_last(), Alert.id.desc()),
    "detection_date": lambda: (Alert.detection_date.asc().nulls_last(), Alert.id.asc()),
    "reference": lambda: (Alert.reference.asc(),),
    "-reference": lambda: (Alert.reference.desc(),),
}


class SearchError(ValueError):
    """A filter or parameter is invalid; ``errors`` maps each bad one to a message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{key}: {value}" for key, value in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class AlertHit:
    alert: Alert
    match: str | None = None  # "exact", "near", "range" for a number search; None otherwise


@dataclass
class SearchResult:
    hits: list[AlertHit]
    total: int
    page: int
    per_page: int
    kind: str  # "all", "number", "mrz" or "text"
    number_searched: bool = False
    issuing_state: str | None = None
    mrz_errors: list = field(default_factory=list)
    total_exact: bool = True  # False: more than ``total`` (= COUNT_LIMIT) alerts match; only these are paged
    number: str | None = None  # the normalised document number searched (shown back to the searcher only)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def alerts(self) -> list[Alert]:
        return [hit.alert for hit in self.hits]

    @property
    def strong_hits(self) -> list[AlertHit]:
        """Exact and series matches on this page: what the hit banner announces as a hit."""
        return [hit for hit in self.hits if hit.match in ("exact", "range")]

    @property
    def near_hits(self) -> list[AlertHit]:
        """Look-alike numbers on this page: shown in the banner, labelled, never announced as a hit."""
        return [hit for hit in self.hits if hit.match == "near"]


@dataclass(frozen=True)
class CheckHit:
    """One alert in a hit / no-hit answer: its identity and marking, nothing that is stored encrypted."""

    id: int
    reference: str
    fraud_type: str
    status: str
    issuing_state: str
    reporting_party: str
    tlp: str
    match: str  # "exact" or "range"


@dataclass
class CheckResult:
    """Hit / no hit for one document: the contract of ``GET /api/v1/alerts/check``."""

    hits: list[CheckHit]
    near: list[CheckHit] | None = None  # look-alike numbers, when asked for (``near=True``): never a hit

    @property
    def hit(self) -> bool:
        return bool(self.hits)

    @property
    def alert_ids(self) -> list[int]:
        return [hit.id for hit in self.hits]

    def to_dict(self) -> dict:
        answer = {"hit": self.hit, "alerts": [_check_hit_dict(hit) for hit in self.hits]}
        if self.near is not None:
            answer["near"] = [_check_hit_dict(hit) for hit in self.near]
        return answer


def _check_hit_dict(hit: CheckHit) -> dict:
    return {"id": hit.id, "reference": hit.reference, "fraud_type": hit.fraud_type, "status": hit.status,
            "issuing_state": hit.issuing_state, "reporting_party": hit.reporting_party, "tlp": hit.tlp,
            "match": hit.match}


def visible_alerts(principal: Principal | None) -> Select:
    """``select(Alert)`` of what ``principal`` may see (drafts only within their own party)."""
    return visible(Alert, principal)


# --- parameters ---------------------------------------------------------------------------------------

def _date(errors, name, value) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        errors[name] = _("Enter a date as YYYY-MM-DD.")
        return None


def clean_filters(filters: dict | None) -> dict:
    """Validated filters: every value checked against its vocabulary (ICAO codes, the portal's parties,
    categories, fraud types, statuses, dates), so a typo never silently widens or empties a search and no free
    text reaches the audit (the words of ``text`` are sealed there). The one check of the page, the API and
    the exports; ``SearchError`` names each bad filter (a 422)."""
    filters = {key: value for key, value in (filters or {}).items() if value not in (None, "", [])}
    errors: dict[str, str] = {}
    unknown = sorted(set(filters) - set(FILTER_KEYS))
    if unknown:
        errors["filters"] = _("Unknown filter: %(names)s.", names=", ".join(unknown))
    cleaned: dict = {}
    if "issuing_state" in filters:
        state = str(filters["issuing_state"]).strip().upper()
        if not is_valid_icao_code(state):
            errors["issuing_state"] = _("Not an ICAO code of a state or organisation.")
        cleaned["issuing_state"] = canonical_state(state)
    for name, vocab in (("document_category", vocabulary.DOCUMENT_CATEGORIES),
                        ("fraud_type", vocabulary.FRAUD_TYPES),
                        ("status", {**vocabulary.STATUSES, "revised": None})):
        if name in filters:
            if filters[name] not in vocab:
                errors[name] = _("Choose one of: %(choices)s.", choices=", ".join(vocab))
            cleaned[name] = filters[name]
    if "reporting_party" in filters:
        # A party code of the portal, nothing else: the filters are audited, so free text never reaches the log.
        code = str(filters["reporting_party"]).strip().upper()
        if len(code) > 8 or db.session.scalar(select(Party.id).where(Party.code == code)) is None:
            errors["reporting_party"] = _("Not the code of a party of the portal.")
        cleaned["reporting_party"] = code
    cleaned["detected_from"] = _date(errors, "detected_from", filters.get("detected_from"))
    cleaned["detected_to"] = _date(errors, "detected_to", filters.get("detected_to"))
    if "text" in filters:
        cleaned["text"] = str(filters["text"])[:500]
    if errors:
        raise SearchError(errors)
    return {key: value for key, value in cleaned.items() if value is not None}


def apply_filters(statement: Select, filters: dict, *, with_state: bool = True) -> Select:
    """``statement`` (over ``Alert``) narrowed by filters cleaned by ``clean_filters``, full text included;
    ``with_state=False`` leaves the issuing state out."""
    if with_state and "issuing_state" in filters:
        statement = statement.where(Alert.issuing_state == filters["issuing_state"])
    if "document_category" in filters:
        statement = statement.where(Alert.document_category == filters["document_category"])
    if "fraud_type" in filters:
        statement = statement.where(Alert.fraud_type == filters["fraud_type"])
    if "status" in filters:
        if filters["status"] == "revised":
            statement = statement.where(Alert.status == "published", Alert.revision > 1)
        else:
            statement = statement.where(Alert.status == filters["status"])
    if "reporting_party" in filters:
        statement = statement.where(Alert.owner_party_id.in_(select(Party.id).where(Party.code == filters["reporting_party"])))
    if "detected_from" in filters:
        statement = statement.where(Alert.detection_date >= filters["detected_from"])
    if "detected_to" in filters:
        statement = statement.where(Alert.detection_date <= filters["detected_to"])
    if "text" in filters:
        statement = statement.where(fulltext.matching(filters["text"]))
    return statement


def looks_like_number(query: str) -> bool:
    """Whether a free query is searched as a document number (the number syntax, with a digit)."""
    number = normalise_document_number(query)
    return bool(VALID_NUMBER.match(number)) and any(char.isdigit() for char in number)


def _ordered(statement: Select, sort: str) -> Select:
    return statement.order_by(*_ORDER[sort]())


# --- number search ------------------------------------------------------------------------------------

def _series_hits(principal, filters: dict, number: str, state: str | None) -> list[int]:
    """Ids of visible series (stolen blanks) that enclose ``number``: indexed candidates, then bounds."""
    parts = split_number(number)
    if parts is None:
        return []
    base = visible_alerts(principal).with_only_columns(Alert.issuing_state).where(Alert.range_index.is_not(None))
    states = [state] if state else list(db.session.scalars(apply_filters(base, filters).distinct()))
    indexes = [index for code in states for index in series_indexes(number, code)]
    if not indexes:
        return []
    candidates = visible_alerts(principal).with_only_columns(Alert.id, Alert.range_start, Alert.range_end)
    candidates = candidates.where(Alert.range_index.in_(indexes))
    return [alert_id for alert_id, start, end in db.session.execute(apply_filters(candidates, filters))
            if NumberRange.holds(start, end, number)]


def number_hits(principal, number: str, state: str | None, filters: dict, sort: str) -> list[tuple[int, str]]:
    """``(id, match)`` of every visible alert matching ``number``: exact, then near, then series."""
    state = canonical_state(state) if state else None
    base = apply_filters(visible_alerts(principal).with_only_columns(Alert.id), filters)
    exact_clause = Alert.number_index == number_index(number, state) if state else \
        Alert.number_any_index == number_any_index(number)
    exact = list(db.session.scalars(_ordered(base.where(exact_clause), sort)))
    near_statement = base.where(Alert.skeleton_index == skeleton_index(number))
    if state:
        near_statement = near_statement.where(Alert.issuing_state == state)
    if exact:
        near_statement = near_statement.where(Alert.id.not_in(exact))
    near = list(db.session.scalars(_ordered(near_statement, sort)))
    series = _series_hits(principal, filters, number, state)
    seen = set(exact) | set(near)
    series_sorted = [alert_id for alert_id in db.session.scalars(_ordered(
        select(Alert.id).where(Alert.id.in_(series)), sort))] if series else []
    return ([(i, "exact") for i in exact] + [(i, "near") for i in near]
            + [(i, "range") for i in series_sorted if i not in seen])


# --- the search ---------------------------------------------------------------------------------------

def searched_terms(number: str | None, state: str | None, filters: dict) -> list[SearchTerm]:
    """What a search asked, to be sealed in its audit entry: the number (and its state), the words."""
    terms = [SearchTerm("number", number, canonical_state(state) if state else None)] if number else []
    if "text" in filters:
        terms.append(SearchTerm("text", " ".join(fulltext.words(filters["text"]))))
    return terms


def search_alerts(principal: Principal | None, query: str | None = None, filters: dict | None = None, *,
                  page: int = 1, per_page: int = 20, sort: str = "-detection_date") -> SearchResult:
    """Search the alerts ``principal`` may see. Raises ``SearchError`` on bad filters, ``Forbidden``
    without the ``search_alerts`` permission (audited as denied)."""
    if principal is None or not principal.can("search_alerts"):
        record("alert.search", outcome="denied", principal=principal, details={"permission": "search_alerts"})
        raise Forbidden()
    errors = {}
    try:
        filters = clean_filters(filters)
    except SearchError as exc:
        errors = dict(exc.errors)
    if sort not in _ORDER:
        errors["sort"] = _("Choose one of: %(choices)s.", choices=", ".join(_ORDER))
    if not isinstance(page, int) or page < 1:
        errors["page"] = _("Enter a positive number.")
    if not isinstance(per_page, int) or not 1 <= per_page <= MAX_PER_PAGE:
        errors["per_page"] = _("Enter a number from 1 to %(limit)d.", limit=MAX_PER_PAGE)
    if errors:
        raise SearchError(errors)

    query = (query or "").strip()
    kind, number, state, mrz_errors = "all", None, filters.get("issuing_state"), []
    total_exact = True
    parsed = read_pasted_mrz(query) if query else None
    if parsed is not None:
        kind, number = "mrz", normalise_document_number(parsed.fields.get("document_number") or "")
        mrz_errors = [issue.to_dict() for issue in parsed.errors]
        if not number:  # an MRZ that cannot be read: say so, never search its text as words
            raise SearchError({"q": " ".join(issue["message"] for issue in mrz_errors)})
        mrz_state = parsed.fields.get("issuing_state")
        if not state and mrz_state and is_valid_icao_code(mrz_state):
            state = canonical_state(mrz_state)
    elif query and looks_like_number(query):
        kind, number = "number", normalise_document_number(query)
    elif query:
        kind = "text"
        filters = {**filters, "text": " ".join(filter(None, (filters.get("text"), query)))}

    if kind in ("number", "mrz"):
        matches = number_hits(principal, number, state, filters, sort) if number else []
        total = len(matches)
        window = matches[(page - 1) * per_page: page * per_page]
        loaded = {alert.id: alert for alert in db.session.scalars(
            select(Alert).where(Alert.id.in_([alert_id for alert_id, _ in window])))} if window else {}
        hits = [AlertHit(loaded[alert_id], match) for alert_id, match in window]
    else:
        statement = apply_filters(visible_alerts(principal), filters)
        counted = statement.with_only_columns(Alert.id).order_by(None).limit(COUNT_LIMIT + 1).subquery()
        total = db.session.scalar(select(func.count()).select_from(counted))
        total_exact = total <= COUNT_LIMIT
        total = min(total, COUNT_LIMIT)
        offset = (page - 1) * per_page  # the page never reaches past the counted matches
        rows = db.session.scalars(_ordered(statement, sort).limit(min(per_page, total - offset)).offset(offset)) \
            if offset < total else []
        hits = [AlertHit(alert) for alert in rows]

    terms = searched_terms(number, state, filters)
    record("alert.search", object_type="alert", principal=principal, details={
        "kind": kind,
        **({SEALED: seal_search_terms(terms)} if terms else {}),
        "issuing_state": state,
        "filters": {key: (value.isoformat() if isinstance(value, date) else value)
                    for key, value in filters.items() if key not in ("text", "issuing_state")},
        "results": total,
        "results_exact": total_exact,
        "page": page,
        "sort": sort,
    })
    return SearchResult(hits=hits, total=total, page=page, per_page=per_page, kind=kind,
                        number_searched=number is not None, issuing_state=state, mrz_errors=mrz_errors,
                        total_exact=total_exact, number=number)


def check_document(principal: Principal | None, number: str, issuing_state: str | None = None, *,
                   near: bool = False) -> CheckResult:
    """Hit / no hit: the published, visible alerts on exactly this document number (or on a series of
    stolen blanks holding it, when the issuing state is given). Indexed lookups only; audited as
    ``alert.check`` with the number and state sealed (``portal.audit.sealing``). ``near=True`` also lists,
    apart, the published alerts on numbers that differ only by look-alike characters (``CheckResult.near``,
    never a hit).

    Raises ``SearchError`` on a malformed number or state, ``Forbidden`` without ``check_alerts``.
    """
    _require_check(principal, "alert.check")
    errors = {}
    wanted = _checked_document(number, issuing_state, errors)
    if errors:
        raise SearchError(errors)
    result = _lookup(principal, [wanted], near)[0]
    record("alert.check", object_type="alert", principal=principal, details={
        SEALED: seal_search_terms([SearchTerm("number", *wanted)]), "issuing_state": wanted[1],
        "results": len(result.hits),
    })
    return result


def check_documents(principal: Principal | None, documents: list[tuple[str, str | None]], *,
                    near: bool = False) -> list[CheckResult]:
    """A manifest: for each ``(number, issuing_state)``, in order, exactly what ``check_document`` answers.

    All numbers are validated first (``SearchError`` naming ``documents[i].document_number`` /
    ``documents[i].issuing_state``, nothing checked); then looked up in a few statements (``IN`` over the
    blind indexes). One audit entry, ``alert.check_batch``, holds the count, the hits and every number and
    state sealed together. At most ``MAX_BATCH`` documents, at least one (``SearchError`` on ``documents``).
    """
    _require_check(principal, "alert.check_batch")
    errors: dict[str, str] = {}
    if not documents or len(documents) > MAX_BATCH:
        raise SearchError({"documents": _("Send 1 to %(limit)d documents.", limit=MAX_BATCH)})
    wanted = []
    for position, (number, issuing_state) in enumerate(documents):
        found: dict[str, str] = {}
        wanted.append(_checked_document(number, issuing_state, found))
        errors.update({f"documents[{position}].{name}": message for name, message in found.items()})
    if errors:
        raise SearchError(errors)
    results = _lookup(principal, wanted, near)
    record("alert.check_batch", object_type="alert", principal=principal, details={
        SEALED: seal_search_terms([SearchTerm("number", number, state) for number, state in wanted]),
        "documents": len(wanted), "hits": sum(result.hit for result in results),
    })
    return results


def _require_check(principal: Principal | None, action: str) -> None:
    if principal is None or not principal.can("check_alerts"):
        record(action, outcome="denied", principal=principal, details={"permission": "check_alerts"})
        raise Forbidden()


def _checked_document(number: str | None, issuing_state: str | None, errors: dict) -> tuple[str, str | None]:
    """``(normalised number, canonical state or None)``; a message per bad field added to ``errors``."""
    normalised = normalise_document_number(number or "")
    state = canonical_state((issuing_state or "").strip().upper()) or None
    if not VALID_NUMBER.match(normalised):
        errors["document_number"] = _("A document number holds 1 to 30 letters and digits.")
    if state is not None and not is_valid_icao_code(state):
        errors["issuing_state"] = _("Not an ICAO code of a state or organisation.")
    return normalised, state


@dataclass
class _Wanted:
    """One document's blind indexes, and where its answer goes."""

    number: str
    state: str | None
    key: str  # number_index (with a state) or number_any_index
    series: set[str]
    hits: list[CheckHit] = field(default_factory=list)
    series_hits: list[CheckHit] = field(default_factory=list)


def _lookup(principal: Principal, documents: list[tuple[str, str | None]], near: bool) -> list[CheckResult]:
    """The ``CheckResult`` of each ``(normalised number, state)``, in order: the documents with a state in
    one statement per chunk, those without in another (duplicates looked up once)."""
    wanted = {}
    for number, state in documents:
        if (number, state) not in wanted:
            key = number_index(number, state) if state else number_any_index(number)
            # A number with no digits can't be in a series; an index no row carries keeps the statement one.
            series = (set(series_indexes(number, state)) or {""}) if state else set()
            wanted[number, state] = _Wanted(number, state, key, series)
    for with_state in (True, False):
        group = [item for item in wanted.values() if (item.state is not None) == with_state]
        for start in range(0, len(group), _LOOKUP_CHUNK):
            _exact_and_series(principal, group[start:start + _LOOKUP_CHUNK], with_state)
    results = {pair: CheckResult(item.hits + item.series_hits) for pair, item in wanted.items()}
    if near:
        items = list(wanted.values())
        for start in range(0, len(items), _LOOKUP_CHUNK):
            _near(principal, items[start:start + _LOOKUP_CHUNK], results)
    # Each document its own result object (duplicates equal, not shared).
    return [CheckResult(list(results[pair].hits), None if results[pair].near is None else list(results[pair].near))
            for pair in documents]


# The check statement for each kind of principal (``Principal.visibility_key``) and question (with or
# without a state), built once: border systems call it thousands of times a minute, and building it cost
# more than running it.
_CHECK_STATEMENTS: dict = {}


def _check_statement(principal: Principal, with_state: bool) -> Select:
    key = (principal.visibility_key, with_state)
    statement = _CHECK_STATEMENTS.get(key)
    if statement is None:
        if with_state:
            key_column = Alert.number_index
            wanted = or_(Alert.number_index.in_(bindparam("numbers", expanding=True)),
                         Alert.range_index.in_(bindparam("series", expanding=True)))
        else:
            key_column = Alert.number_any_index
            wanted = Alert.number_any_index.in_(bindparam("numbers", expanding=True))
        statement = _CHECK_STATEMENTS[key] = (
            select(Alert.id, Alert.reference, Alert.fraud_type, Alert.status, Alert.issuing_state, Party.code,
                   Alert.tlp, Alert.range_index, Alert.range_start, Alert.range_end, key_column.label("key"))
            .join(Party, Party.id == Alert.owner_party_id)
            .where(visibility_clause(Alert, principal), Alert.status == "published", wanted)
            .order_by(Alert.id)
        )
    return statement


def _exact_and_series(principal: Principal, group: list[_Wanted], with_state: bool) -> None:
    """Published, visible alerts on exactly each number, then series enclosing it (with a state): one
    indexed statement for the group, reading only the answer's columns (and a candidate series' bounds)."""
    if not group:
        return
    by_key: dict[str, list[_Wanted]] = {}
    by_series: dict[str, list[_Wanted]] = {}
    for item in group:
        by_key.setdefault(item.key, []).append(item)
        for index in item.series:
            by_series.setdefault(index, []).append(item)
    params = {"numbers": sorted(by_key)}
    if with_state:
        params["series"] = sorted(by_series)
    # On the session's connection: a Core statement needs none of the ORM's execution machinery.
    for row in db.session.connection().execute(_check_statement(principal, with_state), params):
        for item in {id(item): item for item in by_key.get(row.key, []) + by_series.get(row.range_index, [])}.values():
            if row.range_index in item.series:
                if not NumberRange.holds(row.range_start, row.range_end, item.number):
                    continue
                match, into = "range", item.series_hits
            else:
                match, into = "exact", item.hits
            into.append(CheckHit(row.id, row.reference, row.fraud_type, row.status, row.issuing_state, row.code,
                                 row.tlp, match))


def _near(principal: Principal, group: list[_Wanted], results: dict) -> None:
    """Published, visible alerts on look-alike numbers (the skeleton index), within the state when given;
    set as each result's ``near``."""
    skeletons: dict[str, list[_Wanted]] = {}
    for item in group:
        skeletons.setdefault(skeleton_index(item.number), []).append(item)
        results[item.number, item.state].near = []
    statement = (
        select(Alert.id, Alert.reference, Alert.fraud_type, Alert.status, Alert.issuing_state, Party.code, Alert.tlp,
               Alert.skeleton_index)
        .join(Party, Party.id == Alert.owner_party_id)
        .where(visibility_clause(Alert, principal), Alert.status == "published",
               Alert.skeleton_index.in_(sorted(skeletons)))
        .order_by(Alert.id)
    )
    for row in db.session.execute(statement):
        for item in skeletons[row.skeleton_index]:
            result = results[item.number, item.state]
            if (item.state is None or row.issuing_state == item.state) and row.id not in result.alert_ids:
                result.near.append(CheckHit(row.id, row.reference, row.fraud_type, row.status, row.issuing_state,
                                            row.code, row.tlp, "near"))
