"""Every audit event the portal writes, and what is known about each, in one place.

An Event's value is the name stored in audit_events.event (the same strings as before the enum: no
migration). Each member carries its About: the label in recent activity and the admin audit log, the
sentence of the email notice the user gets (None: no email), whether it is listed at the next sign-in
("Since your last sign-in: …"), and whether it is itself a sign-in (a boundary of "since").

audit.record, mail.notify and security_events.changed take an Event, or a name they convert with
Event(name): a misspelt name raises ValueError where it is written, never a silently dropped notice.

The bottom layer: this module imports nothing of the portal, so every other module may import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum, auto

from flask_babel import lazy_gettext as _l


class SignIn(Enum):
    """The kind of sign-in an event records."""

    SECOND_FACTOR = auto()  # with a code or a recovery code
    PASSWORD_ONLY = auto()  # of an account with no second factor set up


@dataclass(frozen=True)
class About:
    """What is known about an event. Its texts are lazy (_l): translated each time they are read."""

    label: str  # in recent activity (account page, admin user page) and the admin audit log
    notice: str | None = None  # the email's sentence: what happened; None sends no email
    at_next_sign_in: bool = False  # listed in "Since your last sign-in: …"
    sign_in: SignIn | None = None  # this event is a sign-in: "since the previous sign-in" starts after one


class Event(StrEnum):
    """An audit event; the value is the stored name. Member names are the value in capitals, "." → "_"."""

    about: About

    def __new__(cls, value: str, about: About | None = None) -> Event:
        """Make a member (at class creation only: Event(name) afterwards looks a member up by its value)."""
        if about is None:
            raise TypeError(f"event {value!r} needs its About")
        member = str.__new__(cls, value)
        member._value_ = value
        member.about = about
        return member

    # Authenticator app
    TOTP_ENROLLED = "totp.enrolled", About(
        _l("Authenticator app set up"),
        notice=_l("An authenticator app was set up for your account."), at_next_sign_in=True)
    TOTP_REPLACED = "totp.replaced", About(
        _l("Authenticator app replaced"),
        notice=_l("The authenticator app of your account was replaced."), at_next_sign_in=True)
    TOTP_REMOVED = "totp.removed", About(
        _l("Authenticator app removed"),
        notice=_l("The authenticator app was removed from your account."), at_next_sign_in=True)

    # Text message codes
    SMS_ENROLLED = "sms.enrolled", About(
        _l("Phone added for text message codes"),
        notice=_l("A phone number for sign-in codes was added to your account."), at_next_sign_in=True)
    SMS_CHANGED = "sms.changed", About(
        _l("Phone number for text message codes changed"),
        notice=_l("The phone number for sign-in codes of your account was changed."), at_next_sign_in=True)
    SMS_REMOVED = "sms.removed", About(
        _l("Phone for text message codes removed"),
        notice=_l("The phone number for sign-in codes was removed from your account."), at_next_sign_in=True)
    SMS_SENT = "sms.sent", About(_l("Text message with a code sent"))

    # Recovery codes
    RECOVERY_GENERATED = "recovery.generated", About(
        _l("New recovery codes generated"),
        notice=_l("New recovery codes were generated for your account; the old ones no longer work."),
        at_next_sign_in=True)
    RECOVERY_USED = "recovery.used", About(
        _l("Recovery code used"),
        notice=_l("A recovery code was used to sign in to your account."), at_next_sign_in=True,
        sign_in=SignIn.SECOND_FACTOR)
    RECOVERY_DELETED = "recovery.deleted", About(
        _l("Recovery codes deleted"),
        notice=_l("The recovery codes of your account were deleted."), at_next_sign_in=True)

    # Signing in
    SIGNIN_SECOND_FACTOR = "signin.second_factor", About(
        _l("Signed in with two-step verification"), sign_in=SignIn.SECOND_FACTOR)
    SIGNIN_PASSWORD = "signin.password", About(
        _l("Signed in with the password (no second step set up)"), sign_in=SignIn.PASSWORD_ONLY)
    SIGNIN_PASSWORD_FAILED = "signin.password_failed", About(_l("Wrong password entered"))
    SIGNIN_SECOND_FACTOR_FAILED = "signin.second_factor_failed", About(_l("Wrong code entered at sign-in"))
    SIGNIN_LOCKED = "signin.locked", About(
        _l("Sign-in codes locked after too many wrong codes"),
        notice=_l("Signing in with a code was locked after too many wrong codes."))

    # Support (admins and the break-glass CLI)
    ADMIN_TWO_FACTOR_DISABLED = "admin.two_factor_disabled", About(
        _l("Two-step verification turned off by support"),
        notice=_l("Support turned off two-step verification for your account."), at_next_sign_in=True)
    ADMIN_DISABLE_REQUESTED = "admin.disable_requested", About(
        _l("Support asked for approval to turn off two-step verification"),
        notice=_l("Support was asked to turn off two-step verification for your account. Nothing "
                  "changes until a second admin approves it: if you did not ask for this, contact "
                  "support now."))
    ADMIN_DISABLE_REJECTED = "admin.disable_rejected", About(
        _l("Support's request to turn off two-step verification was rejected"),
        notice=_l("A request to turn off two-step verification for your account was rejected; "
                  "nothing changed."))
    ADMIN_DISABLE_WITHDRAWN = "admin.disable_withdrawn", About(
        _l("Support's request to turn off two-step verification was withdrawn"),
        notice=_l("A request to turn off two-step verification for your account was withdrawn; "
                  "nothing changed."))
    ADMIN_DISABLE_REQUEST_CLOSED = "admin.disable_request_closed", About(
        _l("Support closed a request to turn off two-step verification: it was already off"))

    @property
    def label(self) -> str:
        return self.about.label

    @property
    def notice(self) -> str | None:
        return self.about.notice

    @property
    def at_next_sign_in(self) -> bool:
        return self.about.at_next_sign_in

    @property
    def sign_in(self) -> SignIn | None:
        return self.about.sign_in


# The boundaries of "since your previous sign-in", and what is listed after one.
SECOND_FACTOR_SIGN_INS = frozenset(e for e in Event if e.sign_in is SignIn.SECOND_FACTOR)
ALL_SIGN_INS = frozenset(e for e in Event if e.sign_in is not None)
LISTED_AT_NEXT_SIGN_IN = frozenset(e for e in Event if e.at_next_sign_in)


def label_of(name: str) -> str:
    """The translated label of a stored event name; the name itself for one no longer written (old rows)."""
    try:
        return str(Event(name).label)
    except ValueError:
        return name
