"""Alert test helpers: valid input, principals, alerts created through the real operations, and MRZs."""

from __future__ import annotations

from sqlalchemy import func, select

from alerts.models import Alert
from alerts.mrz import check_digit
from alerts.operations import create_alert
from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.principal import Principal


def principal(user) -> Principal:
    return Principal.for_user(user)


def alert_data(**overrides) -> dict:
    """A complete, valid alert (a counterfeit Guatemalan passport seen at La Aurora), with ``overrides``."""
    data = {
        "detecting_unit": "Immigration control, terminal 1",
        "detection_place_kind": "airport",
        "detection_place": "La Aurora International Airport",
        "detection_date": "2026-01-15",
        "route": ["COL", "PAN", "GTM"],
        "bearer_nationality": "COL",
        "document_category": "passport",
        "document_type": "ordinary",
        "issuing_state": "GTM",
        "series": "GTM-P-2019",
        "document_number": "A1234567",
        "issue_date": "2020-02-01",
        "expiry_date": "2030-01-31",
        "fraud_type": "counterfeit",
        "security_features": ["laminate", "uv_features"],
        "description": "Counterfeit passport booklet of good quality.",
        "modus_operandi": "Bought from a facilitator during the journey.",
        "detection_tips": "The laminate shows no reaction under ultraviolet light.",
        "tlp": "GREEN",
        "distribution": {"level": "members"},
        "status": "published",
    }
    data.update(overrides)
    return data


def report(user, **overrides) -> Alert:
    """An alert reported by ``user`` through ``create_alert`` (flushed, in the test's transaction)."""
    return create_alert(principal(user), alert_data(**overrides))


_audit_start = {"seq": 0}


def mark_audit_start() -> None:
    """Remember the head of the audit log: ``audit_entries`` then sees only what the test wrote (entries
    committed for real by other tests stay forever, and SQLite reuses the ids of deleted rows)."""
    _audit_start["seq"] = db.session.scalar(select(func.max(AuditEntry.seq))) or 0


def audit_entries(action: str, **where) -> list[AuditEntry]:
    """Entries queued so far are written when the (savepoint) transaction commits: commit first."""
    db.session.commit()
    statement = select(AuditEntry).where(AuditEntry.action == action, AuditEntry.seq > _audit_start["seq"])
    for key, value in where.items():
        statement = statement.where(getattr(AuditEntry, key) == value)
    return list(db.session.scalars(statement.order_by(AuditEntry.seq)))


def td3(number: str, state: str = "GTM", surname: str = "PEREZ", given: str = "JUAN", birth: str = "850101",
        expiry: str = "300101", nationality: str | None = None, sex: str = "M") -> str:
    """A TD3 (passport) MRZ with every check digit right."""
    nationality = nationality or state
    line1 = f"P<{state:<<3}{surname}<<{given.replace(' ', '<')}".ljust(44, "<")[:44]
    num = number.ljust(9, "<")
    personal = "<" * 14
    body = (num + check_digit(num) + nationality + birth + check_digit(birth) + sex + expiry
            + check_digit(expiry) + personal + "<")
    composite = check_digit(body[0:10] + body[13:20] + body[21:43])
    return line1 + "\n" + body + composite


def confirmation_request(requester, alert, *, number: str = "A1234567", place: str = "Tecún Umán crossing",
                         note: str | None = None):
    """A hit confirmation asked by ``requester`` (of another party) on ``alert``, through the operation."""
    from alerts.confirmation_operations import request_confirmation

    return request_confirmation(principal(requester), alert.id, document_number=number, place=place, note=note)
