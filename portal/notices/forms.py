"""Forms for posting a notice and for re-sharing it (the distribution fields: ``portal.distribution_forms``)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from portal.distribution_forms import DistributionFields, tlp_field


class NoticeForm(DistributionFields):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    body = TextAreaField(_l("Text"), validators=[DataRequired(), Length(max=20000)])
    tlp = tlp_field()


class ShareForm(DistributionFields):
    """Change who a notice is distributed to; its TLP marking stays."""


class ActionForm(FlaskForm):
    """A button that changes state (re-share with a network's current members): only the CSRF token."""
