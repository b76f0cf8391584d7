"""The second factors: the registry of methods bound to an app.

Each factor is one module beside this one (totp, sms, recovery: the method and its operations); base.py is the
interface, gate.py the one code check, messages.py and forms.py what pages show of them.
"""

from __future__ import annotations

from flask import Flask, current_app

from portal.factors.base import OK, Method, Reason, Verdict
from portal.models import User

__all__ = ["OK", "Method", "Reason", "Verdict", "get", "is_on", "primary", "register"]


def register(app: Flask, method: Method) -> None:
    registry: dict[str, Method] = app.extensions.setdefault("portal.methods", {})
    registry[method.kind] = method


def get(kind: str) -> Method | None:
    registry: dict[str, Method] = current_app.extensions.get("portal.methods", {})
    return registry.get(kind)


def primary(user: User) -> list[Method]:
    """The methods that make two-step verification "on" (not recovery codes), in registration order."""
    return [m for m in current_app.extensions.get("portal.methods", {}).values()
            if m.primary and m.is_enrolled(user)]


def is_on(user: User) -> bool:
    """Two-step verification is on: the user has at least one primary method (asks no more than it needs)."""
    return any(m.primary and m.is_enrolled(user) for m in current_app.extensions.get("portal.methods", {}).values())
