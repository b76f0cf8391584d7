"""Read-only queries of the admin pages: user search, a user's summary, the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, func, select

from portal.admin.operations import still_waiting
from portal.extensions import db
from portal.models import AdminRequest, AuditEvent, RecoveryCode, SmsFactor, TotpFactor, User

PAGE_SIZE = 50
SUBSTRING_MIN = 3  # characters; a trigram index cannot serve shorter substrings


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def users_matching(q: str, page: int) -> tuple[list[User], bool]:
    """Users whose email starts with q, then those that contain it further on, one page; and whether more follow.

    Speed: two queries that each walk an index in email order, never one that sorts every match. Prefix
    matches come from the unique email index (bytewise "C" collation on PostgreSQL); the rest from the
    pg_trgm GIN index (migration 0008), which needs three characters, so shorter needles match prefixes only.
    """
    needle = q.strip().lower()
    offset = (page - 1) * PAGE_SIZE
    if not needle:
        rows = list(db.session.scalars(select(User).order_by(User.email).offset(offset).limit(PAGE_SIZE + 1)))
        return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE
    pattern = _escape_like(needle)
    prefix = User.email.like(f"{pattern}%", escape="\\")
    rows = list(db.session.scalars(select(User).where(prefix).order_by(User.email)
                                   .offset(offset).limit(PAGE_SIZE + 1)))
    if len(rows) > PAGE_SIZE or len(needle) < SUBSTRING_MIN:
        return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE
    # The prefix matches ran out on this page: how many there are in all says where the others start.
    prefix_count = offset + len(rows) if rows or offset == 0 else db.session.scalar(
        select(func.count()).select_from(User).where(prefix)) or 0
    rows += db.session.scalars(
        select(User).where(User.email.like(f"%{pattern}%", escape="\\"), ~prefix).order_by(User.email)
        .offset(max(0, offset - prefix_count)).limit(PAGE_SIZE + 1 - len(rows)))
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE



@dataclass(frozen=True)
class Summary:
    totp: bool
    sms: bool
    recovery_left: int


def summaries(users: list[User]) -> dict[int, Summary]:
    """Methods and recovery codes left for each user, in three queries whatever the page size."""
    ids = [u.id for u in users]
    if not ids:
        return {}
    totp = set(db.session.scalars(select(TotpFactor.user_id).where(
        TotpFactor.user_id.in_(ids), TotpFactor.confirmed_at.is_not(None))))
    sms = set(db.session.scalars(select(SmsFactor.user_id).where(
        SmsFactor.user_id.in_(ids), SmsFactor.confirmed_at.is_not(None))))
    left = {row[0]: row[1] for row in db.session.execute(
        select(RecoveryCode.user_id, func.count()).where(RecoveryCode.user_id.in_(ids), RecoveryCode.used_at.is_(None))
        .group_by(RecoveryCode.user_id))}
    return {i: Summary(totp=i in totp, sms=i in sms, recovery_left=left.get(i, 0)) for i in ids}


@dataclass(frozen=True)
class AuditFilter:
    user: str = ""  # an email address (exact, case-insensitive)
    event: str = ""  # an event name, or a prefix ending in "." ("totp.")
    since: date | None = None
    until: date | None = None  # inclusive
    case: str = ""  # a case reference (exact), as recorded with admin actions


def audit_query(f: AuditFilter) -> Select[AuditEvent] | None:
    """The audit rows matching f, newest first; None when f names a user who does not exist."""
    stmt = select(AuditEvent)
    if f.user:
        user_id = db.session.scalar(select(User.id).where(User.email == f.user.strip().lower()))
        if user_id is None:
            return None
        stmt = stmt.where((AuditEvent.subject_id == user_id) | (AuditEvent.actor_id == user_id))
    if f.event:
        stmt = stmt.where(AuditEvent.event.like(f"{_escape_like(f.event)}%", escape="\\")
                          if f.event.endswith(".") else AuditEvent.event == f.event)
    if f.case:
        # Served on PostgreSQL by an expression index on details ->> 'case_reference' (migration 0010).
        stmt = stmt.where(AuditEvent.details["case_reference"].as_string() == f.case.strip())
    if f.since is not None:
        stmt = stmt.where(AuditEvent.at >= datetime.combine(f.since, time.min, UTC))
    if f.until is not None:
        stmt = stmt.where(AuditEvent.at < datetime.combine(f.until + timedelta(days=1), time.min, UTC))
    return stmt.order_by(AuditEvent.id.desc())


def emails_of(ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {row[0]: row[1] for row in db.session.execute(select(User.id, User.email).where(User.id.in_(wanted)))}


def requests_overview(decided_limit: int = 20) -> tuple[list[AdminRequest], list[AdminRequest]]:
    """Requests waiting for a second admin (oldest first), and the decided_limit most recently decided or lapsed."""
    pending = list(db.session.scalars(select(AdminRequest).where(still_waiting())
                                      .order_by(AdminRequest.requested_at)))
    decided = list(db.session.scalars(select(AdminRequest).where(~still_waiting())
                                      .order_by(AdminRequest.id.desc()).limit(decided_limit)))
    return pending, decided


def pending_count() -> int:
    return db.session.scalar(select(func.count()).select_from(AdminRequest).where(still_waiting())) or 0
