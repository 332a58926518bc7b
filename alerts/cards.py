"""Printable PDFs of alerts: the one-page quick-check card of an alert, and the weekly bulletin.

Drawn with fpdf2 (pure Python: ``make run`` needs nothing else). Both are for the authorised viewer and
carry the viewer's watermark (party, name, date) on every page. As with exports, RED and AMBER+STRICT
alerts are never printed: a card of one is refused (audited as denied), and the bulletin leaves them out
and says how many. Specimen images are decrypted in memory by the file service (``documents.files``),
watermarked there when their TLP asks. Every download is audited (``alert.card``, ``alert.bulletin``)
with the paper, counts and ids only.

The PDF core fonts cover Latin-1 (Spanish included); any other character is written as its closest
Latin-1 form (``_latin``).
"""

from __future__ import annotations

import io
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

import segno
from flask_babel import gettext as _
from fpdf import FPDF
from werkzeug.exceptions import Forbidden

from alerts import vocabulary
from alerts.attachment_views import LIGHT_CHOICES, SIDE_CHOICES
from alerts.attachments import ALERT_OBJECTIVES, attachments_of
from alerts.models import Alert
from documents.files import read_file
from documents.watermark import watermark_text
from portal.access import RESTRICTED_TLP, can_export, visible
from portal.audit.service import record
from portal.dashboard.periods import iso_week_bounds
from portal.extensions import db
from portal.routing import portal_url

PAPERS = {"a4": "A4", "letter": "Letter"}
TLP_COLOURS = {"CLEAR": (255, 255, 255), "GREEN": (51, 255, 0), "AMBER": (255, 192, 0),
               "AMBER+STRICT": (255, 192, 0), "RED": (255, 43, 43)}
IMAGE_KINDS = ("jpeg", "png")
MAX_CARD_IMAGES = 4
MAX_BULLETIN_ALERTS = 200
_ASCII_FOR = {"→": "->", "—": "-", "–": "-", "“": '"', "”": '"', "‘": "'", "’": "'", "…": "..."}


class PrintRefused(Forbidden):
    """RED and AMBER+STRICT alerts are never printed (403), as they are never exported."""

    def __init__(self, tlp: str):
        super().__init__(_("%(tlp)s alerts are never printed or exported.", tlp=tlp))
        self.tlp = tlp


@dataclass(frozen=True)
class Bulletin:
    pdf: bytes
    included: int
    excluded_restricted: int


def _latin(text) -> str:
    """``text`` in the core fonts' Latin-1: other characters by their closest form (or ``?``)."""
    out = []
    for char in str(text or ""):
        char = _ASCII_FOR.get(char, char)
        if all(ord(c) < 256 for c in char):
            out.append(char)
            continue
        plain = unicodedata.normalize("NFKD", char).encode("latin-1", "ignore").decode("latin-1")
        out.append(plain or "?")
    return "".join(out)


class _Document(FPDF):
    """A page with the viewer's watermark across it and in the footer."""

    def __init__(self, paper: str, watermark: str):
        super().__init__(orientation="portrait", unit="mm", format=PAPERS[paper])
        self.watermark = _latin(watermark)
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(14, 14, 14)
        self.set_title("RCM")

    def footer(self):
        """Drawn when the page is done, so the diagonal watermark lies over the images too."""
        self.set_font("helvetica", "B", 30)
        self.set_text_color(215, 215, 215)
        with self.rotation(35, self.w / 2, self.h / 2):
            self.text(self.w / 2 - self.get_string_width(self.watermark) / 2, self.h / 2, self.watermark)
        self.set_y(-14)
        self.set_font("helvetica", "", 8)
        self.set_text_color(90, 90, 90)
        self.cell(0, 5, _latin(_("Printed for %(who)s. Do not share beyond the TLP.", who=self.watermark)),
                  align="L")
        self.cell(0, 5, f"{self.page_no()}", align="R")
        self.set_text_color(0, 0, 0)

    def write_text(self, text, size=10, style="", height=5):
        self.set_font("helvetica", style, size)
        self.multi_cell(0, height, _latin(text), new_x="LMARGIN", new_y="NEXT")

    def tlp_banner(self, tlp: str):
        self.set_fill_color(0, 0, 0)
        self.set_text_color(*TLP_COLOURS.get(tlp, (255, 255, 255)))
        self.set_font("helvetica", "B", 14)
        self.cell(0, 10, f"TLP:{tlp}", align="C", fill=True, new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(0, 0, 0)
        self.ln(2)

    def field(self, label, value):
        if not value:
            return
        self.set_font("helvetica", "B", 10)
        self.cell(64, 6, _latin(label))
        self.set_font("helvetica", "", 10)
        self.multi_cell(0, 6, _latin(value), new_x="LMARGIN", new_y="NEXT")


def _viewer_watermark(principal, viewer_name: str) -> str:
    return watermark_text(principal.party_code, viewer_name)


def _document_line(alert: Alert) -> str:
    parts = [vocabulary.label(vocabulary.DOCUMENT_CATEGORIES, alert.document_category),
             vocabulary.label(vocabulary.DOCUMENT_TYPES, alert.document_type), alert.issuing_state, alert.series]
    return " · ".join(part for part in parts if part)


def _number_line(alert: Alert) -> str | None:
    if alert.range_start and alert.range_end:
        return f"{alert.range_start} - {alert.range_end}"
    return alert.document_number


def _fraud_line(alert: Alert) -> str:
    fraud = vocabulary.label(vocabulary.FRAUD_TYPES, alert.fraud_type)
    subtype = vocabulary.label(vocabulary.FORGERY_SUBTYPES, alert.forgery_subtype)
    return f"{fraud} ({subtype})" if subtype else fraud


def _qr_png(url: str) -> io.BytesIO:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=6, border=2)
    buffer.seek(0)
    return buffer


def _images(principal, alert: Alert, viewer_name: str) -> list[tuple[str, bytes]]:
    """The alert's specimen images the viewer sees (genuine references last), decrypted in memory."""
    sides = {choice.value: choice.label for choice in SIDE_CHOICES}
    lights = {choice.value: choice.label for choice in LIGHT_CHOICES}
    found = []
    for item in attachments_of(alert, principal):
        if item.kind not in IMAGE_KINDS or len(found) == MAX_CARD_IMAGES:
            continue
        outgoing = read_file(item, tlp=alert.tlp, principal=principal, viewer_name=viewer_name)
        label = f"{sides.get(item.side, item.side)} · {lights.get(item.light, item.light)}"
        if item.is_genuine_reference:
            label = f"{label} ({_('genuine reference')})"
        found.append((label, b"".join(outgoing.chunks)))
    return found


def _draw_images(pdf: _Document, images: list[tuple[str, bytes]]) -> None:
    if not images:
        return
    pdf.write_text(_("Specimen images"), size=11, style="B", height=7)
    width = (pdf.w - pdf.l_margin - pdf.r_margin - 6) / 2
    height = 52
    for index, (label, data) in enumerate(images):
        if index % 2 == 0:
            if pdf.get_y() + height + 8 > pdf.h - pdf.b_margin:
                pdf.add_page()
            top = pdf.get_y()
        x = pdf.l_margin + (index % 2) * (width + 6)
        pdf.image(io.BytesIO(data), x=x, y=top, w=width, h=height, keep_aspect_ratio=True)
        pdf.set_xy(x, top + height + 1)
        pdf.set_font("helvetica", "", 8)
        pdf.cell(width, 4, _latin(label))
        if index % 2 == 1 or index == len(images) - 1:
            pdf.set_xy(pdf.l_margin, top + height + 7)


def _draw_card(pdf: _Document, principal, alert: Alert, viewer_name: str) -> int:
    """One alert's card on a new page; returns how many images it holds."""
    pdf.add_page()
    pdf.tlp_banner(alert.tlp)
    top = pdf.get_y()
    pdf.image(_qr_png(portal_url("alerts.detail", alert_id=alert.id)), x=pdf.w - pdf.r_margin - 30, y=top, w=30)
    pdf.set_right_margin(pdf.r_margin + 34)
    pdf.write_text(_("Quick-check card"), size=9)
    pdf.write_text(alert.reference, size=20, style="B", height=9)
    pdf.write_text(f"{alert.owner_party.code} · {_document_line(alert)}", size=11, height=6)
    pdf.set_right_margin(14)
    pdf.set_y(max(pdf.get_y(), top + 32))
    pdf.field(_("Document number"), _number_line(alert))
    pdf.field(_("Fraud type"), _fraud_line(alert))
    features = [vocabulary.label(vocabulary.SECURITY_FEATURES, code) for code in alert.security_features or ()]
    pdf.field(_("Compromised security features"), ", ".join(features))
    pdf.field(_("Detected"), " · ".join(str(part) for part in (alert.detection_date, alert.detection_place) if part))
    pdf.ln(2)
    images = _images(principal, alert, viewer_name)
    _draw_images(pdf, images)
    if alert.detection_tips:
        pdf.write_text(_("Detection tips"), size=11, style="B", height=7)
        pdf.write_text(alert.detection_tips)
    return len(images)


def quick_check_card(principal, alert: Alert, *, paper: str, viewer_name: str) -> bytes:
    """The alert's one-page card for ``principal`` (who sees the alert: the caller loaded it)."""
    where = {"object_type": "alert", "object_id": alert.id, "object_party": alert.owner_party.code,
             "objectives": ALERT_OBJECTIVES}
    if not can_export(alert):
        record("alert.card", outcome="denied", principal=principal, details={"tlp": alert.tlp}, **where)
        raise PrintRefused(alert.tlp)
    pdf = _Document(paper, _viewer_watermark(principal, viewer_name))
    images = _draw_card(pdf, principal, alert, viewer_name)
    data = bytes(pdf.output())
    record("alert.card", principal=principal, details={"paper": paper, "images": images}, **where)
    return data


def weekly_bulletin(principal, week: str, *, paper: str, viewer_name: str) -> Bulletin:
    """The alerts published in ``week`` that ``principal`` may see, one card each after a summary page;
    RED and AMBER+STRICT alerts are left out and counted."""
    start, end = iso_week_bounds(week)
    published = visible(Alert, principal).where(Alert.status == "published", Alert.published_at >= start,
                                                Alert.published_at < end)
    alerts = db.session.scalars(published.order_by(Alert.published_at, Alert.id).limit(MAX_BULLETIN_ALERTS)).all()
    printable = [alert for alert in alerts if alert.tlp not in RESTRICTED_TLP]
    pdf = _Document(paper, _viewer_watermark(principal, viewer_name))
    pdf.add_page()
    pdf.write_text(_("Weekly bulletin of alerts"), size=18, style="B", height=9)
    last_day = (end - timedelta(days=1)).date()
    pdf.write_text(_("Week %(week)s: %(start)s to %(end)s", week=week, start=start.date(), end=last_day), size=11)
    pdf.write_text(_("%(n)s alerts published this week that your party may see.", n=len(printable)), size=11)
    if len(alerts) > len(printable):
        pdf.write_text(_("%(n)s RED or AMBER+STRICT alerts are not printed: read them in the portal.",
                         n=len(alerts) - len(printable)), size=10, style="I")
    pdf.ln(3)
    for alert in printable:
        pdf.field(alert.reference, f"TLP:{alert.tlp} · {alert.owner_party.code} · {_document_line(alert)} · "
                                   f"{_fraud_line(alert)}")
    for alert in printable:
        _draw_card(pdf, principal, alert, viewer_name)
    data = bytes(pdf.output())
    record("alert.bulletin", principal=principal, objectives=ALERT_OBJECTIVES, object_type="alert",
           details={"week": week, "paper": paper, "alerts": len(printable),
                    "excluded_restricted": len(alerts) - len(printable)})
    return Bulletin(data, len(printable), len(alerts) - len(printable))
