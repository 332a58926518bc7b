"""Export of the alerts a user can see, as CSV or JSON in the import format (``alerts.bulk``).

Scope: ``visible(Alert, principal)`` with the search's own filters (``alerts.search.clean_filters``) and
its query (a number or MRZ: its exact, near and series matches; words: full text). The export is for
the authorised viewer, so the decrypted document number, MRZ and holder data are in the file; they never
reach a log or the audit entry (``alert.export``: format, counts and filter codes only).

RED and AMBER+STRICT alerts are never exported (``portal.access.RESTRICTED_TLP``). The choice made here:

- in a general export they are **left out**, and the number left out is told to the user (the export
  page, the CLI, the ``X-Alerts-Excluded-Restricted`` response header, the audit entry);
- a user who **asks for them explicitly** (``tlp=RED`` or ``tlp=AMBER+STRICT``) is **refused**
  (``ExportRefused``: 403 on the web, exit status 1 on the command line), audited as denied.

Every row carries its TLP (a column / a key), and its reference and reporting party (ignored by the
import). The distribution's parties and network are given only where ``portal.access.sees_recipients``
allows (the exporter's own alerts), as in the API and on the alert pages. CSV cells that a spreadsheet
would run as a formula (``=``, ``+``, ``-``, ``@``...) get a leading ``'``, which the import removes again.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import Select, func, select
from werkzeug.exceptions import Forbidden

from alerts.bulk import DISTRIBUTION_COLUMNS, LIST_SEPARATOR, csv_lines, spreadsheet_safe
from alerts.indexes import normalise_document_number
from alerts.models import Alert
from alerts.mrz import looks_like_mrz, parse_mrz
from alerts.operations import CONTENT_FIELDS
from alerts.search import (
    SearchError,
    apply_filters,
    clean_filters,
    looks_like_number,
    number_hits,
    searched_terms,
)
from portal.access import RESTRICTED_TLP, TLP_LEVELS, can_export, sees_recipients, visible
from portal.audit.sealing import SEALED, SearchTerm, seal_search_terms
from portal.audit.service import record
from portal.extensions import db
from portal.parties.models import Network, Party
from portal.principal import Principal

EXPORT_FORMATS = ("csv", "json")
CSV_COLUMNS = ("reference", "reporting_party", "tlp", "status", *DISTRIBUTION_COLUMNS, *CONTENT_FIELDS)
PAGE_SIZE = 500


class ExportRefused(Forbidden):
    """The user asked explicitly for RED or AMBER+STRICT alerts, which are never exported (403)."""

    def __init__(self, tlp: str):
        super().__init__(_("%(tlp)s alerts are never exported.", tlp=tlp))
        self.tlp = tlp


@dataclass
class ExportPlan:
    """What an export will hold: the statement of exportable alerts, how many, how many left out."""

    principal: Principal
    statement: Select
    count: int
    excluded_restricted: int
    filters: dict = field(default_factory=dict)
    kind: str = "all"
    terms: list[SearchTerm] = field(default_factory=list)  # what was searched: sealed in the audit entry

    def audit_details(self, fmt: str) -> dict:
        return {"format": fmt, "count": self.count, "excluded_restricted": self.excluded_restricted,
                "kind": self.kind, **({SEALED: seal_search_terms(self.terms)} if self.terms else {}),
                "filters": {key: (value.isoformat() if isinstance(value, date) else value)
                            for key, value in self.filters.items() if key not in ("text", "issuing_state")},
                "issuing_state": self.filters.get("issuing_state")}


def _require(principal: Principal | None) -> None:
    if principal is None or not principal.can("search_alerts"):
        record("alert.export", outcome="denied", object_type="alert", principal=principal,
               details={"permission": "search_alerts"})
        raise Forbidden()


def plan_export(principal: Principal | None, query: str | None = None, filters: dict | None = None,
                tlp: str | None = None) -> ExportPlan:
    """The export of what ``principal`` sees under ``query`` / ``filters`` (the search page's).

    Raises ``Forbidden`` without ``search_alerts``, ``ExportRefused`` for an explicit restricted ``tlp``,
    ``SearchError`` for a bad filter.
    """
    _require(principal)
    tlp = (tlp or "").strip().upper() or None
    if tlp in RESTRICTED_TLP:
        record("alert.export", outcome="denied", object_type="alert", principal=principal,
               details={"tlp": tlp, "reason": "restricted_tlp"})
        raise ExportRefused(tlp)
    if tlp is not None and tlp not in TLP_LEVELS:
        raise SearchError({"tlp": _("Choose a TLP marking (%(levels)s).", levels=", ".join(TLP_LEVELS))})
    filters = clean_filters(filters)
    query = (query or "").strip()
    statement = visible(Alert, principal)
    kind, terms = "all", []
    if query and (looks_like_mrz(query) or looks_like_number(query)):
        kind = "mrz" if looks_like_mrz(query) else "number"
        state = filters.get("issuing_state")
        if kind == "mrz":
            parsed = parse_mrz(query)
            number = normalise_document_number(parsed.fields.get("document_number") or "")
            state = state or parsed.fields.get("issuing_state")
        else:
            number = normalise_document_number(query)
        ids = [alert_id for alert_id, _match in number_hits(principal, number, state, filters, "reference")] \
            if number else []
        statement = statement.where(Alert.id.in_(ids))
        terms = searched_terms(number, state, {})
    elif query:
        kind = "text"
        filters = {**filters, "text": " ".join(filter(None, (filters.get("text"), query)))}
    statement = apply_filters(statement, filters)
    if tlp is not None:
        statement = statement.where(Alert.tlp == tlp)
    count_of = lambda s: db.session.scalar(s.with_only_columns(func.count(Alert.id)).order_by(None))
    excluded = count_of(statement.where(Alert.tlp.in_(RESTRICTED_TLP)))
    statement = statement.where(Alert.tlp.not_in(RESTRICTED_TLP))
    terms = [*terms, *searched_terms(None, None, filters)]
    return ExportPlan(principal, statement, count_of(statement), excluded, filters, kind, terms)


def _iso(value):
    return value.isoformat() if isinstance(value, date | datetime) else value


def _alerts(plan: ExportPlan) -> Iterator[Alert]:
    """The exportable alerts by id, a page at a time (keyset pagination: bounded memory, any size)."""
    last = 0
    while True:
        page = db.session.scalars(plan.statement.where(Alert.id > last).order_by(Alert.id).limit(PAGE_SIZE)).all()
        if not page:
            return
        for alert in page:
            if can_export(alert):  # the statement already left them out; this is the last line of defence
                yield alert
        last = page[-1].id


def export_record(alert: Alert, principal: Principal) -> dict:
    """One alert in the import format (the API's body), plus its reference and reporting party."""
    shown = sees_recipients(alert, principal)
    parties = network = None
    if shown and alert.distribution_level == "parties":
        parties = sorted(db.session.scalars(select(Party.code).where(Party.id.in_(alert.recipient_party_ids))))
    if shown and alert.network_id:
        found = db.session.get(Network, alert.network_id)
        network = found.code if found else None
    item = {"reference": alert.reference, "reporting_party": alert.owner_party.code, "tlp": alert.tlp,
            "status": alert.status,
            "distribution": {"level": alert.distribution_level, "parties": parties, "network": network}}
    item.update({name: _iso(getattr(alert, name)) for name in CONTENT_FIELDS})
    return item


def _safe_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        value = LIST_SEPARATOR.join(str(part) for part in value)
    return spreadsheet_safe(str(value))


def csv_row(item: dict) -> list[str]:
    distribution = item["distribution"]
    flat = {**item, "distribution_level": distribution["level"], "distribution_parties": distribution["parties"],
            "distribution_network": distribution["network"]}
    return [_safe_cell(flat.get(name)) for name in CSV_COLUMNS]


def csv_chunks(plan: ExportPlan) -> Iterator[str]:
    """The CSV file, a line at a time (header first)."""
    rows = (csv_row(export_record(alert, plan.principal)) for alert in _alerts(plan))
    return csv_lines(itertools.chain([CSV_COLUMNS], rows))


def json_chunks(plan: ExportPlan) -> Iterator[str]:
    """The JSON file (a list of alert objects), an alert at a time."""
    yield "["
    separator = "\n"
    for alert in _alerts(plan):
        yield separator + json.dumps(export_record(alert, plan.principal), ensure_ascii=False, sort_keys=True)
        separator = ",\n"
    yield "\n]\n"


def export_chunks(plan: ExportPlan, fmt: str) -> Iterator[str]:
    """Audit the export (``alert.export`` with its counts) and return the file's text chunks."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(fmt)
    record("alert.export", object_type="alert", principal=plan.principal, details=plan.audit_details(fmt))
    return csv_chunks(plan) if fmt == "csv" else json_chunks(plan)
