"""Progressive delays counted in the database: one conditional UPDATE admits or refuses an attempt.

Used by the password throttle (per email) and the second-factor counter (per account). An attempt is
counted when it is admitted, before its secret is checked, so parallel attempts cannot all pass a
check before any of them is recorded; success resets the count.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from portal.extensions import db


def insert_missing(model: Any, key: Any, rows: list[dict[str, Any]]) -> None:
    """INSERT rows, skipping those whose key exists already (a parallel request may insert the same one)."""
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    db.session.execute(insert(model).values(rows).on_conflict_do_nothing(index_elements=[key]))


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


def admit_update(model: Any, where: ColumnElement[bool], count: Any, retry_at: Any, now: datetime, *,
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
