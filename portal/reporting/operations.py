"""Every change of the reporting feature: cycles, drafts, submissions, the secretariat's decisions,
sharing and template versions.

Each takes the acting principal first, flushes (never commits), and writes its audit entry linked to the
template's objective (never a cell's value: the cycle, party, version and counts only). Who may call
which is decided before, by the route's permission and the loaders of ``portal.reporting.queries``.
"""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from portal.access import set_distribution
from portal.audit.service import record
from portal.extensions import db
from portal.parties.models import Party
from portal.reporting.catalogue import latest_template
from portal.reporting.models import PartyReturn, ReportingCycle, ReportingTemplate, ReturnVersion
from portal.reporting.validation import ReturnInvalid, clean_period, clean_rows
from portal.timeutil import utcnow

SECRETARIAT = "TS"
SHARING = ("secretariat", "members")
SHARING_TLP = ("CLEAR", "GREEN", "AMBER")
MAX_REASON = 2000


class ReportingRefused(ValueError):
    """The action cannot be done; ``field`` names the input at fault, ``reason`` the machine's word."""

    def __init__(self, reason: str, message: str, field: str | None = None):
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.field = field


def _audit(principal, action: str, party_return: PartyReturn | None = None, *, cycle=None, **details) -> None:
    cycle = cycle or party_return.cycle
    base = {"cycle": cycle.id, "template": cycle.template_code, "period": cycle.period}
    if party_return is not None:
        record(action, object_type="reporting_return", object_id=party_return.id,
               object_party=party_return.owner_party.code, details={**base, **details},
               objectives=[cycle.template.objective], principal=principal)
    else:
        record(action, object_type="reporting_cycle", object_id=cycle.id, details={**base, **details},
               objectives=[cycle.template.objective], principal=principal)


def submitting_parties() -> list[Party]:
    """Who submits: each active member country."""
    return list(db.session.scalars(select(Party).where(Party.kind == "member", Party.active.is_(True))
                                   .order_by(Party.code)))


def _secretariat() -> Party:
    return db.session.scalar(select(Party).where(Party.code == SECRETARIAT))


def open_cycle(principal, template_code: str, period: str, due_date: date) -> ReportingCycle:
    """Open a cycle of the template's latest version; each member country gets a return, shared with the
    secretariat (AMBER). Refused: an unknown template, a bad period, a due date in the past, a cycle that
    is already open for that template and period."""
    template = latest_template(str(template_code))
    if template is None:
        raise ReportingRefused("template", _("No such reporting template."), "template")
    clean = clean_period(period)
    if clean is None:
        raise ReportingRefused("period", _("A period is a year and a half, such as 2026-H2."), "period")
    if not isinstance(due_date, date) or due_date < utcnow().date():
        raise ReportingRefused("due_date", _("The due date must be today or later."), "due_date")
    taken = db.session.scalar(select(ReportingCycle.id).where(ReportingCycle.template_code == template.code,
                                                              ReportingCycle.period == clean))
    if taken is not None:
        raise ReportingRefused("exists", _("A cycle of this template is already open for %(period)s.",
                                           period=clean), "period")
    cycle = ReportingCycle(template=template, template_id=template.id, template_code=template.code, period=clean,
                           due_date=due_date, opened_by_id=getattr(principal, "user_id", None) or None)
    db.session.add(cycle)
    db.session.flush()
    secretariat = _secretariat()
    parties = submitting_parties()
    for party in parties:
        item = PartyReturn(cycle=cycle, template_id=template.id, owner_party_id=party.id, owner_party=party,
                           status="not_started", draft_rows=[], submitted_version=0)
        db.session.add(item)
        db.session.flush()
        set_distribution(item, level="parties", tlp="AMBER", party_ids=[secretariat.id])
    db.session.flush()
    _audit(principal, "reporting.cycle.open", cycle=cycle, due=due_date.isoformat(), returns=len(parties),
           template_version=template.version)
    return cycle


def _check_rows(party_return: PartyReturn, rows, document_exists, lang: str) -> list[dict]:
    clean, errors = clean_rows(party_return.template, party_return.cycle.period, rows,
                               document_exists=document_exists, lang=lang)
    if errors:
        raise ReturnInvalid(errors)
    return clean


def _refuse_unless_editable(party_return: PartyReturn) -> None:
    if not party_return.editable:
        raise ReportingRefused("status", _("This return has been submitted; it can be changed only once the "
                                           "secretariat sends it back."))


def save_draft(principal, party_return: PartyReturn, rows, *, document_exists=None, lang: str = "en",
               via: str = "form") -> None:
    """Replace the draft's rows (all checked first: nothing is stored while one cell is bad)."""
    _refuse_unless_editable(party_return)
    clean = _check_rows(party_return, rows, document_exists, lang)
    party_return.draft_rows = clean
    if party_return.status == "not_started":
        party_return.status = "draft"
    party_return.saved_at = utcnow()
    db.session.flush()
    _audit(principal, "reporting.return.edit", party_return, rows=len(clean), via=via)


def submit(principal, party_return: PartyReturn, *, document_exists=None) -> ReturnVersion:
    """Submit the draft as a new version (1, 2, ...): the secretariat sees it from now on."""
    _refuse_unless_editable(party_return)
    if party_return.status == "not_started":
        raise ReportingRefused("empty", _("Save the return before submitting it."))
    clean = _check_rows(party_return, party_return.draft_rows, document_exists, "en")
    number = party_return.submitted_version + 1
    version = ReturnVersion(return_id=party_return.id, number=number, rows=clean,
                            submitted_by_id=getattr(principal, "user_id", None) or None)
    db.session.add(version)
    party_return.submitted_version = number
    party_return.status = "submitted"
    party_return.submitted_at = version.submitted_at = utcnow()
    party_return.return_reason = None
    db.session.flush()
    late = party_return.cycle.due_date < party_return.submitted_at.date()
    _audit(principal, "reporting.return.submit", party_return, version=number, rows=len(clean), late=late)
    return version


def _decide(principal, party_return: PartyReturn, decision: str, reason: str | None) -> ReturnVersion:
    if party_return.status != "submitted":
        raise ReportingRefused("status", _("Only a submitted return can be accepted or sent back."))
    version = db.session.scalar(select(ReturnVersion).where(ReturnVersion.return_id == party_return.id,
                                                            ReturnVersion.number == party_return.submitted_version))
    version.decision, version.decided_at, version.reason = decision, utcnow(), reason
    return version


def accept(principal, party_return: PartyReturn) -> None:
    """The secretariat accepts the submitted version."""
    version = _decide(principal, party_return, "accepted", None)
    party_return.status = "accepted"
    party_return.accepted_at = version.decided_at
    db.session.flush()
    _audit(principal, "reporting.return.accept", party_return, version=version.number)


def send_back(principal, party_return: PartyReturn, reason: str) -> None:
    """The secretariat sends the submitted version back with a reason: the party corrects it (its draft
    is the submitted rows) and submits a new version."""
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise ReportingRefused("reason", _("Say why the return is sent back."), "reason")
    if len(reason) > MAX_REASON:
        raise ReportingRefused("reason", _("At most %(limit)d characters.", limit=MAX_REASON), "reason")
    version = _decide(principal, party_return, "returned", reason)
    party_return.status = "returned"
    party_return.returned_at = version.decided_at
    party_return.return_reason = reason
    party_return.draft_rows = list(version.rows)
    db.session.flush()
    _audit(principal, "reporting.return.send_back", party_return, version=version.number)
    from portal.reporting.notify import tell_sent_back

    tell_sent_back(party_return)


def share(principal, party_return: PartyReturn, sharing: str, tlp: str) -> None:
    """The party shares its return with the secretariat only (default) or with all members."""
    if sharing not in SHARING:
        raise ReportingRefused("sharing", _("Must be one of: %(choices)s.", choices=", ".join(SHARING)), "sharing")
    if tlp not in SHARING_TLP:
        raise ReportingRefused("tlp", _("Must be one of: %(choices)s.", choices=", ".join(SHARING_TLP)), "tlp")
    if sharing == "members":
        set_distribution(party_return, level="members", tlp=tlp)
    else:
        set_distribution(party_return, level="parties", tlp=tlp, party_ids=[_secretariat().id])
    db.session.flush()
    _audit(principal, "reporting.return.share", party_return, sharing=sharing, tlp=tlp)


def add_template_version(principal, code: str, *, title_en: str, title_es: str, objective: str,
                         period_kind: str, table: dict) -> ReportingTemplate:
    """A new template, or the next version of one; cycles already open keep theirs."""
    current = latest_template(code)
    template = ReportingTemplate(code=code, version=(current.version + 1) if current else 1, title_en=title_en,
                                 title_es=title_es, objective=objective, period_kind=period_kind, table=table)
    db.session.add(template)
    db.session.flush()
    record("reporting.template.add", object_type="reporting_template", object_id=template.id,
           details={"template": code, "version": template.version}, objectives=[objective], principal=principal)
    return template


def record_export(principal, cycle: ReportingCycle, what: str, party_return: PartyReturn | None = None,
                  **details) -> None:
    """Audit a download: a party's template (``template``) or the consolidated table (``consolidated``)."""
    _audit(principal, "reporting.export", party_return, cycle=cycle, what=what, **details)
