"""Forms of the password step. Field names are public (password managers rely on them)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from portal.forms import Form

# Security: WTForms caps lengths before any hashing, so nobody makes Argon2 chew a 60 KB "password".
MAX_EMAIL = 320
MAX_PASSWORD_INPUT = 1024


class RegisterForm(Form):
    email = EmailField(_l("Email"), validators=[DataRequired(_l("Enter your email address.")),
                                                Length(max=MAX_EMAIL)])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Choose a password.")),
                                                         Length(max=MAX_PASSWORD_INPUT)])
    password_confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(_l("Repeat the password.")),
                    EqualTo("password", _l("The two passwords do not match."))],
    )


class LoginForm(Form):
    email = EmailField(_l("Email"), validators=[DataRequired(_l("Enter your email address.")),
                                                Length(max=MAX_EMAIL)])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password.")),
                                                         Length(max=MAX_PASSWORD_INPUT)])
    remember = BooleanField(_l("Keep me signed in on this device"))


class ReauthForm(Form):
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password.")),
                                                         Length(max=MAX_PASSWORD_INPUT)])


class PostForm(Form):
    """A form with nothing but its CSRF token, for buttons that change something."""


class ConfirmForm(Form):
    """The password and a current second-factor code, before an admin action."""

    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password.")),
                                                         Length(max=MAX_PASSWORD_INPUT)])
    code = StringField(_l("Code"), validators=[DataRequired(_l("Enter the code.")), Length(max=64)])
