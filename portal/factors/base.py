"""One small interface for every second factor (after django-otp's Device), and the one verdict type.

Expected outcomes are Verdicts, faults (a provider down) are exceptions. A Verdict that says "wait"
(WAIT, COOLDOWN, THROTTLED) carries its retry_at: the only "wait until" type of the portal. LOCKED has none:
only an admin ends a lock.
"""

from __future__ import annotations

import unicodedata
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from flask_babel import gettext as _

from portal.models import User

CODE_LENGTH = 6
SEPARATORS = str.maketrans("", "", " -\u00a0\u3000\t")


class Reason(StrEnum):
    INVALID = "invalid"
    MALFORMED = "malformed"  # not a code of this method at all (letters, wrong length): a 400, not counted
    EXPIRED = "expired"
    REPLAYED = "replayed"
    THROTTLED = "throttled"  # a cap (codes sent per number, account or day) is reached: wait until retry_at
    COOLDOWN = "cooldown"  # the resend cooldown: wait until retry_at
    WAIT = "wait"  # the account's progressive delay after wrong codes: wait until retry_at
    LOCKED = "locked"  # too many wrong codes: every factor but a recovery code is locked until an admin resets
    CLOCK_SKEW = "clock_skew"  # the code matches a step just outside the window: the phone's clock is off


@dataclass(frozen=True)
class Verdict:
    """An expected outcome. Faults (a provider down) are exceptions instead."""

    ok: bool
    reason: Reason | None = None
    retry_at: datetime | None = None  # with WAIT, COOLDOWN and THROTTLED: when trying again may work
    skew_seconds: int | None = None  # with CLOCK_SKEW: how far the phone is ahead (+) or behind (-)


OK = Verdict(ok=True)


def refused(reason: Reason, retry_at: datetime | None = None) -> Verdict:
    return Verdict(ok=False, reason=reason, retry_at=retry_at)


def canonical_digits(raw: str) -> str | None:
    """Return exactly six ASCII digits, or None.

    NFKC turns full-width digits typed with Chinese input methods (１２３４５６) into ASCII; spaces and
    hyphens people copy along are dropped. Every other character makes the code invalid.
    """
    text = unicodedata.normalize("NFKC", raw).translate(SEPARATORS)
    if len(text) == CODE_LENGTH and text.isascii() and text.isdigit():
        return text
    return None


class Method(ABC):
    kind: ClassVar[str]  # "totp" | "sms" | "recovery"
    primary: ClassVar[bool] = True  # counts as "two-step verification is on"; recovery codes do not

    @property
    def lockable(self) -> bool:
        """Whether the account's lock applies: a recovery code is the way out of it."""
        return self.primary

    def canonical(self, raw: str) -> str | None:
        """The code in the one form verify() accepts, or None when it cannot be one (a 400)."""
        return canonical_digits(raw)

    @property
    def format_hint(self) -> str:
        return _("Enter the 6 digits of the code.")

    @property
    @abstractmethod
    def label(self) -> str:
        """The method's name as the user reads it (translated)."""

    @abstractmethod
    def is_enrolled(self, user: User) -> bool: ...

    def page_context(self, user: User, *, now: datetime) -> dict[str, object]:
        """Extra values for this method's code page (the SMS countdown); most methods have none."""
        return {}

    def challenge(self, user: User, *, now: datetime, language: str = "en", ip: str | None = None) -> Verdict:
        """Start a challenge (an SMS is sent); most methods have nothing to do. Same signature for all."""
        return OK

    @abstractmethod
    def verify(self, user: User, code: str, *, now: datetime) -> Verdict:
        """Check a canonical code; a success spends it (in the caller's transaction)."""
