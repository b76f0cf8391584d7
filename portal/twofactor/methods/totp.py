"""Authenticator apps (RFC 6238): HMAC-SHA1, 6 digits, 30 s steps, steps t-1 … t+1, no replay."""

from __future__ import annotations

import base64
import hmac
import secrets
from datetime import datetime
from urllib.parse import quote, urlencode

import pyotp
from flask_babel import gettext as _
from sqlalchemy import or_, select, update
from sqlalchemy.orm.attributes import set_committed_value

from portal.crypto import secret_box
from portal.extensions import db
from portal.memo import remembered, unaffected
from portal.models import TotpFactor, User
from portal.twofactor.methods.base import OK, Method, Reason, Verdict

PERIOD = 30
DIGITS = 6
SECRET_BYTES = 20  # 160 bits (RFC 4226 recommends 160)


def new_secret() -> str:
    """A random 160-bit secret in base32 without padding (32 characters)."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode().rstrip("=")


def step_of(at: datetime) -> int:
    return int(at.timestamp()) // PERIOD


def code_at(secret: str, step: int) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD).generate_otp(step)


def matching_step(secret: str, code: str, center: int, offsets: range | tuple[int, ...]) -> int | None:
    """The step among center+offsets whose code equals code (constant-time compare), or None."""
    found = None
    for offset in offsets:
        # Security: compare every candidate with compare_digest; no early exit on the first match.
        if hmac.compare_digest(code_at(secret, center + offset), code) and found is None:
            found = center + offset
    return found


def drift_offsets(limit: int) -> tuple[int, ...]:
    """±2 … ±limit, nearest first."""
    return tuple(o for n in range(2, limit + 1) for o in (n, -n))


def otpauth_uri(secret: str, account: str, issuer: str) -> str:
    """otpauth://totp/ISSUER:ACCOUNT?secret=…&issuer=… (Key Uri Format; no colon inside either part)."""
    label = quote(issuer.replace(":", ""), safe="") + ":" + quote(account.replace(":", ""), safe="@")
    query = urlencode({"secret": secret, "issuer": issuer.replace(":", ""), "algorithm": "SHA1",
                       "digits": DIGITS, "period": PERIOD}, quote_via=quote)
    return f"otpauth://totp/{label}?{query}"


def grouped(secret: str) -> str:
    """ABCD EFGH …: the key as people type it."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def factors_of(user: User) -> list[TotpFactor]:
    """The user's authenticator rows, read once: at most one confirmed and one pending setup (unique indexes)."""
    return remembered(TotpFactor.__tablename__, ("rows", user.id), lambda: list(db.session.scalars(
        select(TotpFactor).where(TotpFactor.user_id == user.id).order_by(TotpFactor.id)
    )))


def confirmed_factor(user: User) -> TotpFactor | None:
    return next((f for f in factors_of(user) if f.confirmed_at is not None), None)


def accept_step(factor: TotpFactor, step: int, at: datetime) -> bool:
    """Record step as used if it is later than the last one; False if another request got there first.

    Security: one conditional UPDATE, so two racing requests with the same code cannot both win,
    on SQLite and PostgreSQL alike; a code at or before the last accepted step is a replay, and so is
    a code at the burned step (see burn_future_step).
    """
    result = db.session.execute(unaffected(  # which factor is confirmed stays as it was
        update(TotpFactor)
        .where(TotpFactor.id == factor.id, or_(TotpFactor.last_step.is_(None), TotpFactor.last_step < step),
               or_(TotpFactor.burned_step.is_(None), TotpFactor.burned_step != step))
        .values(last_step=step, last_used_at=at)
        .execution_options(synchronize_session=False)
    ))
    if result.rowcount != 1:
        return False
    set_committed_value(factor, "last_step", step)  # what the database now holds, without reading it back
    set_committed_value(factor, "last_used_at", at)
    return True


def future_skew_step(verdict: Verdict, at: datetime) -> int | None:
    """The step a CLOCK_SKEW verdict matched, if it lies ahead of at; None for any other verdict."""
    if verdict.reason is not Reason.CLOCK_SKEW or verdict.skew_seconds is None or verdict.skew_seconds <= 0:
        return None
    return step_of(at) + verdict.skew_seconds // PERIOD


def burn_future_step(factor: TotpFactor, verdict: Verdict, at: datetime) -> None:
    """Remember the future step a refused code was reported for, so that code is refused when its time comes.

    Security: "about 90 seconds ahead" tells whoever sent the code that it will be valid in 90 seconds;
    without this a guess that hits a future step (up to the drift limit) becomes a working code later.
    A past step needs nothing: the window never reaches back to it. The caller commits (also on failure).
    """
    step = future_skew_step(verdict, at)
    if step is not None:
        db.session.execute(update(TotpFactor).where(TotpFactor.id == factor.id).values(burned_step=step))


def check_code(secret: str, code: str, at: datetime, drift_limit: int) -> tuple[int | None, Verdict]:
    """Match code against the window; return (step, OK) or (None, a failed Verdict)."""
    now_step = step_of(at)
    step = matching_step(secret, code, now_step, (-1, 0, 1))
    if step is not None:
        return step, OK
    skewed = matching_step(secret, code, now_step, drift_offsets(drift_limit))
    if skewed is not None:
        return None, Verdict(ok=False, reason=Reason.CLOCK_SKEW, skew_seconds=(skewed - now_step) * PERIOD)
    return None, Verdict(ok=False, reason=Reason.INVALID)


class TotpMethod(Method):
    kind = "totp"

    def __init__(self, drift_limit: int = 10) -> None:
        self.drift_limit = drift_limit

    @property
    def label(self) -> str:
        return _("Authenticator app")

    def is_enrolled(self, user: User) -> bool:
        return confirmed_factor(user) is not None

    def verify(self, user: User, code: str, *, now: datetime) -> Verdict:
        factor = confirmed_factor(user)
        if factor is None:
            return Verdict(ok=False, reason=Reason.INVALID)
        step, verdict = check_code(secret_box().open(factor.secret_encrypted), code, now, self.drift_limit)
        if step is None:
            burn_future_step(factor, verdict, now)
            return verdict
        if step == factor.burned_step or (factor.last_step is not None and step <= factor.last_step):
            return Verdict(ok=False, reason=Reason.REPLAYED)
        return OK if accept_step(factor, step, now) else Verdict(ok=False, reason=Reason.REPLAYED)
