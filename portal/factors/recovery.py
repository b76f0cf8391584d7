"""Recovery codes: 10 per set, 60 bits each (12 Crockford base32 characters shown XXXX-XXXX-XXXX).

Stored only as Argon2id hashes. Each row also holds a selector: the first SELECTOR hex characters of a
keyed hash (under the app's secret key) of the whole code, unique within a set. It picks the one row to
verify, so a redemption costs exactly one Argon2 verification (a dummy one when no selector matches),
and a database dump alone says nothing about the codes.
"""

from __future__ import annotations

import hmac
import secrets
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import ClassVar

from flask_babel import gettext as _
from sqlalchemy import delete, func, select, update

from portal import factors, security_events
from portal.crypto import keyed_hash, passwords
from portal.events import Event
from portal.extensions import db, rowcount
from portal.factors.base import OK, Method, Reason, Verdict
from portal.memo import remembered
from portal.models import RecoveryCode, User, UserSession

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
LENGTH = 12  # 12 × 5 bits = 60 bits
SELECTOR = 4  # hex characters of keyed_hash(SELECTOR_PURPOSE, code) stored as the selector (16 bits)
SELECTOR_PURPOSE = "recovery-selector"
SET_PURPOSE = "recovery-set"
CODES_PER_SET = 10
LOW_WATER = 3  # warn at every sign-in from this many codes left
# Crockford decoding: letters people type for digits they read.
CONFUSABLES = str.maketrans({"I": "1", "L": "1", "O": "0"})
SEPARATORS = str.maketrans("", "", " -\u00a0\u3000\t\u2010\u2011\u2012\u2013\u2014\u2212")


def new_code() -> str:
    # Security: secrets, not random: the codes must be unpredictable (60 bits each).
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def shown(code: str) -> str:
    """XXXX-XXXX-XXXX."""
    return "-".join(code[i:i + 4] for i in range(0, LENGTH, 4))


def canonical_recovery(raw: str) -> str | None:
    """Upper-case, without separators, confusables mapped; None unless 12 alphabet characters."""
    text = unicodedata.normalize("NFKC", raw).translate(SEPARATORS)
    if not text.isascii():  # before upper(): "ß" would become "SS", a dotless "ı" an "I"
        return None
    text = text.upper().translate(CONFUSABLES)
    if len(text) == LENGTH and all(ch in ALPHABET for ch in text):
        return text
    return None


def selector_of(code: str) -> str:
    """The stored selector of a canonical code: short, keyed, so it reveals nothing without the secret key."""
    return keyed_hash(SELECTOR_PURPOSE, code)[:SELECTOR]


def _set_token(user: User, rows: Iterable[Sequence[object]]) -> str:
    """A keyed hash naming one set: its row ids and Argon2 hashes (salted, so never the same twice)."""
    return keyed_hash(SET_PURPOSE, f"{user.id}|" + "|".join(sorted(f"{id_}:{hash_}" for id_, hash_ in rows)))


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode(errors="replace"))


def set_token(user: User) -> str:
    """Identifies the user's current set; a form that replaces the set carries it (one new set per form)."""
    return _set_token(user, db.session.execute(
        select(RecoveryCode.id, RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)).all())


def _lock_user(user: User) -> None:
    """Serialise set changes of one user: a second request waits here until the first one commits.

    PostgreSQL locks the user's row; SQLite ignores FOR UPDATE but lets one writer at a time anyway.
    """
    db.session.execute(select(User.id).where(User.id == user.id).with_for_update())


def _new_set(at: datetime) -> list[tuple[str, RecoveryCode]]:
    """Ten new codes, each with its row (unique selectors, Argon2id hashes), not yet added to the session.

    The hashing (ten Argon2 runs) happens here, before any lock is taken: a second request for the same
    user never waits for it (SQLite's one writer would otherwise be held for seconds on a busy machine).
    """
    by_selector: dict[str, str] = {}
    while len(by_selector) < CODES_PER_SET:
        code = new_code()
        by_selector.setdefault(selector_of(code), code)  # a selector already taken: draw another code
    return [(code, RecoveryCode(selector=selector, code_hash=passwords().hash(code), created_at=at))
            for selector, code in by_selector.items()]


def _insert_set(user: User, rows: list[tuple[str, RecoveryCode]]) -> list[str]:
    for _code, row in rows:
        row.user_id = user.id
        db.session.add(row)
    return [code for code, _row in rows]


def generate_set(user: User, at: datetime) -> list[str]:
    """Replace the user's codes with a new set; return the codes (the only time they exist in clear)."""
    rows = _new_set(at)
    _lock_user(user)
    # Security: the old set dies in the same transaction; after the lock, so two requests cannot both
    # delete the same old set and each insert their own (20 live codes on PostgreSQL).
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    return _insert_set(user, rows)


def replace_set(user: User, at: datetime, token: str) -> list[str] | None:
    """Replace the set that token names with a new one; None if it is no longer the current set.

    A refresh or a second click of "Generate new codes" carries the token of a set already replaced:
    it must not silently kill the codes just shown. On None the caller rolls back (rows may be deleted).
    """
    rows = _new_set(at)
    _lock_user(user)
    if not _same(set_token(user), token):
        return None
    # SQLite: two readers may both have seen the old token; the delete (one writer at a time) tells.
    deleted = db.session.execute(
        delete(RecoveryCode).where(RecoveryCode.user_id == user.id)
        .returning(RecoveryCode.id, RecoveryCode.code_hash)
    ).all()
    if not _same(_set_token(user, deleted), token):
        return None
    return _insert_set(user, rows)


def _counts(user: User) -> tuple[int, int]:
    """(codes in the set, codes still unused), in one query however often a request asks."""
    def load() -> tuple[int, int]:
        row = db.session.execute(
            select(func.count(), func.count(RecoveryCode.id).filter(RecoveryCode.used_at.is_(None)))
            .where(RecoveryCode.user_id == user.id)
        ).one()
        return int(row[0]), int(row[1])
    return remembered(RecoveryCode.__tablename__, ("counts", user.id), load)


def remaining(user: User) -> int:
    return _counts(user)[1]


def has_set(user: User) -> bool:
    return _counts(user)[0] > 0


def set_created_at(user: User) -> datetime | None:
    return db.session.scalar(select(func.min(RecoveryCode.created_at)).where(RecoveryCode.user_id == user.id))


def delete_set(user: User) -> None:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def drop_if_last_factor_gone(user: User, *, ip: str | None, keep: UserSession | None) -> None:
    """After a factor was removed: with no second factor left, the recovery codes go too (audited).

    Security: codes kept without a factor would be a second factor nobody manages; the next factor set up
    comes with a new set, shown once.
    """
    if not factors.is_on(user):
        delete_set(user)
        security_events.changed(Event.RECOVERY_DELETED, user=user, ip=ip, keep=keep)


class RecoveryMethod(Method):
    kind = "recovery"
    primary: ClassVar[bool] = False  # a way back in, not a way to turn two-step verification on

    @property
    def label(self) -> str:
        return _("Recovery code")

    def canonical(self, raw: str) -> str | None:
        return canonical_recovery(raw)

    @property
    def format_hint(self) -> str:
        return _("Enter a recovery code, like ABCD-EFGH-JKMN.")

    def is_enrolled(self, user: User) -> bool:
        return remaining(user) > 0

    def verify(self, user: User, code: str, *, now: datetime) -> Verdict:
        code = canonical_recovery(code) or ""
        row = db.session.scalar(
            select(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.selector == selector_of(code))
        ) if code else None
        # Security: exactly one Argon2 verification per attempt, whether or not a selector matched.
        if not passwords().verify(row.code_hash if row is not None else None, code) or row is None:
            return Verdict(ok=False, reason=Reason.INVALID)
        if row.used_at is not None:
            return Verdict(ok=False, reason=Reason.REPLAYED)
        # Security: single use by a conditional UPDATE; it commits with the sign-in or not at all. The row is
        # named by its hash as well as its id: a new set made while this check ran may reuse the id (SQLite
        # hands out the highest id again after a delete), and an old code must not use up a new one.
        consumed = rowcount(db.session.execute(
            update(RecoveryCode).where(RecoveryCode.id == row.id, RecoveryCode.code_hash == row.code_hash,
                                       RecoveryCode.used_at.is_(None))
            .values(used_at=now).execution_options(synchronize_session=False)
        ))
        return OK if consumed == 1 else Verdict(ok=False, reason=Reason.REPLAYED)
