"""An audit row's details as a reader sees them: each key the portal writes has a label, each coded value its words.

audit.record and security_events.changed take the details as keyword arguments (method="totp",
removed={"totp": 1, …}); the audit page shows them through describe(), in the page's language, never as
raw keys or Python's dict syntax. The CSV export keeps the stored JSON. A key or value written by an older
version and no longer known is shown as stored, so no row is ever hidden.

tests/unit/test_audit_details.py reads the portal's source for every detail key it writes and checks that
each has a label here, and each coded value its words, in English and Chinese.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal import factors
from portal.admin.operations import IDENTITY_CHECKS

# Every detail key the portal writes, in the order the audit page lists them.
KEYS: Mapping[str, str] = {
    "method": _l("Method"),
    "reason": _l("Reason"),
    "recovery_codes_left": _l("Recovery codes left"),
    "count": _l("Codes made"),
    "failures": _l("Wrong codes in a row"),
    "purpose": _l("Purpose"),
    "phone": _l("Phone number"),
    "identity_check": _l("Identity check"),
    "case_reference": _l("Case reference"),
    "notes": _l("Notes"),
    "removed": _l("Removed"),
    "sessions_revoked": _l("Sessions signed out"),
    "failures_cleared": _l("Wrong codes cleared"),
    "request_id": _l("Approval request"),
    "requested_by": _l("Requested by"),
    "via": _l("Made with"),
    "os_user": _l("Operating-system user"),
    "email_key": _l("Email address key (hashed)"),
}

# The second factors by their kind (Method.kind): the value of "method", and the keys inside "removed"
# (admin.operations.FACTOR_TABLES names what disabling 2FA removes).
METHODS: Mapping[str, str] = {
    "totp": _l("Authenticator app"),
    "sms": _l("Text message (SMS)"),
    "recovery": _l("Recovery code"),
}
REMOVED: Mapping[str, str] = {
    "totp": _l("Authenticator app"),
    "sms": _l("Text message (SMS)"),
    "recovery_codes": _l("Recovery codes"),
}
# Why a code was refused at sign-in (factors.base.Reason).
REASONS: Mapping[str, str] = {
    "invalid": _l("Wrong code"),
    "malformed": _l("Not a code"),
    "expired": _l("Code expired"),
    "replayed": _l("Code already used"),
    "throttled": _l("Too many codes sent"),
    "cooldown": _l("New code asked for too soon"),
    "wait": _l("Tried again too soon after wrong codes"),
    "locked": _l("Locked after too many wrong codes"),
    "clock_skew": _l("The phone's clock is off"),
}
# Why a text message was sent (sms.base.Purpose).
PURPOSES: Mapping[str, str] = {
    "sign_in": _l("Signing in"),
    "enroll": _l("Setting up the phone"),
}
# How a change was made, when not on the admin pages.
VIA: Mapping[str, str] = {
    "cli": _l("Command line"),
}

# The keys whose value is a code with words of its own.
VALUES: Mapping[str, Mapping[str, str]] = {
    "method": METHODS,
    "reason": REASONS,
    "purpose": PURPOSES,
    "identity_check": IDENTITY_CHECKS,
    "via": VIA,
}


@dataclass(frozen=True)
class Detail:
    """One line of a row's details. kind says how the page shows value: "text", "notes" (kept as typed,
    line breaks and all), "user" (value is an email address, user_id the account) or "request" (request_id)."""

    key: str
    label: str
    value: str
    kind: str = "text"
    user_id: int | None = None
    request_id: int | None = None


def _number_or_text(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    return str(value)


def _coded(key: str, value: object) -> str:
    """The words for a coded value; a method another module registered says its own label."""
    words = VALUES[key].get(str(value))
    if words is not None:
        return str(words)
    if key == "method":
        method = factors.get(str(value))
        if method is not None:
            return method.label
    return _number_or_text(value)


def _parts(value: Mapping[object, object], names: Mapping[str, str]) -> str:
    """{"totp": 1, "sms": 0, …} as "Authenticator app: 1, Text message (SMS): 0, …" in the page's language."""
    return _(", ").join(
        _("%(what)s: %(value)s", what=str(names.get(str(k), k)), value=_plain(v)) for k, v in value.items())


def _plain(value: object) -> str:
    if isinstance(value, Mapping):
        return _parts(value, REMOVED)
    if isinstance(value, list | tuple):
        return _(", ").join(_plain(v) for v in value)
    return _number_or_text(value)


def _order(key: str) -> tuple[int, str]:
    keys = list(KEYS)
    return (keys.index(key), "") if key in KEYS else (len(keys), key)


def describe(details: Mapping[str, object] | None, emails: Mapping[int, str]) -> list[Detail]:
    """A row's details in the page's language, in the order of KEYS (keys not known follow, by name).

    emails: the address of each user id the page knows (requested_by names an admin by id).
    """
    shown = []
    for key in sorted(details or {}, key=_order):
        value = (details or {})[key]
        label = str(KEYS.get(key, key))
        if key in VALUES:
            shown.append(Detail(key, label, _coded(key, value)))
        elif key == "removed" and isinstance(value, Mapping):
            shown.append(Detail(key, label, _parts(value, REMOVED)))
        elif key == "notes":
            shown.append(Detail(key, label, _plain(value), kind="notes"))
        elif key == "requested_by" and isinstance(value, int) and not isinstance(value, bool):
            shown.append(Detail(key, label, emails.get(value, str(value)), kind="user", user_id=value))
        elif key == "request_id" and isinstance(value, int) and not isinstance(value, bool):
            shown.append(Detail(key, label, f"#{value}", kind="request", request_id=value))
        else:
            shown.append(Detail(key, label, _plain(value)))
    return shown


def user_ids(details: Mapping[str, object] | None) -> set[int]:
    """The user ids a row's details name (whose email addresses the page looks up)."""
    value = (details or {}).get("requested_by")
    return {value} if isinstance(value, int) and not isinstance(value, bool) else set()
