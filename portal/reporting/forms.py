"""Forms of the reporting pages: opening a cycle, the secretariat's decisions, sharing, and the return's
grid (its cells are named ``cell-<row>-<column>`` and read by ``grid_rows``)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, FileField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length

from portal.reporting.catalogue import TEMPLATE_CODES
from portal.reporting.operations import MAX_REASON, SHARING_TLP

# rows offered blank beneath the filled ones, and the most rows one form may carry
BLANK_ROWS = 5
MAX_GRID_ROWS = 500


class OpenCycleForm(FlaskForm):
    template = SelectField(_l("Template"), choices=[SelectChoice(code, code) for code in TEMPLATE_CODES])
    period = StringField(_l("Period"), validators=[DataRequired(), Length(max=16)],
                         description=_l("A year and a half, such as 2026-H2."))
    due_date = DateField(_l("Due date"), validators=[InputRequired(message=_l("Enter a date (YYYY-MM-DD)."))])


class ActionForm(FlaskForm):
    """A button that changes data (submit, accept): only the CSRF token."""


class SendBackForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(message=_l("Say why the return is sent back.")),
                                                      Length(max=MAX_REASON)])


class ShareForm(FlaskForm):
    sharing = SelectField(_l("Shared with"), choices=[
        SelectChoice("secretariat", _l("The secretariat and our party")),
        SelectChoice("members", _l("All member countries"))])
    tlp = SelectField(_l("TLP"), choices=[SelectChoice(value, value) for value in SHARING_TLP])


class UploadForm(FlaskForm):
    """A spreadsheet upload. Built from the fields ``documents.transfer`` read off the stream (never
    ``request.form``, which would spool the file to disk in clear); the CSRF token is checked there."""

    class Meta:
        csrf = False

    dry_run = BooleanField(_l("Only check the file (dry run): store nothing"), default=True)
    file = FileField(_l("Spreadsheet (XLSX or CSV)"))


def grid_rows(template, form) -> tuple[list[dict], list[int]]:
    """The filled rows of the posted grid, and for each its row number on the grid (blank rows dropped)."""
    try:
        count = min(max(int(form.get("row_count", "0")), 0), MAX_GRID_ROWS)
    except ValueError:
        count = 0
    rows, places = [], []
    for index in range(count):
        row = {column["name"]: form.get(f"cell-{index}-{column['name']}", "") for column in template.columns}
        if any(str(value).strip() for value in row.values()):
            rows.append(row)
            places.append(index)
    return rows, places
