"""Reporting templates (as data, versioned), cycles, the parties' returns and their submitted versions.

A template's table is JSON (``portal.reporting.templates`` describes its shape): dimensions and measures,
each with a type and bounds. A cycle pins one template version, so every return keeps the version it was
made with. A return is a shareable record of the party it is for (``ShareableMixin``): by default
distributed to the secretariat (TS) and its own party; the party may share it with all members. Its working
copy (the draft rows) is seen by its own party only; everyone else reads only what was submitted, the
``ReturnVersion`` snapshots, and only once something was (``visibility_refinement``).
"""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint, or_
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.access import ShareableMixin
from portal.extensions import db
from portal.parties.models import Party
from portal.timeutil import utcnow

# not_started: opened, nothing saved; draft: saved, not submitted; returned: sent back with a reason
RETURN_STATUSES = ("not_started", "draft", "submitted", "accepted", "returned")
EDITABLE_STATUSES = frozenset({"not_started", "draft", "returned"})
PERIOD_KINDS = ("semester", "rcgm")
# how each status (and "late", which the board derives from the due date) is named on the pages
STATUS_LABELS = {
    "not_started": _l("Not started"),
    "draft": _l("Draft"),
    "submitted": _l("Submitted"),
    "accepted": _l("Accepted"),
    "returned": _l("Sent back"),
    "late": _l("Late"),
}


class ReportingTemplate(db.Model):
    """One version of a reporting template: its objective, period kind and table (JSON)."""

    __tablename__ = "reporting_templates"
    __table_args__ = (UniqueConstraint("code", "version", name="uq_reporting_templates_code_version"),)
    visible_with_permission = "view_reporting"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    title_en: Mapped[str] = mapped_column(String(200))
    title_es: Mapped[str] = mapped_column(String(200))
    objective: Mapped[str] = mapped_column(String(32))
    period_kind: Mapped[str] = mapped_column(String(16))
    table: Mapped[dict] = mapped_column("layout", JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def title(self, lang: str) -> str:
        return self.title_es if lang == "es" else self.title_en

    @property
    def dimensions(self) -> list[dict]:
        return list(self.table.get("dimensions", []))

    @property
    def measures(self) -> list[dict]:
        return list(self.table.get("measures", []))

    @property
    def columns(self) -> list[dict]:
        return self.dimensions + self.measures

    def column(self, name: str) -> dict:
        return next(column for column in self.columns if column["name"] == name)


class ReportingCycle(db.Model):
    """A template (one version) opened for a period with a due date; each submitting party has a return."""

    __tablename__ = "reporting_cycles"
    __table_args__ = (UniqueConstraint("template_code", "period", name="uq_reporting_cycles_template_code_period"),)
    visible_with_permission = "view_reporting"

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("reporting_templates.id"), index=True)
    template_code: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(16))
    due_date: Mapped[date] = mapped_column(Date)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)

    template: Mapped[ReportingTemplate] = relationship(lazy="joined")


class PartyReturn(ShareableMixin, db.Model):
    """A party's return to a cycle; ``owner_party_id`` is the party it reports for."""

    __tablename__ = "reporting_returns"
    __table_args__ = (UniqueConstraint("cycle_id", "owner_party_id", name="uq_reporting_returns_cycle_id_owner"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("reporting_cycles.id"), index=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("reporting_templates.id"))
    status: Mapped[str] = mapped_column(String(16), default="not_started", index=True)
    draft_rows: Mapped[list] = mapped_column(JSON, default=list)
    # the number of the latest submitted version (0: never submitted)
    submitted_version: Mapped[int] = mapped_column(Integer, default=0)
    saved_at: Mapped[datetime | None] = mapped_column(nullable=True)
    submitted_at: Mapped[datetime | None] = mapped_column(nullable=True)
    accepted_at: Mapped[datetime | None] = mapped_column(nullable=True)
    returned_at: Mapped[datetime | None] = mapped_column(nullable=True)
    return_reason: Mapped[str | None] = mapped_column(Text, nullable=True)

    cycle: Mapped[ReportingCycle] = relationship(lazy="joined")
    template: Mapped[ReportingTemplate] = relationship(lazy="joined")
    owner_party: Mapped[Party] = relationship(foreign_keys="PartyReturn.owner_party_id", lazy="joined")

    @classmethod
    def visibility_refinement(cls, principal):
        """Another party sees a return only once something was submitted (a draft never)."""
        return or_(cls.owner_party_id == principal.party_id, cls.submitted_version > 0)

    @property
    def editable(self) -> bool:
        return self.status in EDITABLE_STATUSES

    def is_late(self, today: date | None = None) -> bool:
        today = today or utcnow().date()
        return self.status in EDITABLE_STATUSES and self.cycle.due_date < today


class ReturnVersion(db.Model):
    """One submitted version of a return (1, 2, ...), kept for ever; the secretariat's decision on it."""

    __tablename__ = "reporting_return_versions"
    __table_args__ = (UniqueConstraint("return_id", "number", name="uq_reporting_return_versions_return_number"),)
    visible_through = "return_id"

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("reporting_returns.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    rows: Mapped[list] = mapped_column(JSON, default=list)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    # accepted / returned (sent back), once the secretariat decided
    decision: Mapped[str | None] = mapped_column(String(16), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class ReturnReminder(db.Model):
    """One reminder of one kind per return (``due-14``, ``due-3``, ``overdue-1``, ...): sent once each."""

    __tablename__ = "reporting_reminders"

    return_id: Mapped[int] = mapped_column(ForeignKey("reporting_returns.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    sent_on: Mapped[date] = mapped_column(Date)
    recipients: Mapped[int] = mapped_column(Integer, default=0)


from portal.access import register_audited_record
from portal.plan.registry import register_action_objectives

# The default for reporting actions; each operation names its template's own objective explicitly.
register_action_objectives("reporting.", ("ERX-INF-2", "ERX-COP-3", "MPM-1"))
register_audited_record("reporting_return", PartyReturn)

