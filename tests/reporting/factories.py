"""Factories of the reporting tests: principals, cycles and filled returns."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from sqlalchemy import select

from auth.models import User
from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.parties.models import Party
from portal.principal import Principal
from portal.reporting import operations
from portal.reporting.catalogue import load_reporting_templates
from portal.reporting.models import PartyReturn, ReportingCycle
from portal.reporting.validation import period_months
from portal.timeutil import utcnow

FLOW_ROW = {"nationality": "IND", "month": "2026-07", "detected": 120, "women": 30, "minors": 12,
            "unaccompanied_minors": 3, "asylum_applications": 9, "returned": 40}


def principal(role: str = "country_admin", party_code: str = "GTM", user: User | None = None) -> Principal:
    party = db.session.scalar(select(Party).where(Party.code == party_code))
    return Principal.for_member(user_id=user.id if user else 0, party_id=party.id, party_code=party.code,
                                party_kind=party.kind, role=role)


def secretariat() -> Principal:
    return principal("secretariat_admin", "TS")


def open_cycle(template: str = "extra_regional_flows", period: str = "2026-H2",
               due: date | None = None) -> ReportingCycle:
    """A cycle opened by the secretariat (committed), due in 30 days unless ``due`` says otherwise."""
    load_reporting_templates()
    cycle = operations.open_cycle(secretariat(), template, period, utcnow().date() + timedelta(days=30))
    if due is not None:
        cycle.due_date = due  # a cycle already open whose due date has come or passed
    db.session.commit()
    return cycle


def party_return(cycle: ReportingCycle, party_code: str) -> PartyReturn:
    return db.session.scalar(select(PartyReturn).join(Party, Party.id == PartyReturn.owner_party_id)
                             .where(PartyReturn.cycle_id == cycle.id, Party.code == party_code))


def filled(cycle: ReportingCycle, party_code: str, rows=None, *, submit: bool = False) -> PartyReturn:
    """The party's return with ``rows`` saved (and submitted), committed."""
    item = party_return(cycle, party_code)
    who = principal("country_admin", party_code)
    operations.save_draft(who, item, rows if rows is not None else [dict(FLOW_ROW)])
    if submit:
        operations.submit(who, item)
    db.session.commit()
    return item


def audit_rows(action: str) -> list[AuditEntry]:
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)).all()


# a fresh period for each call (the semesters the validation accepts, from 2030 on, then from 1901 on)
_periods = itertools.cycle([f"{year}-H{half}" for year in (*range(2030, 2101), *range(1901, 2030))
                            for half in (1, 2)])


def shared_return(ctx=None) -> dict:
    """URL values of GTM's return to a fresh cycle: submitted and shared with all members as TLP:GREEN, so every
    viewer (observers too) sees it, and only GTM's users may fill it (for the route matrices)."""
    cycle = open_cycle(period=next(_periods))
    item = filled(cycle, "GTM", [{**FLOW_ROW, "month": period_months(cycle.period)[0]}], submit=True)
    operations.share(principal("country_admin", "GTM"), item, "members", "GREEN")
    db.session.commit()
    return {"cycle_id": cycle.id, "party": "GTM"}
