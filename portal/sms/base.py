"""The SmsProvider interface: send a code to a phone, check a code someone typed.

Expected outcomes of a check are Verdicts; faults (Twilio down, refused, rate-limited) are SmsError.
Providers never read request, session or current_user: user, phone, language and time are arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from portal.factors.base import Verdict


class Purpose(StrEnum):
    SIGN_IN = "sign_in"
    ENROLL = "enroll"


class Fault(StrEnum):
    """What went wrong, in the words the pages use (portal/sms/messages.py)."""

    BUSY = "busy"  # the provider asks us to slow down: 429
    TOO_MANY_SENDS = "too_many_sends"  # the provider's own per-number send limit: 429
    TOO_MANY_CHECKS = "too_many_checks"  # the provider's own per-code check limit: 429
    UNREACHABLE_NUMBER = "unreachable_number"  # the number cannot get texts (invalid, region, landline): 503
    OPTED_OUT = "opted_out"  # the person replied STOP to our texts: 503
    BLOCKED = "blocked"  # the provider's fraud guard refused this number: 503
    UNAVAILABLE = "unavailable"  # credentials, configuration, 5xx, timeout, no connection: 503


# How long to wait before a retryable fault is worth retrying, seconds (Retry-After on the 429).
RETRY_AFTER = {Fault.BUSY: 30, Fault.TOO_MANY_SENDS: 600, Fault.TOO_MANY_CHECKS: 60}
THROTTLE_FAULTS = frozenset(RETRY_AFTER)


class SmsError(Exception):
    """A provider fault: a 429 (with Retry-After) when the provider asks us to slow down, else a 503."""

    def __init__(self, fault: Fault, *, retryable: bool, provider_code: int | str | None = None,
                 status: int | None = None) -> None:
        super().__init__(f"{fault} (provider code {provider_code}, HTTP {status})")
        self.fault = fault
        self.retryable = retryable
        self.provider_code = provider_code
        self.status = status


@dataclass(frozen=True)
class Message:
    """A code to deliver: who, why, in which language."""

    user_id: int
    phone: str  # E.164
    purpose: Purpose
    language: str  # a LANGUAGES entry: "en", "zh_Hans"


class SmsProvider(Protocol):
    name: str

    def send_code(self, message: Message, *, now: datetime) -> None:
        """Deliver a new code for (user, purpose) to message.phone; replaces any earlier one we generated."""

    def check_code(self, message: Message, code: str, *, now: datetime) -> Verdict:
        """Check a canonical 6-digit code for (user, purpose, phone); a success consumes it."""


def http_status(error: SmsError) -> int:
    return 429 if error.fault in THROTTLE_FAULTS else 503


def retry_after(error: SmsError) -> int | None:
    return RETRY_AFTER.get(error.fault)
