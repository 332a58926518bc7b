"""Printable alerts (blueprint ``alert_print``, under ``/alerts``): an alert's quick-check card and the
weekly bulletin, as PDF (``alerts.cards``)."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request
from flask_login import current_user

from alerts import cards
from alerts.forms import BulletinForm
from alerts.models import Alert
from documents.transfer import content_disposition
from portal.access import get_visible_or_404, permission_required
from portal.dashboard.periods import current_iso_week
from portal.principal import current_principal

bp = Blueprint("alert_print", __name__, url_prefix="/alerts")


def _pdf(data: bytes, filename: str) -> Response:
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = content_disposition("attachment", filename)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<int:alert_id>/card.pdf")
@permission_required("search_alerts")
def card(alert_id: int):
    """The alert's one-page quick-check card, on A4 (default) or US Letter (``?paper=letter``)."""
    alert = get_visible_or_404(Alert, alert_id)
    paper = request.args.get("paper", "a4")
    paper = paper if paper in cards.PAPERS else "a4"
    data = cards.quick_check_card(current_principal(), alert, paper=paper, viewer_name=current_user.full_name)
    return _pdf(data, f"{alert.reference}-quick-check-{paper}.pdf")


@bp.get("/bulletin")
@permission_required("search_alerts")
def bulletin():
    """The week picker; with a week chosen, the bulletin of that week's alerts the viewer may see."""
    form = BulletinForm(request.args)
    if not request.args:
        form.week.data, form.paper.data = current_iso_week(), "a4"
        return render_template("alerts/bulletin.html", form=form)
    if not form.validate():
        return render_template("alerts/bulletin.html", form=form), 400
    result = cards.weekly_bulletin(current_principal(), form.week.data, paper=form.paper.data,
                                   viewer_name=current_user.full_name)
    return _pdf(result.pdf, f"alerts-bulletin-{form.week.data}-{form.paper.data}.pdf")
