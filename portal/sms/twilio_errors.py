"""Every Twilio failure becomes an SmsError with a fault the pages can explain, and one log line."""

from __future__ import annotations

import logging

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException

from portal.sms.base import Fault, SmsError

log = logging.getLogger("portal.sms")

# Twilio error code → (fault, retryable). https://www.twilio.com/docs/api/errors
CODES: dict[int, tuple[Fault, bool]] = {
    20003: (Fault.UNAVAILABLE, False),  # authentication failed: our credentials
    20429: (Fault.BUSY, True),  # too many requests
    21211: (Fault.UNREACHABLE_NUMBER, False),  # invalid 'To' number
    21408: (Fault.UNREACHABLE_NUMBER, False),  # sending to this region is not enabled
    21610: (Fault.OPTED_OUT, False),  # the recipient replied STOP
    21612: (Fault.UNREACHABLE_NUMBER, False),  # this route cannot reach the number
    21614: (Fault.UNREACHABLE_NUMBER, False),  # not a mobile number
    60200: (Fault.UNREACHABLE_NUMBER, False),  # invalid parameter (in practice: the number)
    60202: (Fault.TOO_MANY_CHECKS, True),  # max check attempts reached
    60203: (Fault.TOO_MANY_SENDS, True),  # max send attempts reached
    60212: (Fault.BUSY, True),  # too many concurrent requests for this number
    60410: (Fault.BLOCKED, False),  # Verify fraud guard blocked the number's prefix
}


def twilio_fault(exc: Exception, *, operation: str) -> SmsError:
    """Translate an exception raised by the twilio SDK (or requests under it) and log it once.

    The log line carries the operation, the Twilio error code and HTTP status: never credentials,
    the phone number or the code.
    """
    if isinstance(exc, TwilioRestException):
        fault, retryable = CODES.get(exc.code or 0, (Fault.UNAVAILABLE, exc.status >= 500))
        error = SmsError(fault, retryable=retryable, provider_code=exc.code, status=exc.status)
    elif isinstance(exc, requests.RequestException | TwilioException | OSError):  # timeouts, refused, reset
        error = SmsError(Fault.UNAVAILABLE, retryable=True)
    else:
        raise exc
    log.warning("twilio %s failed: fault=%s twilio_code=%s http_status=%s error=%s", operation, error.fault,
                error.provider_code, error.status, type(exc).__name__)
    return error
