"""How long to wait before another password or code: said once, with the time, and counted down on the page.

A wait of a minute or less is said in seconds, a longer one in whole minutes (rounded up), each with the plural
its number needs. The page shows the sentence; static/js/countdown.js counts it down from the same seconds with
the same translated forms (minutes while more than a minute is left) and says at zero that a new try can go
ahead. Without the script the sentence stays as it is, and the server still refuses an early try.
"""

from __future__ import annotations

import math

from flask import Flask
from flask_babel import gettext as _
from flask_babel import ngettext

from portal.i18n import plural_forms


class Countdown(str):
    """A wait's sentence (the str itself) and what a page needs to count it down (the Jinja test "countdown")."""

    seconds: int
    second_forms: str  # JSON {"one": …, "other": …}, %(num)d left in for the script (portal.i18n.plural_forms)
    minute_forms: str
    ready: str  # what the countdown says at zero


def init_app(app: Flask) -> None:
    app.jinja_env.tests["countdown"] = lambda value: isinstance(value, Countdown)


def in_minutes(seconds: int) -> int:
    """A wait longer than a minute in whole minutes, rounded up; 0 for one said in seconds."""
    return math.ceil(seconds / 60) if seconds > 60 else 0


def countdown(seconds: int, *, codes: bool = False, limited: bool = False) -> Countdown:
    """The sentence for a wait of `seconds` (at least 1) before a password, a second-factor code (codes=True), or
    any request after a per-IP limit (limited=True: the 429 page).

    Each msgid is written twice, in ngettext (for the page) and in plural_forms (for the script), as in
    templates/signin/_sms_resend.html: pybabel finds msgids only in ngettext's own arguments.
    """
    seconds = max(1, seconds)
    minutes = in_minutes(seconds)
    if codes:
        wait = Countdown(
            ngettext("Too many wrong codes. You can enter a code in %(num)d minute.",
                     "Too many wrong codes. You can enter a code in %(num)d minutes.", minutes) if minutes else
            ngettext("Too many wrong codes. You can enter a code in %(num)d second.",
                     "Too many wrong codes. You can enter a code in %(num)d seconds.", seconds))
        wait.second_forms = plural_forms("Too many wrong codes. You can enter a code in %(num)d second.",
                                         "Too many wrong codes. You can enter a code in %(num)d seconds.")
        wait.minute_forms = plural_forms("Too many wrong codes. You can enter a code in %(num)d minute.",
                                         "Too many wrong codes. You can enter a code in %(num)d minutes.")
        wait.ready = _("You can enter a code now.")
    elif limited:
        wait = Countdown(
            ngettext("Too many attempts in a short time. Wait %(num)d minute, then try again.",
                     "Too many attempts in a short time. Wait %(num)d minutes, then try again.", minutes)
            if minutes else
            ngettext("Too many attempts in a short time. Wait %(num)d second, then try again.",
                     "Too many attempts in a short time. Wait %(num)d seconds, then try again.", seconds))
        wait.second_forms = plural_forms("Too many attempts in a short time. Wait %(num)d second, then try again.",
                                         "Too many attempts in a short time. Wait %(num)d seconds, then try again.")
        wait.minute_forms = plural_forms("Too many attempts in a short time. Wait %(num)d minute, then try again.",
                                         "Too many attempts in a short time. Wait %(num)d minutes, then try again.")
        wait.ready = _("You can try again now.")
    else:
        wait = Countdown(
            ngettext("Too many attempts. Wait %(num)d minute, then try again.",
                     "Too many attempts. Wait %(num)d minutes, then try again.", minutes) if minutes else
            ngettext("Too many attempts. Wait %(num)d second, then try again.",
                     "Too many attempts. Wait %(num)d seconds, then try again.", seconds))
        wait.second_forms = plural_forms("Too many attempts. Wait %(num)d second, then try again.",
                                         "Too many attempts. Wait %(num)d seconds, then try again.")
        wait.minute_forms = plural_forms("Too many attempts. Wait %(num)d minute, then try again.",
                                         "Too many attempts. Wait %(num)d minutes, then try again.")
        wait.ready = _("You can try again now.")
    wait.seconds = seconds
    return wait
