"""Read-only queries of the admin pages: user search, a user's summary, the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, case, func, select

from portal.extensions import db
from portal.models import AuditEvent, RecoveryCode, SmsFactor, TotpFactor, User

PAGE_SIZE = 50


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_users(q: str, page: int) -> tuple[list[User], bool]:
    """Users whose email starts with or contains q (prefix matches first), one page; and whether more follow."""
    stmt: Select[tuple[User]] = select(User)
    needle = q.strip().lower()
    if needle:
        pattern = _escape_like(needle)
        prefix = User.email.like(f"{pattern}%", escape="\\")
        stmt = stmt.where(User.email.like(f"%{pattern}%", escape="\\")).order_by(
            case((prefix, 0), else_=1), User.email)
    else:
        stmt = stmt.order_by(User.email)
    rows = list(db.session.scalars(stmt.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)))
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


def audit_query(f: AuditFilter) -> Select[tuple[AuditEvent]] | None:
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
