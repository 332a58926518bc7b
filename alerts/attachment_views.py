"""Pages of the files on alerts: the list, the upload form, one file, and the streamed reads.

Every read goes through the alert's scope (``visible(Alert)``: drafts stay with their party); invisible and
nonexistent answer 404. Uploads and downloads go through ``documents.transfer`` (the body is read off the
stream, never ``request.form``: see there why).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, FileField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from alerts import attachments
from alerts.models import Alert
from documents import transfer
from documents.uploads import ATTACHMENT_KINDS
from portal.access import current_principal, get_visible_or_404, permission_required
from portal.extensions import csrf, db
from portal.routing import embeddable

bp = Blueprint("alert_attachments", __name__)

SIDE_CHOICES = [
    SelectChoice("front", _l("Front")),
    SelectChoice("back", _l("Back")),
    SelectChoice("biodata", _l("Biodata page")),
    SelectChoice("other", _l("Other")),
]
LIGHT_CHOICES = [
    SelectChoice("visible", _l("Visible light")),
    SelectChoice("uv", _l("Ultraviolet (UV)")),
    SelectChoice("ir", _l("Infrared (IR)")),
    SelectChoice("coaxial", _l("Coaxial light")),
]


class AttachmentForm(FlaskForm):
    """Built with explicit ``formdata`` (the fields read off the stream); the CSRF token is checked by
    ``documents.transfer`` when its part arrives."""

    class Meta:
        csrf = False

    side = SelectField(_l("Side"), choices=SIDE_CHOICES, default="front")
    light = SelectField(_l("Light"), choices=LIGHT_CHOICES, default="visible")
    is_genuine_reference = BooleanField(_l("This is a genuine reference image (not the false document)"))
    caption = TextAreaField(_l("Caption"), validators=[Optional(), Length(max=attachments.MAX_CAPTION)])
    file = FileField(_l("File"))


@bp.app_context_processor
def _attachment_helpers():
    def alert_attachments(alert):
        principal = current_principal()
        if principal is None or not principal.can("search_alerts"):
            return []
        return attachments.attachments_of(alert, principal)

    def can_attach(alert) -> bool:
        principal = current_principal()
        return principal is not None and attachments.can_attach(principal, alert)

    def specimen_image(alert):
        principal = current_principal()
        if principal is None or not principal.can("search_alerts"):
            return None
        return attachments.first_specimen_image(alert, principal)

    return {"alert_attachments": alert_attachments, "can_attach": can_attach, "specimen_image": specimen_image,
            "side_labels": {c.value: c.label for c in SIDE_CHOICES},
            "light_labels": {c.value: c.label for c in LIGHT_CHOICES}}


def _attachable_alert_or_404(alert_id: int) -> Alert:
    alert = get_visible_or_404(Alert, alert_id)
    if not attachments.can_attach(current_principal(), alert):
        attachments.record_denied_attach(alert)
        abort(404)
    return alert


def _attachment_or_404(alert_id: int, attachment_id: int):
    attachment = attachments.get_visible_attachment(attachment_id, current_principal(), alert_id=alert_id)
    if attachment is None:
        abort(404)
    return attachment, db.session.get(Alert, attachment.alert_id)


@bp.get("/alerts/<int:alert_id>/attachments", endpoint="attachments")
@permission_required("search_alerts")
def attachment_list(alert_id: int):
    """The alert's files, as thumbnails."""
    alert = get_visible_or_404(Alert, alert_id)
    return render_template("alerts/attachments.html", alert=alert,
                           items=attachments.read_attachment_list(current_principal(), alert))


def _render_attachment_form(alert, form, status=200):
    return render_template("alerts/new_attachment.html", alert=alert, form=form), status


@bp.route("/alerts/<int:alert_id>/attachments/new", methods=["GET", "POST"])
@permission_required("report_alert")
def new_attachment(alert_id: int):
    """The upload form (the reporting party only), and the upload."""
    alert = _attachable_alert_or_404(alert_id)
    return transfer.upload_page(
        lambda fields: AttachmentForm(formdata=fields),
        lambda form, status: _render_attachment_form(alert, form, status),
        allowed=ATTACHMENT_KINDS, record_refusal=lambda refusal: attachments.record_refusal(refusal, alert),
        save=lambda received: _attach(alert, received))


def _attach(alert: Alert, received: transfer.ReceivedForm):
    form = received.form
    attachments.create_attachment(current_principal(), alert, received.upload, side=form.side.data,
                                  light=form.light.data, is_genuine_reference=form.is_genuine_reference.data,
                                  caption=form.caption.data)
    flash(_("File attached."), "success")
    return redirect(url_for("alert_attachments.attachments", alert_id=alert.id))


@bp.get("/alerts/<int:alert_id>/attachments/<int:attachment_id>")
@permission_required("search_alerts")
def attachment(alert_id: int, attachment_id: int):
    """One file's page: its tags, caption and a view of it."""
    item, alert = _attachment_or_404(alert_id, attachment_id)
    return render_template("alerts/attachment.html", alert=alert, item=item)


def _send_attachment(alert_id: int, attachment_id: int, variant: str):
    item, alert = _attachment_or_404(alert_id, attachment_id)
    return transfer.send_file(
        item, tlp=alert.tlp, principal=current_principal(), variant=variant,
        record_view=lambda watermarked: attachments.record_view(item, alert, variant=variant,
                                                                watermarked=watermarked))


@bp.get("/alerts/<int:alert_id>/attachments/<int:attachment_id>/view")
@embeddable
@permission_required("search_alerts")
def view_attachment(alert_id: int, attachment_id: int):
    """The file inline (images) for the viewer, watermarked when the alert's TLP asks."""
    return _send_attachment(alert_id, attachment_id, "view")


@bp.get("/alerts/<int:alert_id>/attachments/<int:attachment_id>/thumbnail")
@embeddable
@permission_required("search_alerts")
def attachment_thumbnail(alert_id: int, attachment_id: int):
    """The file's thumbnail (404 for a file without one)."""
    return _send_attachment(alert_id, attachment_id, "thumbnail")


@bp.get("/alerts/<int:alert_id>/attachments/<int:attachment_id>/download")
@permission_required("search_alerts")
def download_attachment(alert_id: int, attachment_id: int):
    """The file as a download."""
    return _send_attachment(alert_id, attachment_id, "download")


# Upload routes read the body themselves and check the CSRF token when its part arrives; Flask-WTF's
# global check would read request.form first, which spools the file to a temporary file in clear.
csrf.exempt(new_attachment)
