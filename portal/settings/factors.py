"""Settings every second factor shares: the per-account limits on wrong codes, across all methods."""

from __future__ import annotations

from portal.settings.base import Feature, Setting, parse_int

SETTINGS: tuple[Setting, ...] = (
    Setting("SECOND_FACTOR_FREE_FAILURES", 5, parse_int,
            "Wrong second-factor codes per account (all methods) before delays start (1, 2, 4 … s).",
            minimum=1, maximum=50),
    Setting("SECOND_FACTOR_MAX_DELAY", 900, parse_int, "Longest delay between second-factor attempts, seconds.",
            minimum=1, maximum=86_400),
    Setting("SECOND_FACTOR_LOCK_AT", 50, parse_int,
            "Wrong codes after which every factor but a recovery code is locked until an admin resets it.",
            minimum=5, maximum=1000),
)

FEATURE = Feature("factors", SETTINGS)
