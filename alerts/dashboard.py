"""The alerts' dashboard panels: the check box, reporting, new alerts, acknowledgements owed, the region.

Every figure is read through ``portal.access.visible(Alert)``: a panel counts only what its viewer may
see, never the database's totals.
"""

from __future__ import annotations

from collections import Counter

from flask_babel import gettext as _
from sqlalchemy import exists, func, select

from alerts.models import Alert, AlertAcknowledgement
from alerts.subscriptions import subscriptions_of
from alerts.vocabulary import FRAUD_TYPES
from portal.access import visible
from portal.charts import bar_chart
from portal.dashboard.panels import register_panel
from portal.dashboard.periods import count_by_month, last_visit, month_labels, window_start
from portal.extensions import db
from portal.parties.models import Party

LISTED = 5  # records listed in a panel; its link opens the rest
TOP = 8  # bars in a "top" chart


def _published(principal):
    return visible(Alert, principal).where(Alert.status == "published")


def _count(statement) -> int:
    return db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))


def check_box(principal) -> dict:
    return {}


def reporting(principal) -> dict:
    """The party's drafts and the published alerts of other parties that the party has not acknowledged."""
    drafts = visible(Alert, principal).where(Alert.status == "draft", Alert.owner_party_id == principal.party_id)
    acknowledged = exists().where(AlertAcknowledgement.alert_id == Alert.id,
                                  AlertAcknowledgement.party_id == principal.party_id)
    owed = _published(principal).where(Alert.owner_party_id != principal.party_id, ~acknowledged)
    return {
        "drafts": db.session.scalars(drafts.order_by(Alert.updated_at.desc(), Alert.id.desc()).limit(LISTED)).all(),
        "draft_count": _count(drafts),
        "owed": db.session.scalars(owed.order_by(Alert.published_at.desc(), Alert.id.desc()).limit(LISTED)).all(),
        "owed_count": _count(owed),
    }


def new_alerts(principal) -> dict:
    """Alerts published since the viewer's last visit (those matching a subscription first), and a chart
    of the alerts shared with the party over the last twelve months."""
    since = last_visit(principal.user_id)
    fresh = db.session.scalars(_published(principal).where(Alert.published_at > since)
                               .order_by(Alert.published_at.desc(), Alert.id.desc()).limit(50)).all()
    subscriptions = subscriptions_of(principal.user_id)
    matching = {alert.id for alert in fresh if any(sub.matches(alert) for sub in subscriptions)}
    fresh.sort(key=lambda alert: alert.id not in matching)  # stable: newest first within each group
    labels = month_labels(12)
    dates = db.session.scalars(_published(principal).with_only_columns(Alert.published_at)
                               .where(Alert.published_at >= window_start(labels))).all()
    chart = bar_chart("alerts-shared", _("Alerts shared with your party, by month of publication"), labels,
                      {_("Alerts"): count_by_month(dates, labels)}, label_heading=_("Month"))
    return {"since": since, "alerts": fresh[:LISTED * 2], "matching": matching, "fresh_count": len(fresh),
            "chart": chart}


def region(principal) -> dict:
    """The region at a glance, from the alerts the viewer may see: per month by fraud type, top issuing
    states, and detection routes (origin -> transit -> the detecting party)."""
    labels = month_labels(12)
    rows = db.session.execute(
        _published(principal).with_only_columns(Alert.published_at, Alert.fraud_type, Alert.issuing_state,
                                                Alert.route, Party.code)
        .join(Party, Party.id == Alert.owner_party_id).where(Alert.published_at >= window_start(labels))
    ).all()
    by_type = {str(FRAUD_TYPES.get(kind, kind)): count_by_month((row[0] for row in rows if row[1] == kind), labels)
               for kind in FRAUD_TYPES if any(row[1] == kind for row in rows)}
    states = Counter(row[2] for row in rows).most_common(TOP)
    routes = Counter(route_label(row[3], row[4]) for row in rows if row[3]).most_common(TOP)
    return {
        "per_month": bar_chart("region-fraud-types", _("Alerts per month by fraud type"), labels, by_type,
                               label_heading=_("Month"), stacked=True),
        "states": bar_chart("region-states", _("Top issuing states"), [code for code, _n in states][::-1],
                            {_("Alerts"): [n for _code, n in states][::-1]}, label_heading=_("Issuing state"),
                            horizontal=True, height=110 + 30 * max(len(states), 1)),
        "routes": bar_chart("region-routes", _("Detection routes (origin, transit, detection)"),
                            [label for label, _n in routes][::-1], {_("Alerts"): [n for _label, n in routes][::-1]},
                            label_heading=_("Route"), horizontal=True, height=110 + 30 * max(len(routes), 1)),
        "total": len(rows),
    }


def route_label(route: list, detected_by: str) -> str:
    """``origin → transit → detection``: the travel route, ending with the detecting party."""
    stops = [str(stop) for stop in route]
    if not stops or stops[-1] != detected_by:
        stops.append(detected_by)
    return " → ".join(stops)


register_panel("alerts_check", template="alerts/_dashboard_check.html", load=check_box,
               permission="check_alerts", order=2)
register_panel("alerts_reporting", template="alerts/_dashboard_reporting.html", load=reporting,
               permission="report_alert", order=1)
register_panel("alerts_new", template="alerts/_dashboard_new.html", load=new_alerts,
               permission="search_alerts", order=20)
register_panel("alerts_region", template="alerts/_dashboard_region.html", load=region,
               permission="view_region_overview", order=30)
