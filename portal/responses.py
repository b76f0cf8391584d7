"""What a page answers when a code or a text is refused: one helper for every Verdict and SmsError.

A page's context may hold an error already (a wait it announced); the refusal's own sentence replaces it, so the
page says one thing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import flash, render_template
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from portal.clock import now, seconds_until
from portal.factors.base import Method, Reason, Verdict
from portal.factors.messages import verdict_message
from portal.i18n import current_language
from portal.models import User
from portal.security import client_ip
from portal.sms.base import SmsError, http_status, retry_after
from portal.sms.messages import fault_message, wait_message
from portal.waits import countdown

# What a view returns: a redirect, a page, or a page with its status (and headers).
Page = Response | str | tuple[str, int] | tuple[str, int, dict[str, str]]


def _blank_codes(context: dict[str, Any]) -> None:
    """Security: a code that was not checked (it may be live) is not written back into the page."""
    form = context.get("form")
    if isinstance(form, FlaskForm) and "code" in form:
        form["code"].data = ""


def wait_response(template: str, until: datetime, *, codes: bool = False,
                  **context: Any) -> tuple[str, int, dict[str, str]]:
    """Re-render template saying how long to wait before a password (or, codes=True, a code), with a countdown;
    the same number goes in Retry-After."""
    _blank_codes(context)
    seconds = seconds_until(until, now())
    return render_template(template, **{**context, "error": countdown(seconds, codes=codes)}), 429, {
        "Retry-After": str(seconds)}


def locked_response(template: str, **context: Any) -> tuple[str, int]:
    _blank_codes(context)
    message = _("Too many wrong codes were entered for this account, so signing in with a code is locked. "
                "Use a recovery code, or ask support to unlock your account.")
    return render_template(template, **{**context, "error": message, "locked": True}), 403


def fault_response(template: str, error: SmsError, **context: Any) -> Page:
    """A provider fault: its message, 429 with Retry-After when waiting helps, else 503."""
    html = render_template(template, **{**context, "error": fault_message(error)})
    wait = retry_after(error)
    return (html, http_status(error), {"Retry-After": str(wait)}) if wait else (html, http_status(error))


def refusal(template: str, refused: Verdict | SmsError, via: Method | None = None, /, **context: Any) -> Page:
    """The page for any refusal, with its status and Retry-After.

    LOCKED is a 403; WAIT (the delay after wrong codes, or without `via` after wrong passwords) a 429 with its
    countdown; COOLDOWN and THROTTLED with a retry_at (a text asked for too soon, a cap reached) a 429 saying when
    a text can be sent; a provider fault its own status. MALFORMED is a 400 saying what a code of the method `via`
    looks like. Any other verdict is a wrong code: a 400 with the method's sentence on the code field, which is
    emptied for the next try.
    """
    if isinstance(refused, SmsError):
        return fault_response(template, refused, **context)
    if refused.reason is Reason.LOCKED:
        return locked_response(template, **context)
    if refused.reason is Reason.WAIT:
        # With a method it is the wait after wrong codes; without, after wrong passwords (the sign-in form) or
        # either (the admin's confirmation).
        return wait_response(template, refused.retry_at or now(), codes=via is not None, **context)
    if refused.retry_at is not None:  # COOLDOWN or THROTTLED: a text cannot be sent yet
        at = now()
        return render_template(template, **{**context, "error": wait_message(refused)}), 429, {
            "Retry-After": str(seconds_until(refused.retry_at, at))}
    if refused.reason is Reason.MALFORMED:
        message = via.format_hint if via is not None else _("Enter the 6 digits of the code.")
    else:
        message = verdict_message(refused, via.kind if via is not None else "totp")
    form = context.get("form")
    if isinstance(form, FlaskForm) and "code" in form:
        form["code"].errors = [*form["code"].errors, message]
        if refused.reason is not Reason.MALFORMED:
            form["code"].data = ""  # a refused code is no use in the box: the next attempt needs a new one
        return render_template(template, **context), 400
    return render_template(template, **{**context, "error": message}), 400


def refused_text(via: Method, user: User, at: datetime, template: str, **context: Any) -> Page | None:
    """Text user a code by via: None when it went (a flash says where), else the page saying why not.

    A provider failure gets its own status (and Retry-After when it has one); a cooldown or cap gets 429.
    The sign-in (or the admin's confirmation) stays, so the page can offer the other methods.
    """
    try:
        verdict: Verdict | SmsError = via.challenge(user, now=at, language=current_language(), ip=client_ip())
    except SmsError as error:
        verdict = error
    if isinstance(verdict, SmsError) or not verdict.ok:  # the page shows the countdown as it now stands
        return refusal(template, verdict, via, **{**context, **via.page_context(user, now=at)})
    flash(_("We sent a code to %(phone)s.", phone=via.page_context(user, now=at).get("phone", "")), "info")
    return None
