"""Admin operations: each changes data and writes its audit row in the caller's transaction.

disable_two_factor is the only way the application removes another person's second factors. It is
called by the admin pages and by the break-glass CLI with the same arguments, so both leave the same
audit row. Callers commit on DONE and roll back on anything else.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from portal import audit, mail
from portal.auth import ended, flow
from portal.clock import as_utc, now
from portal.events import Event
from portal.extensions import db, rowcount
from portal.models import AdminRequest, RecoveryCode, SmsCode, SmsFactor, TotpFactor, User

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
# What a request's status means, for the pages (see status_of).
REQUEST_STATUSES = {
    "pending": _l("Waiting for a different admin's approval"),
    "approved": _l("Approved: two-step verification turned off"),
    "rejected": _l("Rejected"),
    "withdrawn": _l("Withdrawn by the admin who made it"),
    "expired": _l("Lapsed: no decision within 24 hours"),
    "obsolete": _l("Closed: two-step verification was already off"),
}
# How long a request for a second admin's approval waits before it lapses and must be made again.
REQUEST_TTL = timedelta(hours=24)


class Outcome(StrEnum):
    DONE = "done"
    ALREADY = "already"  # nothing to disable (another admin was first, or it was never on)
    SELF = "self"  # an admin may not do this to their own account
    PENDING = "pending"  # a request for this user already waits for approval
    REQUESTED = "requested"  # a new request now waits for a different admin
    SAME_ADMIN = "same_admin"  # the requester cannot approve their own request
    DECIDED = "decided"  # another admin decided first, or the request lapsed


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


# Characters that show nothing of their own: non-spacing and enclosing marks (a letter with 24 accents is one
# letter), format characters (zero-width space, soft hyphen), controls, private use and unassigned code points.
# Spacing marks (Mc, such as Devanagari vowel signs) are written letters and count.
UNSEEN = ("Mn", "Me", "Cf", "Cc", "Co", "Cn")


def _written_length(notes: str) -> int:
    """Characters a reader sees, a run of spaces counted once."""
    return sum(1 for ch in " ".join(notes.split()) if unicodedata.category(ch) not in UNSEEN)


def identity_problem(identity: IdentityCheck) -> str | None:
    """What is wrong with a recorded identity check (translated), or None. The CLI names the first problem."""
    return next(iter(identity_problems(identity).values()), None)


def _unprintable(text: str) -> bool:
    return not all(ch.isprintable() or ch in "\n\r\t" or unicodedata.category(ch) == "Zs" for ch in text)


def identity_problems(identity: IdentityCheck) -> dict[str, str]:
    """Every problem of a recorded identity check, by its form field (translated); empty when it is fine.

    The admin form shows them all at once; the CLI (identity_problem) the first of them.
    """
    problems: dict[str, str] = {}
    if identity.check not in IDENTITY_CHECKS:
        problems["identity_check"] = _("Choose how you checked the person's identity.")
    if not identity.case_reference:
        problems["case_reference"] = _("Enter the case reference.")
    elif len(identity.case_reference) > REFERENCE_MAX:
        problems["case_reference"] = ngettext("The case reference can be at most %(num)d character.",
                                              "The case reference can be at most %(num)d characters.", REFERENCE_MAX)
    if _written_length(identity.notes) < NOTES_MIN:
        problems["notes"] = ngettext("Write at least %(num)d character of notes: what you checked and why.",
                                     "Write at least %(num)d characters of notes: what you checked and why.", NOTES_MIN)
    elif len(identity.notes) > NOTES_MAX:
        problems["notes"] = ngettext("The notes can be at most %(num)d character.",
                                     "The notes can be at most %(num)d characters.", NOTES_MAX)
    for name, text in (("case_reference", identity.case_reference), ("notes", identity.notes)):
        if name not in problems and _unprintable(text):
            problems[name] = _("Remove the control characters from the case reference and the notes.")
    return problems


def has_two_factor(user: User) -> bool:
    """Anything disable_two_factor would remove: a factor (pending or confirmed) or recovery codes."""
    return any(
        db.session.scalar(select(model.id).where(model.user_id == user.id).limit(1)) is not None
        for _, model in FACTOR_TABLES
    )


def disable_two_factor(target: User, identity: IdentityCheck, actor: Actor, *,
                       approved_request: AdminRequest | None = None) -> Outcome:
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
        name: rowcount(db.session.execute(delete(model).where(model.user_id == target.id))) or 0
        for name, model in FACTOR_TABLES
    }
    if not any(removed.values()):
        return Outcome.ALREADY
    db.session.execute(delete(SmsCode).where(SmsCode.user_id == target.id))
    sessions = flow.revoke_sessions(target, reason=ended.BY_ADMIN)  # each browser is told why
    details: dict[str, object] = {
        "identity_check": identity.check, "case_reference": identity.case_reference, "notes": identity.notes,
        "removed": removed, "sessions_revoked": sessions, "failures_cleared": failures_before,
    }
    if actor.os_user is not None:
        details["via"] = "cli"
        details["os_user"] = actor.os_user
    if approved_request is not None:  # actor approved what another admin requested
        details["request_id"] = approved_request.id
        details["requested_by"] = approved_request.requested_by_id
    audit.record(Event.ADMIN_TWO_FACTOR_DISABLED, actor=actor.user, subject=target, ip=actor.ip, **details)
    mail.notify(target.email, Event.ADMIN_TWO_FACTOR_DISABLED, ip=actor.ip)
    db.session.expire(target)
    return Outcome.DONE


def _lapse_cutoff(at: datetime) -> datetime:
    """Requests made before this time have lapsed at `at`."""
    return at - REQUEST_TTL


def still_waiting(at: datetime | None = None) -> ColumnElement[bool]:
    """SQL: the request is pending and has not lapsed (the one definition every query uses)."""
    return (AdminRequest.status == "pending") & (AdminRequest.requested_at >= _lapse_cutoff(at or now()))


def status_of(disable_request: AdminRequest) -> str:
    """The request's status as people should read it: a pending request past REQUEST_TTL has lapsed."""
    if disable_request.status == "pending" and as_utc(disable_request.requested_at) < _lapse_cutoff(now()):
        return "expired"
    return disable_request.status


def pending_request(target: User) -> AdminRequest | None:
    """The request for target that still waits for approval (not lapsed), if any."""
    return db.session.scalar(select(AdminRequest).where(AdminRequest.target_id == target.id, still_waiting()))


def request_disable(target: User, identity: IdentityCheck, actor: Actor) -> tuple[Outcome, AdminRequest | None]:
    """Record a request to disable target's 2FA, for a different admin to approve. The caller commits.

    Security: one pending request per user (partial unique index); two admins requesting at once get one
    request and one PENDING. Nothing of the target changes until the approval.
    """
    if actor.user is None or actor.user.id == target.id:
        return Outcome.SELF, None
    if not has_two_factor(target):
        return Outcome.ALREADY, None
    at = now()
    db.session.execute(update(AdminRequest).where(
        AdminRequest.target_id == target.id, AdminRequest.status == "pending",
        AdminRequest.requested_at < _lapse_cutoff(at)).values(status="expired")
        .execution_options(synchronize_session=False))
    disable_request = AdminRequest(target_id=target.id, requested_by_id=actor.user.id, requested_at=at,
                                   requested_ip=actor.ip, identity_check=identity.check,
                                   case_reference=identity.case_reference, notes=identity.notes)
    try:
        with db.session.begin_nested():
            db.session.add(disable_request)
    except IntegrityError:
        return Outcome.PENDING, pending_request(target)
    audit.record(Event.ADMIN_DISABLE_REQUESTED, actor=actor.user, subject=target, ip=actor.ip,
                 request_id=disable_request.id, identity_check=identity.check,
                 case_reference=identity.case_reference, notes=identity.notes)
    # Security: the owner hears of it while it waits, so a request made on an impostor's word can be stopped.
    mail.notify(target.email, Event.ADMIN_DISABLE_REQUESTED, ip=actor.ip)
    return Outcome.REQUESTED, disable_request


def _moved_from_pending(disable_request: AdminRequest, admin: User, status: str, *, others_only: bool) -> bool:
    """Whether this call moved disable_request from pending to status (admin deciding): only if it still waited,
    and, when others_only, admin is not its requester. False: someone decided first, or it lapsed."""
    stmt = update(AdminRequest).where(AdminRequest.id == disable_request.id, still_waiting())
    if others_only:
        stmt = stmt.where(or_(AdminRequest.requested_by_id.is_(None), AdminRequest.requested_by_id != admin.id))
    stmt = stmt.values(status=status, decided_by_id=admin.id, decided_at=now())
    won = (rowcount(db.session.execute(stmt.execution_options(synchronize_session=False))) or 0) == 1
    db.session.refresh(disable_request)
    return won


def approve_request(disable_request: AdminRequest, actor: Actor) -> Outcome:
    """A different admin approves: the same disable_two_factor, audited with both admins. The caller commits on
    DONE; on ALREADY it rolls back and calls close_obsolete_request; on anything else it rolls back.

    Security: the decision is a conditional UPDATE from "pending", so of two approvals at once one acts
    and the other gets DECIDED; the requester's own approval is refused (SAME_ADMIN) in the same statement.
    """
    admin = actor.user
    if admin is None or admin.id == disable_request.target_id:
        return Outcome.SELF
    if disable_request.requested_by_id == admin.id:
        return Outcome.SAME_ADMIN
    if not _moved_from_pending(disable_request, admin, "approved", others_only=True):
        return Outcome.DECIDED
    identity = IdentityCheck(disable_request.identity_check, disable_request.case_reference, disable_request.notes)
    return disable_two_factor(disable_request.target, identity, actor, approved_request=disable_request)


def close_obsolete_request(disable_request: AdminRequest, actor: Actor) -> Outcome:
    """Close a request whose user has no 2FA left to disable (turned off another way). The caller commits."""
    if actor.user is None or not _moved_from_pending(disable_request, actor.user, "obsolete", others_only=False):
        return Outcome.DECIDED
    audit.record(Event.ADMIN_DISABLE_REQUEST_CLOSED, actor=actor.user, subject=disable_request.target, ip=actor.ip,
                 request_id=disable_request.id, case_reference=disable_request.case_reference)
    return Outcome.DONE


def reject_request(disable_request: AdminRequest, actor: Actor) -> Outcome:
    """Another admin rejects the request, or its requester withdraws it. The caller commits on DONE.

    Security: the admin the request is about cannot decide it either way (SELF).
    """
    admin = actor.user
    if admin is None or admin.id == disable_request.target_id:
        return Outcome.SELF
    withdrawn = disable_request.requested_by_id == admin.id
    event = Event.ADMIN_DISABLE_WITHDRAWN if withdrawn else Event.ADMIN_DISABLE_REJECTED
    if not _moved_from_pending(disable_request, admin, "withdrawn" if withdrawn else "rejected", others_only=False):
        return Outcome.DECIDED
    audit.record(event, actor=admin, subject=disable_request.target, ip=actor.ip, request_id=disable_request.id,
                 case_reference=disable_request.case_reference)
    mail.notify(disable_request.target.email, event, ip=actor.ip)
    return Outcome.DONE
