"""Responses shared by several pages: waiting (429 + Retry-After) and locked (403)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import render_template
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from portal.clock import now


def _blank_codes(context: dict[str, Any]) -> None:
    """Security: a code that was not checked (it may be live) is not written back into the page."""
    form = context.get("form")
    if isinstance(form, FlaskForm) and "code" in form:
        form["code"].data = ""


def wait_response(template: str, until: datetime, **context: Any) -> tuple[str, int, dict[str, str]]:
    """Re-render template saying how long to wait; the same number goes in Retry-After."""
    _blank_codes(context)
    seconds = max(1, int((until - now()).total_seconds() + 0.999))
    message = _("Too many attempts. Wait %(seconds)d seconds, then try again.", seconds=seconds)
    return render_template(template, error=message, **context), 429, {"Retry-After": str(seconds)}


def locked_response(template: str, **context: Any) -> tuple[str, int]:
    _blank_codes(context)
    message = _("Too many wrong codes were entered for this account, so signing in with a code is locked. "
                "Use a recovery code, or ask support to unlock your account.")
    return render_template(template, error=message, locked=True, **context), 403
