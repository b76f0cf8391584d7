"""Recovery codes: 10 per set, 60 bits each (12 Crockford base32 characters shown XXXX-XXXX-XXXX).

Stored only as Argon2id hashes. The first 4 characters are a non-secret selector, unique within a
set, so a redemption costs exactly one Argon2 verification (a dummy one when no selector matches).
"""

from __future__ import annotations

import secrets
import unicodedata
from datetime import datetime
from typing import ClassVar

from flask_babel import gettext as _
from sqlalchemy import delete, func, select, update

from portal.crypto import passwords
from portal.extensions import db
from portal.models import RecoveryCode, User
from portal.twofactor.methods.base import OK, Method, Reason, Verdict

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
LENGTH = 12  # 12 × 5 bits = 60 bits
SELECTOR = 4
CODES_PER_SET = 10
LOW_WATER = 3  # warn at every sign-in from this many codes left
# Crockford decoding: letters people type for digits they read.
CONFUSABLES = str.maketrans({"I": "1", "L": "1", "O": "0"})
SEPARATORS = str.maketrans("", "", " -\u00a0\u3000\t\u2010\u2011\u2012\u2013\u2014\u2212")


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def shown(code: str) -> str:
    """XXXX-XXXX-XXXX."""
    return "-".join(code[i:i + 4] for i in range(0, LENGTH, 4))


def canonical_recovery(raw: str) -> str | None:
    """Upper-case, without separators, confusables mapped; None unless 12 alphabet characters."""
    text = unicodedata.normalize("NFKC", raw).translate(SEPARATORS).upper().translate(CONFUSABLES)
    if len(text) == LENGTH and all(ch in ALPHABET for ch in text):
        return text
    return None


def generate_set(user: User, at: datetime) -> list[str]:
    """Replace the user's codes with a new set; return the codes (the only time they exist in clear)."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes: list[str] = []
    while len(codes) < CODES_PER_SET:
        code = new_code()
        if all(code[:SELECTOR] != other[:SELECTOR] for other in codes):
            codes.append(code)
    for code in codes:
        db.session.add(RecoveryCode(user_id=user.id, selector=code[:SELECTOR],
                                    code_hash=passwords().hash(code), created_at=at))
    return codes


def remaining(user: User) -> int:
    return db.session.scalar(
        select(func.count()).select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    ) or 0


def has_set(user: User) -> bool:
    return db.session.scalar(select(RecoveryCode.id).where(RecoveryCode.user_id == user.id).limit(1)) is not None


def set_created_at(user: User) -> datetime | None:
    return db.session.scalar(select(func.min(RecoveryCode.created_at)).where(RecoveryCode.user_id == user.id))


def delete_set(user: User) -> None:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


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
            select(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.selector == code[:SELECTOR])
        ) if code else None
        # Security: exactly one Argon2 verification per attempt, whether or not a selector matched.
        if not passwords().verify(row.code_hash if row is not None else None, code) or row is None:
            return Verdict(ok=False, reason=Reason.INVALID)
        if row.used_at is not None:
            return Verdict(ok=False, reason=Reason.REPLAYED)
        # Security: single use by a conditional UPDATE; it commits with the sign-in or not at all.
        consumed = db.session.execute(
            update(RecoveryCode).where(RecoveryCode.id == row.id, RecoveryCode.used_at.is_(None))
            .values(used_at=now).execution_options(synchronize_session=False)
        ).rowcount
        return OK if consumed == 1 else Verdict(ok=False, reason=Reason.REPLAYED)
