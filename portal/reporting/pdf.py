"""The comparative matrix (parties x topics) as a printable PDF (fpdf2, built-in Helvetica), with the
cells that changed since the previous cycle shaded and starred, and the basis of the figures stated."""

from __future__ import annotations

from flask_babel import gettext as _
from fpdf import FPDF

_CHANGED_FILL = (255, 230, 153)


def _latin1(text) -> str:
    """The built-in fonts cover Latin-1 (Spanish included); anything else is shown as ``?``."""
    return str(text if text is not None else "").encode("latin-1", "replace").decode("latin-1")


def matrix_pdf(result, lang: str) -> bytes:
    template = result.cycle.template
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 13)
    pdf.multi_cell(0, 7, _latin1(f"{template.title(lang)} - {result.cycle.period}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=8)
    basis = _("Built from the submitted returns you may see: %(parties)s.",
              parties=", ".join(result.basis.used) or "-")
    if result.previous_period:
        basis += " " + _("Cells marked changed differ from %(period)s.", period=result.previous_period)
    pdf.multi_cell(0, 5, _latin1(basis), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    rows = result.matrix_rows
    width = (pdf.w - pdf.l_margin - pdf.r_margin - 18) / max(len(rows), 1)
    pdf.set_font("Helvetica", "B", 7)
    pdf.cell(18, 10, _latin1(_("Party")), border=1)
    for _value, choice in rows:
        pdf.cell(width, 10, _latin1((choice["es"] if lang == "es" else choice["en"])[:int(width / 1.6)]), border=1)
    pdf.ln()
    pdf.set_font("Helvetica", size=7)
    for party, cells in result.matrix.items():
        pdf.cell(18, 8, party, border=1)
        for value, _choice in rows:
            text, changed = cells.get(value, ("", False))
            pdf.set_fill_color(*_CHANGED_FILL)
            pdf.cell(width, 8, _latin1((text + (" *" if changed else ""))[:int(width / 1.4)]), border=1, fill=changed)
        pdf.ln()
    return bytes(pdf.output())
