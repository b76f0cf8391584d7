"""What a person reads when a code is not accepted (one place for every method and page)."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import ngettext

from portal.factors.base import Reason, Verdict


def verdict_message(verdict: Verdict, kind: str = "totp") -> str:
    """The sentence for a refused code; kind is the method ("totp", "sms", "recovery")."""
    if kind == "sms":
        return sms_verdict_message(verdict)
    if kind == "recovery":
        return recovery_verdict_message(verdict)
    if verdict.reason is Reason.REPLAYED:
        return _("That code was already used. Wait until your app shows a new code (at most 30 seconds), "
                 "then enter the new one.")
    if verdict.reason is Reason.CLOCK_SKEW and verdict.skew_seconds is not None:
        seconds = abs(verdict.skew_seconds)
        if verdict.skew_seconds > 0:
            return ngettext(
                "That code belongs to a time about %(num)d second ahead: your phone's clock seems to be fast. "
                "Turn on automatic date and time in your phone's settings, then enter a new code.",
                "That code belongs to a time about %(num)d seconds ahead: your phone's clock seems to be fast. "
                "Turn on automatic date and time in your phone's settings, then enter a new code.", seconds)
        return ngettext(
            "That code belongs to a time about %(num)d second ago: your phone's clock seems to be slow. "
            "Turn on automatic date and time in your phone's settings, then enter a new code.",
            "That code belongs to a time about %(num)d seconds ago: your phone's clock seems to be slow. "
            "Turn on automatic date and time in your phone's settings, then enter a new code.", seconds)
    if verdict.reason is Reason.EXPIRED:
        return _("This code has expired. Start again to get a new one.")
    return _("That code is not correct. Check that you are reading the code for this site and try again.")


def recovery_verdict_message(verdict: Verdict) -> str:
    if verdict.reason is Reason.REPLAYED:
        return _("That recovery code was already used: each code works once. Enter another code from your "
                 "saved list.")
    return _("That recovery code is not correct. Check it against your saved list and try again.")


def sms_verdict_message(verdict: Verdict) -> str:
    if verdict.reason is Reason.REPLAYED:
        return _("That code was already used. Send a new code and enter the one in the newest text.")
    if verdict.reason is Reason.THROTTLED:
        return _("That code was entered wrongly too many times and no longer works. Send a new code.")
    if verdict.reason is Reason.EXPIRED:
        return _("That code has expired or was replaced by a newer one. Send a new code, or enter the code "
                 "from the newest text.")
    return _("That code is not correct. Check the newest text message and try again.")
