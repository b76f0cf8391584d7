"""Email canonical form and the password policy."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext

COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent.parent / "data" / "common-passwords.txt"


def canonical_email(raw: str) -> str | None:
    """The address in canonical form (validated, NFC, lower-cased), or None if it is not one."""
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError:
        return None
    return result.normalized.lower()


@cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def password_problems(password: str, email: str | None) -> list[str]:
    """Translated reasons the password cannot be used; empty when it can (NIST SP 800-63B)."""
    cfg = current_app.config
    problems = []
    if len(password) < cfg["PASSWORD_MIN_LENGTH"]:
        problems.append(ngettext("Use at least %(num)d character.", "Use at least %(num)d characters.",
                                 cfg["PASSWORD_MIN_LENGTH"]))
    if len(password) > cfg["PASSWORD_MAX_LENGTH"]:
        problems.append(ngettext("Use at most %(num)d character.", "Use at most %(num)d characters.",
                                 cfg["PASSWORD_MAX_LENGTH"]))
    lowered = password.lower()
    if lowered in common_passwords():
        problems.append(_("This password is too common. Choose one that is harder to guess."))
    elif email and (lowered == email or lowered == email.split("@", 1)[0]):
        problems.append(_("Do not use your email address as your password."))
    return problems
