"""The current time, in one place, so tests can inject it instead of sleeping."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime

from flask import current_app

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def now() -> datetime:
    """Return the app's time (timezone-aware UTC)."""
    clock: Clock = current_app.extensions.get("portal.clock", system_clock)
    return clock()


def seconds_until(when: datetime, now: datetime) -> int:
    """Whole seconds until when, rounded up and at least 1: waiting that long is always enough."""
    return max(1, math.ceil((when - now).total_seconds()))


def as_utc(value: datetime) -> datetime:
    """Give naive datetimes read back from SQLite their UTC zone."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
