"""Authenticator codes (RFC 6238): HMAC-SHA1, 6 digits, 30 s steps, steps t-1 … t+1; pure arithmetic, no storage."""

from __future__ import annotations

import base64
import hmac
import secrets
from datetime import datetime
from urllib.parse import quote, urlencode

import pyotp

from portal.factors.base import OK, Reason, Verdict

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


def future_skew_step(verdict: Verdict, at: datetime) -> int | None:
    """The step a CLOCK_SKEW verdict matched, if it lies ahead of at; None for any other verdict."""
    if verdict.reason is not Reason.CLOCK_SKEW or verdict.skew_seconds is None or verdict.skew_seconds <= 0:
        return None
    return step_of(at) + verdict.skew_seconds // PERIOD


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
