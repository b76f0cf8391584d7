"""Forms of the second step."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from portal.forms import Form


class CodeForm(Form):
    code = StringField(_l("Code"), validators=[DataRequired(_l("Enter the code.")), Length(max=64)])


class RecoveryCodeForm(Form):
    """The recovery page's one field, named for what goes in it (the other code pages say "Code")."""

    code = StringField(_l("Recovery code"), validators=[DataRequired(_l("Enter the code.")), Length(max=64)])


class PhoneForm(Form):
    """The phone to text codes to: a country for numbers typed without +country code, and the number."""

    country = SelectField(_l("Country or region"), validate_choice=False)
    phone = StringField(_l("Mobile number"), validators=[DataRequired(_l("Enter your mobile number.")),
                                                         Length(max=64)])
