"""Reads that several parts of one request ask for (a user's factors, their recovery codes), made once.

A page asks "which methods does this user have?" in the view, its template and its flash messages; each
answer is a query. remembered() keeps the first answer in the SQLAlchemy session's info, so it lives as
long as the request's session. What was read from a table is forgotten as soon as this session writes to
that table (an ORM flush or an UPDATE, DELETE or INSERT statement), and everything is forgotten on a
rollback or a commit, except a commit made with commit_keeping(), which a request uses when it reads on
only what it has itself written or locked. A write that changes no remembered answer says so (unaffected()).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

from sqlalchemy import Executable, event
from sqlalchemy.orm import ORMExecuteState, Session

from portal.extensions import db

T = TypeVar("T")
E = TypeVar("E", bound=Executable)
_MEMO = "portal.memo"
_KEEP = "portal.memo.keep"
_UNAFFECTED = "portal_memo_unaffected"


def remembered(table: str, key: Hashable, load: Callable[[], T]) -> T:
    """load()'s answer for key, read from table: computed once until this session writes to table."""
    memo: dict[Hashable, T] = db.session.info.setdefault(_MEMO, {}).setdefault(table, {})  # key's answer is load's
    if key not in memo:
        memo[key] = load()
    return memo[key]


def commit_keeping() -> None:
    """Commit, keeping loaded objects and remembered answers as they are (no reload on next touch).

    Only for a request whose reads after the commit concern what it wrote itself or read under its own
    row lock: another request's write in between would otherwise go unseen.
    """
    session = db.session()
    session.info[_KEEP] = True
    previous, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = previous
        session.info.pop(_KEEP, None)


def unaffected(statement: E) -> E:
    """Mark a write that changes no remembered answer (say, a factor's last-used step), so nothing is forgotten."""
    return statement.execution_options(**{_UNAFFECTED: True})


def _forget(session: Session, tables: set[str] | None = None) -> None:
    memo = session.info.get(_MEMO)
    if not memo:
        return
    if tables is None:
        memo.clear()
    else:
        for table in tables:
            memo.pop(table, None)


@event.listens_for(Session, "do_orm_execute")
def _on_statement(state: ORMExecuteState) -> None:
    if state.is_select or state.execution_options.get(_UNAFFECTED):
        return
    table = getattr(state.statement, "table", None)
    _forget(state.session, {table.name} if table is not None and hasattr(table, "name") else None)


@event.listens_for(Session, "after_flush")
def _on_flush(session: Session, _context: object) -> None:
    written = (*session.new, *session.dirty, *session.deleted)
    _forget(session, {obj.__table__.name for obj in written})


@event.listens_for(Session, "after_commit")
def _on_commit(session: Session) -> None:
    if not session.info.get(_KEEP):
        _forget(session)


@event.listens_for(Session, "after_soft_rollback")
def _on_rollback(session: Session, _transaction: object) -> None:
    _forget(session)
