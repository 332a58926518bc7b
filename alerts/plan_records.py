"""The alerts linked to a plan-of-action objective, for its page (``portal.plan.records``)."""

from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from alerts.models import Alert
from alerts.vocabulary import FRAUD_TYPES, label
from portal.access import visible
from portal.extensions import db
from portal.plan.records import LinkedRecord, objectives_contain, register_objective_records


def linked_alerts(principal, code: str, limit: int) -> tuple[list[LinkedRecord], int]:
    linked = visible(Alert, principal).where(objectives_contain(Alert.objectives, code))
    total = db.session.scalar(select(func.count()).select_from(linked.subquery()))
    alerts = db.session.scalars(linked.order_by(Alert.updated_at.desc(), Alert.id.desc()).limit(limit)).all()
    return [LinkedRecord(alert.reference, f"{alert.issuing_state} · {label(FRAUD_TYPES, alert.fraud_type)}",
                         url_for("alerts.detail", alert_id=alert.id), alert.published_at or alert.updated_at)
            for alert in alerts], total


register_objective_records("alerts", _l("Alerts linked to this objective"), linked_alerts)
