"""Upload forms. They are always built with explicit ``formdata`` (the fields ``documents.receive`` read off
the stream): letting Flask-WTF read ``request.form`` would make Werkzeug spool the file to disk in clear.
The CSRF token is checked by the upload route itself when its part arrives (see ``documents.receive``)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, FileField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from portal.distribution_forms import DistributionFields, tlp_field

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
FILE_LABEL = _l("File")


class _StreamedForm(FlaskForm):
    class Meta:
        csrf = False


class AttachmentForm(_StreamedForm):
    side = SelectField(_l("Side"), choices=SIDE_CHOICES, default="front")
    light = SelectField(_l("Light"), choices=LIGHT_CHOICES, default="visible")
    is_genuine_reference = BooleanField(_l("This is a genuine reference image (not the false document)"))
    caption = TextAreaField(_l("Caption"), validators=[Optional(), Length(max=500)])
    file = FileField(FILE_LABEL)


class DocumentForm(DistributionFields):
    class Meta:
        csrf = False

    folder = SelectField(_l("Folder"), coerce=int, choices=[])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    tags = StringField(_l("Tags (comma-separated)"), validators=[Optional(), Length(max=500)])
    objectives = SelectMultipleField(_l("Plan of action objectives"), choices=[])
    tlp = tlp_field()
    note = StringField(_l("Version note"), validators=[Optional(), Length(max=500)])
    file = FileField(FILE_LABEL)


class VersionForm(_StreamedForm):
    note = StringField(_l("Version note"), validators=[Optional(), Length(max=500)])
    file = FileField(FILE_LABEL)
