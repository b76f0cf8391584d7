"""One small interface for every second factor (after django-otp's Device)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from flask_babel import gettext as _

from portal.models import User
from portal.twofactor.codes import canonical_digits


class Reason(StrEnum):
    INVALID = "invalid"
    EXPIRED = "expired"
    REPLAYED = "replayed"
    THROTTLED = "throttled"
    COOLDOWN = "cooldown"
    CLOCK_SKEW = "clock_skew"  # the code matches a step just outside the window: the phone's clock is off


@dataclass(frozen=True)
class Verdict:
    """An expected outcome. Faults (a provider down) are exceptions instead."""

    ok: bool
    reason: Reason | None = None
    retry_at: datetime | None = None
    skew_seconds: int | None = None  # with CLOCK_SKEW: how far the phone is ahead (+) or behind (-)


OK = Verdict(ok=True)


class Method(ABC):
    kind: ClassVar[str]  # "totp" | "sms" | "recovery"
    primary: ClassVar[bool] = True  # counts as "two-step verification is on"; recovery codes do not

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

    def challenge(self, user: User, *, now: datetime) -> Verdict:
        """Start a challenge (an SMS is sent); most methods have nothing to do."""
        return OK

    @abstractmethod
    def verify(self, user: User, code: str, *, now: datetime) -> Verdict: ...
