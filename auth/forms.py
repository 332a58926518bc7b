"""Forms of the login and account pages. Every form carries a CSRF token (Flask-WTF)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from auth.tokens import MAX_TOKEN_DAYS, TokenError, parse_ip_ranges

LANGUAGE_CHOICES = [SelectChoice("en", "English"), SelectChoice("es", "Español")]


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=254)],
                       render_kw={"autocomplete": "username", "autofocus": True})
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)],
                             render_kw={"autocomplete": "current-password"})
    submit = SubmitField(_l("Sign in"))


class TwoFactorForm(FlaskForm):
    code = StringField(
        _l("Authentication code or recovery code"),
        validators=[DataRequired(), Length(max=32)],
        render_kw={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"},
    )
    submit = SubmitField(_l("Verify"))


class EnrolForm(FlaskForm):
    code = StringField(
        _l("6-digit code from your authenticator app"),
        validators=[DataRequired(), Length(min=6, max=7)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True},
    )
    submit = SubmitField(_l("Confirm and continue"))


class RegenerateRecoveryCodesForm(FlaskForm):
    code = StringField(
        _l("Current 6-digit code from your authenticator app"),
        validators=[DataRequired(), Length(min=6, max=7)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )
    submit = SubmitField(_l("Generate new recovery codes"))


class NewPasswordMixin:
    """New password + confirmation; the policy check needs the user, so the view runs it."""

    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)],
                                 render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The two passwords do not match."))],
        render_kw={"autocomplete": "new-password"},
    )


class ChangePasswordForm(NewPasswordMixin, FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=256)],
                                     render_kw={"autocomplete": "current-password"})
    submit = SubmitField(_l("Change password"))


class ResetPasswordForm(NewPasswordMixin, FlaskForm):
    submit = SubmitField(_l("Set new password"))


class ProfileForm(FlaskForm):
    locale = SelectField(_l("Language"), choices=LANGUAGE_CHOICES, validators=[InputRequired()])
    submit = SubmitField(_l("Save"))


class ConfirmForm(FlaskForm):
    """A bare CSRF-protected button (sign out elsewhere, revoke a token)."""

    submit = SubmitField(_l("Confirm"))


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class TokenForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)],
                       description=_l("What the token is for, e.g. the name of the border system."))
    scopes = MultiCheckboxField(_l("Scopes"), choices=[])
    days = IntegerField(
        _l("Valid for (days)"),
        default=90,
        validators=[InputRequired(), NumberRange(min=1, max=MAX_TOKEN_DAYS,
                                                 message=_l("Choose between 1 and 365 days."))],
    )
    allowed_ips = TextAreaField(
        _l("Allowed IP addresses or ranges (optional, one per line)"),
        validators=[Optional(), Length(max=4000)],
        render_kw={"rows": 3, "spellcheck": "false"},
    )
    submit = SubmitField(_l("Create token"))

    def validate_scopes(self, field):
        if not field.data:
            raise ValidationError(_l("Choose at least one scope."))

    def validate_allowed_ips(self, field):
        for line in (field.data or "").splitlines():
            try:
                parse_ip_ranges([line])
            except TokenError as exc:
                raise ValidationError(
                    _l("“%(value)s” is not an IP address or CIDR range.", value=line.strip()[:60])
                ) from exc

    def ip_lines(self) -> list[str]:
        return [line.strip() for line in (self.allowed_ips.data or "").splitlines() if line.strip()]
