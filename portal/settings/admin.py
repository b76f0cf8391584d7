"""Admin console settings."""

from __future__ import annotations

from portal.settings.base import Feature, Setting, parse_bool

SETTINGS: tuple[Setting, ...] = (
    Setting("ADMIN_DISABLE_REQUIRES_SECOND_ADMIN", False, parse_bool,
            "Turning off a user's 2FA in /admin waits for a different admin's approval (a request lapses after 24 "
            "hours). The break-glass CLI is not held back."),
)

FEATURE = Feature("admin", SETTINGS)
