"""Forms of the admin area. Field names are public (ARCHITECTURE.md "Public URLs")."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # types-WTForms 3.2 predates it (3.3)
from wtforms.validators import Length

from portal.admin.operations import IDENTITY_CHECKS, NOTES_MAX, REFERENCE_MAX
from portal.auth.forms import MAX_EMAIL
from portal.forms import Form


class DisableForm(Form):
    identity_check = SelectField(_l("How did you check the person's identity?"), validate_choice=False)
    # Lengths are checked by operations.identity_problem (shared with the CLI); these caps only stop floods.
    case_reference = StringField(_l("Case reference"), validators=[Length(max=REFERENCE_MAX * 4)])
    notes = TextAreaField(_l("Notes"), validators=[Length(max=NOTES_MAX * 4)])
    confirm_email = StringField(_l("Type the user's email address to confirm"),
                                validators=[Length(max=MAX_EMAIL)])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.identity_check.choices = [SelectChoice("", _("Choose…")),
                                       *(SelectChoice(key, str(label)) for key, label in IDENTITY_CHECKS.items())]


class DecideForm(Form):
    """Approve or reject a request: no fields but the CSRF token (the confirmation guard did the rest)."""
