"""What a person reads when a text cannot be sent now: provider faults and our own limits."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from flask_babel import ngettext

from portal.clock import seconds_until
from portal.factors.base import Reason, Verdict
from portal.sms.base import Fault, SmsError, retry_after


class WaitMessage(str):
    """How long until the next text may be sent: a page's countdown makes it stale at zero (Jinja test "wait")."""


def wait_message(wait: Verdict, now: datetime) -> WaitMessage:
    """The sentence for a send refused by the resend cooldown (COOLDOWN) or a cap (THROTTLED)."""
    seconds = seconds_until(wait.retry_at or now, now)
    if wait.reason is Reason.COOLDOWN:
        return WaitMessage(ngettext("You can request a new code in %(num)d second.",
                                    "You can request a new code in %(num)d seconds.", seconds))
    minutes = (seconds + 59) // 60
    return WaitMessage(ngettext(
        "Too many codes were sent recently. You can request a new code in %(num)d minute.",
        "Too many codes were sent recently. You can request a new code in %(num)d minutes.", minutes))


def fault_message(error: SmsError) -> str:
    fault = error.fault
    if fault is Fault.BUSY:
        return ngettext("The text message service is busy. Wait %(num)d second, then try again.",
                        "The text message service is busy. Wait %(num)d seconds, then try again.",
                        retry_after(error) or 30)
    if fault is Fault.TOO_MANY_SENDS:
        return _("Too many codes were sent to this number. Wait about 10 minutes before asking for another.")
    if fault is Fault.TOO_MANY_CHECKS:
        return _("That code was tried too many times and no longer works. Wait a minute, then send a new code.")
    if fault is Fault.UNREACHABLE_NUMBER:
        return _("We could not send a text message to this number. Check that it is a mobile number that can "
                 "receive texts.")
    if fault is Fault.OPTED_OUT:
        return _("This number has turned off our text messages (someone replied STOP). Reply START to our "
                 "last message, then try again.")
    if fault is Fault.BLOCKED:
        return _("Our text message provider is blocking messages to this number to prevent fraud. Contact "
                 "support if this keeps happening.")
    return _("We could not send a text message just now. Try again in a few minutes.")
