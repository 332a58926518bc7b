"""Reads of the reporting feature, all through ``portal.access``: cycles, returns, versions, the board.

A return is loaded by its cycle and party code through ``visible(PartyReturn)``: another party's return
that was never submitted is not found (404), exactly like one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import abort
from sqlalchemy import func, select

from portal.access import get_visible_or_404, may_change, refuse_as_missing, visible
from portal.extensions import db
from portal.parties.models import Party
from portal.reporting.models import PartyReturn, ReportingCycle, ReturnVersion
from portal.timeutil import utcnow

SUBMIT = "submit_party_return"
MANAGE = "manage_reporting"


def cycles(principal, template_code: str | None = None) -> list[ReportingCycle]:
    query = visible(ReportingCycle, principal).order_by(ReportingCycle.period.desc(), ReportingCycle.id.desc())
    if template_code:
        query = query.where(ReportingCycle.template_code == template_code)
    return list(db.session.scalars(query))


def get_cycle_or_404(principal, cycle_id) -> ReportingCycle:
    return get_visible_or_404(ReportingCycle, cycle_id, principal)


def previous_cycle(cycle: ReportingCycle) -> ReportingCycle | None:
    """The cycle of the same template for the period before (None: the first)."""
    return db.session.scalar(select(ReportingCycle).where(
        ReportingCycle.template_code == cycle.template_code, ReportingCycle.period < cycle.period)
        .order_by(ReportingCycle.period.desc()).limit(1))


def visible_returns(principal, cycle: ReportingCycle) -> list[PartyReturn]:
    return list(db.session.scalars(visible(PartyReturn, principal).where(PartyReturn.cycle_id == cycle.id)
                                   .join(Party, Party.id == PartyReturn.owner_party_id).order_by(Party.code)))


def return_count(cycle: ReportingCycle) -> int:
    """How many returns the cycle has (one per submitting party: no secret)."""
    return db.session.scalar(select(func.count()).select_from(PartyReturn).where(PartyReturn.cycle_id == cycle.id))


def get_return_or_404(principal, cycle: ReportingCycle, party_code: str) -> PartyReturn:
    """The cycle's return of ``party_code``, if ``principal`` may see it; otherwise 404 (audited)."""
    found = db.session.scalar(visible(PartyReturn, principal).join(Party, Party.id == PartyReturn.owner_party_id)
                              .where(PartyReturn.cycle_id == cycle.id, Party.code == str(party_code)[:8]))
    if found is None:
        refuse_as_missing(PartyReturn, f"{cycle.id}/{str(party_code)[:8]}", object_type="reporting_return")
    return found


def get_fillable_or_404(principal, cycle: ReportingCycle, party_code: str) -> PartyReturn:
    """The return ``principal`` may fill in: its own party's, with ``submit_party_return`` (404 for another
    party's, 403 without the permission)."""
    found = get_return_or_404(principal, cycle, party_code)
    if not may_change(found, None, principal):
        refuse_as_missing(PartyReturn, f"{cycle.id}/{party_code}", object_type="reporting_return")
    if not principal.can(SUBMIT):
        abort(403)
    return found


def may_fill(principal, party_return: PartyReturn) -> bool:
    return may_change(party_return, SUBMIT, principal)


def versions(party_return: PartyReturn) -> list[ReturnVersion]:
    return list(db.session.scalars(select(ReturnVersion).where(ReturnVersion.return_id == party_return.id)
                                   .order_by(ReturnVersion.number)))


def latest_version(party_return: PartyReturn) -> ReturnVersion | None:
    if not party_return.submitted_version:
        return None
    return db.session.scalar(select(ReturnVersion).where(ReturnVersion.return_id == party_return.id,
                                                         ReturnVersion.number == party_return.submitted_version))


def get_version_or_404(party_return: PartyReturn, number) -> ReturnVersion:
    found = db.session.scalar(select(ReturnVersion).where(ReturnVersion.return_id == party_return.id,
                                                          ReturnVersion.number == number))
    if found is None:
        abort(404)
    return found


def shown_rows(principal, party_return: PartyReturn) -> list[dict]:
    """The rows a viewer reads: its own party's working copy; anyone else the latest submitted version."""
    if party_return.owner_party_id == principal.party_id:
        return list(party_return.draft_rows or [])
    version = latest_version(party_return)
    return list(version.rows) if version else []


@dataclass
class BoardLine:
    party_code: str
    party_name: str
    status: str  # not_started, draft, submitted, accepted, returned, late
    saved_at: object
    submitted_at: object
    accepted_at: object
    version: int
    visible: bool


def board(principal, cycle: ReportingCycle, today: date | None = None) -> list[BoardLine]:
    """The compliance board: with ``manage_reporting`` every party's status (never its cells); otherwise the
    principal's own party and the returns it may see."""
    today = today or utcnow().date()
    seen = {item.id for item in visible_returns(principal, cycle)}
    query = (select(PartyReturn).where(PartyReturn.cycle_id == cycle.id)
             .join(Party, Party.id == PartyReturn.owner_party_id).order_by(Party.code))
    lines = []
    for item in db.session.scalars(query):
        if not (principal.can(MANAGE) or item.id in seen):
            continue
        status = "late" if item.is_late(today) else item.status
        lines.append(BoardLine(item.owner_party.code, item.owner_party.name, status, item.saved_at,
                               item.submitted_at, item.accepted_at, item.submitted_version, item.id in seen))
    return lines
