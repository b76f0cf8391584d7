"""Admin operations: each changes data and writes its audit row in the caller's transaction.

disable_two_factor is the only way the application removes another person's second factors. It is
called by the admin pages and by the break-glass CLI with the same arguments, so both leave the same
audit row. Callers commit on DONE and roll back on anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select, update

from portal import audit, mail
from portal.auth import flow
from portal.extensions import db
from portal.models import RecoveryCode, SmsCode, SmsFactor, TotpFactor, User

# The identity checks an admin can record, in the order the form offers them.
IDENTITY_CHECKS = {
    "id_document": _l("ID document checked"),
    "video_call": _l("Video call"),
    "call_back": _l("Call-back to the phone number on file"),
    "in_person": _l("In person"),
    "other": _l("Other"),
}
# What disabling 2FA removes, by the name the audit row gives it.
FACTOR_TABLES = (("totp", TotpFactor), ("sms", SmsFactor), ("recovery_codes", RecoveryCode))
NOTES_MIN = 20
NOTES_MAX = 2000
REFERENCE_MAX = 100


class Outcome(StrEnum):
    DONE = "done"
    ALREADY = "already"  # nothing to disable (another admin was first, or it was never on)
    SELF = "self"  # an admin may not do this to their own account


@dataclass(frozen=True)
class IdentityCheck:
    """What the admin did to be sure the person asking owns the account."""

    check: str  # a key of IDENTITY_CHECKS
    case_reference: str
    notes: str


@dataclass(frozen=True)
class Actor:
    """Who acts: an admin in the browser (user set), or an operator at the CLI (os_user set)."""

    user: User | None
    ip: str | None
    os_user: str | None = None


def identity_problem(identity: IdentityCheck) -> str | None:
    """What is wrong with a recorded identity check (translated), or None. Forms and the CLI share it."""
    if identity.check not in IDENTITY_CHECKS:
        return _("Choose how you checked the person's identity.")
    if not identity.case_reference:
        return _("Enter the case reference.")
    if len(identity.case_reference) > REFERENCE_MAX:
        return _("The case reference can be at most %(num)d characters.", num=REFERENCE_MAX)
    if len(identity.notes) < NOTES_MIN:
        return _("Write at least %(num)d characters of notes: what you checked and why.", num=NOTES_MIN)
    if len(identity.notes) > NOTES_MAX:
        return _("The notes can be at most %(num)d characters.", num=NOTES_MAX)
    if not all(ch.isprintable() or ch in "\n\r\t" for ch in identity.case_reference + identity.notes):
        return _("Remove the control characters from the case reference and the notes.")
    return None


def has_two_factor(user: User) -> bool:
    """Anything disable_two_factor would remove: a factor (pending or confirmed) or recovery codes."""
    return any(
        db.session.scalar(select(model.id).where(model.user_id == user.id).limit(1)) is not None
        for _, model in FACTOR_TABLES
    )


def disable_two_factor(target: User, identity: IdentityCheck, actor: Actor, *,
                       approved_by: User | None = None) -> Outcome:
    """Remove every factor and recovery code of target, clear its failure count and lock, sign it out.

    Security: the first statement is an UPDATE of the target's row, so of two admins submitting at once
    the second waits for the first to commit (PostgreSQL row lock; SQLite has one writer at a time) and
    then finds nothing left to delete: ALREADY, and the caller rolls back. One audit row per change.
    """
    if actor.user is not None and actor.user.id == target.id:
        return Outcome.SELF
    failures_before = target.factor_failures
    db.session.execute(update(User).where(User.id == target.id).values(factor_failures=0, factor_retry_at=None))
    removed = {
        name: db.session.execute(delete(model).where(model.user_id == target.id)).rowcount or 0
        for name, model in FACTOR_TABLES
    }
    if not any(removed.values()):
        return Outcome.ALREADY
    db.session.execute(delete(SmsCode).where(SmsCode.user_id == target.id))
    sessions = flow.revoke_sessions(target)
    details: dict[str, object] = {
        "identity_check": identity.check, "case_reference": identity.case_reference, "notes": identity.notes,
        "removed": removed, "sessions_revoked": sessions, "failures_cleared": failures_before,
    }
    if actor.os_user is not None:
        details["via"] = "cli"
        details["os_user"] = actor.os_user
    if approved_by is not None:
        details["approved_by"] = approved_by.id
    audit.record("admin.two_factor_disabled", actor=actor.user, subject=target, ip=actor.ip, **details)
    mail.notify(target.email, "admin.two_factor_disabled", ip=actor.ip)
    db.session.expire(target)
    return Outcome.DONE
