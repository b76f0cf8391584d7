"""Progressive delays counted in the database: one statement admits or refuses an attempt.

Used by the password throttle (per email: attempt_upsert, since success deletes its row) and the second-factor
counter (per account: attempt_update on the user's row). An attempt is counted when it is admitted, before its
secret is checked, so parallel attempts cannot all pass a check before any of them is recorded; success resets
the count.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from portal.extensions import db


def _insert(model: Any) -> Any:
    """INSERT of the session's dialect, which has ON CONFLICT (PostgreSQL and SQLite)."""
    return (pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert)(model)


def insert_missing(model: Any, key: Any, rows: list[dict[str, Any]]) -> None:
    """INSERT rows, skipping those whose key exists already (a parallel request may insert the same one)."""
    db.session.execute(_insert(model).values(rows).on_conflict_do_nothing(index_elements=[key]))


def delays(free: int, longest: int) -> dict[int, int]:
    """Seconds to wait after the nth counted attempt: 1, 2, 4 … from the free-th on, capped at longest."""
    table: dict[int, int] = {}
    n = free
    while not table or table[n - 1] < longest:
        table[n] = min(2 ** (n - free), longest)
        n += 1
    return table


def next_retry(count: Any, now: datetime, free: int, longest: int) -> ColumnElement[Any]:
    """SQL for the retry time after count+1 attempts (NULL below free)."""
    table = delays(free, longest)
    return case(
        {n: now + timedelta(seconds=s) for n, s in table.items()},
        value=count + 1,
        else_=case((count + 1 > max(table), now + timedelta(seconds=longest))),
    )


def retry_after(attempts: int, now: datetime, free: int, longest: int) -> datetime | None:
    """The retry time after `attempts` counted attempts, in Python: what next_retry computes in SQL."""
    table = delays(free, longest)
    if attempts in table:
        return now + timedelta(seconds=table[attempts])
    return now + timedelta(seconds=longest) if attempts > max(table) else None


def attempt_upsert(model: Any, key: Any, key_value: str, count: Any, retry_at: Any, now: datetime, *,
                 free: int, longest: int, **values: Any) -> Any:
    """One statement that counts an attempt keyed by key_value, RETURNING the new count if it is admitted.

    INSERT the first attempt's row; ON CONFLICT, count one more only if the row's retry_at has passed. No row
    comes back when the attempt must wait. The conflicting row is then still this transaction's until it ends:
    PostgreSQL locks it even when the DO UPDATE's WHERE is false, and SQLite has one writer at a time. A row
    deleted by another request meanwhile (a success resets the count) is inserted again, never half-seen.
    """
    first = {key.key: key_value, count.key: 1, retry_at.key: retry_after(1, now, free, longest), **values}
    return (
        _insert(model).values(first)
        .on_conflict_do_update(
            index_elements=[key],
            set_={count.key: count + 1, retry_at.key: next_retry(count, now, free, longest), **values},
            where=or_(retry_at.is_(None), retry_at <= now),
        )
        .returning(count)
    )


def attempt_update(model: Any, where: ColumnElement[bool], count: Any, retry_at: Any, now: datetime, *,
                 free: int, longest: int, extra: ColumnElement[bool] | None = None, **values: Any) -> Any:
    """UPDATE model SET count = count + 1, retry_at = … WHERE where AND retry_at has passed RETURNING count."""
    conditions = [where, or_(retry_at.is_(None), retry_at <= now)]
    if extra is not None:
        conditions.append(extra)
    return (
        update(model).where(*conditions)
        .values({count: count + 1, retry_at: next_retry(count, now, free, longest), **values})
        .returning(count)
        # The WHERE is for the database to decide; Python-side evaluation would compare SQLite's naive
        # datetimes with aware ones. Callers refresh what they read afterwards.
        .execution_options(synchronize_session=False)
    )
