"""The library's upload forms. They are always built with explicit ``formdata`` (the fields
``documents.transfer`` read off the stream): letting Flask-WTF read ``request.form`` would make Werkzeug
spool the file to disk in clear. The CSRF token is checked by ``documents.transfer`` when its part arrives."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import FileField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from portal.distribution_forms import DistributionFields, MultiCheckboxField, tlp_field

FILE_LABEL = _l("File")


class DocumentForm(DistributionFields):
    class Meta:
        csrf = False

    folder = SelectField(_l("Folder"), coerce=int, choices=[])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    tags = StringField(_l("Tags (comma-separated)"), validators=[Optional(), Length(max=500)])
    objectives = MultiCheckboxField(_l("Plan of action objectives"), choices=[])
    tlp = tlp_field()
    note = StringField(_l("Version note"), validators=[Optional(), Length(max=500)])
    file = FileField(FILE_LABEL)


class VersionForm(DistributionFields):
    """A new version, and the marking it is published under (the document's until changed)."""

    class Meta:
        csrf = False

    tlp = tlp_field()
    note = StringField(_l("Version note"), validators=[Optional(), Length(max=500)])
    file = FileField(FILE_LABEL)
