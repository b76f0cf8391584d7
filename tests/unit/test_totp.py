"""TOTP helpers against RFC 6238 and an implementation of our own (tests/otp.py); the secret box."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import unquote

import pytest
from cryptography.fernet import InvalidToken
from flask import Flask

from portal.crypto import SecretBox
from portal.extensions import db
from portal.factors.base import Reason, Verdict
from portal.factors.totp import TotpMethod, accept_step
from portal.factors.totp_codes import (
    PERIOD,
    check_code,
    code_at,
    drift_offsets,
    future_skew_step,
    grouped,
    matching_step,
    new_secret,
    otpauth_uri,
    step_of,
)
from portal.models import TotpFactor, User
from portal.settings.totp import fernet_key
from tests import otp
from tests.support import FakeClock

B32_ALPHABET = re.compile(r"[A-Z2-7]+")

# --- RFC 6238 Appendix B (SHA-1) -----------------------------------------------------------------

RFC_ASCII_SECRET = b"12345678901234567890"
RFC_SECRET_B32 = base64.b32encode(RFC_ASCII_SECRET).decode().rstrip("=")
RFC_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


@pytest.mark.parametrize(("unix_time", "expected"), RFC_VECTORS)
def test_code_at_matches_rfc_6238_appendix_b(unix_time: int, expected: str) -> None:
    step = step_of(datetime.fromtimestamp(unix_time, UTC))
    assert step == unix_time // 30
    assert code_at(RFC_SECRET_B32, step) == expected[-6:]


@pytest.mark.parametrize(("unix_time", "expected"), RFC_VECTORS)
def test_the_independent_implementation_matches_rfc_6238_appendix_b(unix_time: int, expected: str) -> None:
    assert otp.hotp(RFC_ASCII_SECRET, unix_time // 30, digits=8) == expected
    assert otp.b32_key(RFC_SECRET_B32) == RFC_ASCII_SECRET
    assert otp.totp(RFC_SECRET_B32, datetime.fromtimestamp(unix_time, UTC)) == expected[-6:]


def test_code_at_agrees_with_oathtool() -> None:
    secret = new_secret()
    at = datetime(2026, 11, 23, 12, 0, 17, tzinfo=UTC)
    assert code_at(secret, step_of(at)) == otp.oathtool_code(secret, at)


def test_step_of_counts_30_second_steps_from_the_epoch() -> None:
    assert step_of(datetime(1970, 1, 1, 0, 0, 29, tzinfo=UTC)) == 0
    assert step_of(datetime(1970, 1, 1, 0, 0, 30, tzinfo=UTC)) == 1
    assert step_of(datetime(2026, 11, 23, 12, 0, 59, tzinfo=UTC)) == 1_795_435_200 // 30 + 1


# --- new_secret ----------------------------------------------------------------------------------


def test_new_secret_is_32_base32_characters_of_160_bits() -> None:
    secret = new_secret()
    assert len(secret) == 32
    assert "=" not in secret
    assert B32_ALPHABET.fullmatch(secret), secret
    assert len(base64.b32decode(secret)) == 20


def test_new_secrets_are_all_distinct() -> None:
    secrets = [new_secret() for _ in range(200)]
    assert len(set(secrets)) == 200


# --- otpauth_uri ---------------------------------------------------------------------------------


def test_otpauth_uri_carries_what_an_authenticator_app_needs() -> None:
    secret = new_secret()
    uri = otpauth_uri(secret, "ada+2fa@example.com", "2FA Portal")
    parsed = otp.parse_otpauth(uri)
    assert parsed["type"] == "totp"
    assert parsed["label_issuer"] == "2FA Portal"
    assert parsed["issuer"] == parsed["label_issuer"]
    assert parsed["account"] == "ada+2fa@example.com"
    assert parsed["secret"] == secret
    assert "=" not in parsed["secret"]
    assert parsed["algorithm"] == "SHA1"
    assert parsed["digits"] == "6"
    assert parsed["period"] == "30"


def test_otpauth_uri_puts_no_colon_inside_the_issuer_or_the_account() -> None:
    uri = otpauth_uri(new_secret(), "ada:lovelace@example.com", "Evil:Corp")
    parsed = otp.parse_otpauth(uri)
    label = uri.split("?", 1)[0].removeprefix("otpauth://totp/")
    assert unquote(label).count(":") == 1
    assert ":" not in parsed["label_issuer"]
    assert ":" not in parsed["account"]
    assert ":" not in parsed["issuer"]
    assert parsed["issuer"] == parsed["label_issuer"] == "EvilCorp"
    assert parsed["account"] == "adalovelace@example.com"


def test_otpauth_uri_percent_encodes_spaces() -> None:
    uri = otpauth_uri(new_secret(), "ada lovelace@example.com", "2FA Portal")
    assert "+" not in uri
    assert uri.startswith("otpauth://totp/2FA%20Portal:ada%20lovelace@example.com?")
    assert "issuer=2FA%20Portal" in uri
    parsed = otp.parse_otpauth(uri)
    assert parsed["account"] == "ada lovelace@example.com"
    assert parsed["issuer"] == "2FA Portal"


# --- grouped -------------------------------------------------------------------------------------


def test_grouped_splits_the_key_into_fours() -> None:
    assert grouped("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") == "ABCD EFGH IJKL MNOP QRST UVWX YZ23 4567"


# --- matching_step / check_code ------------------------------------------------------------------

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
AT = datetime(2026, 11, 23, 12, 0, 10, tzinfo=UTC)
NOW_STEP = int(AT.timestamp()) // 30


def code(offset: int) -> str:
    """The code an RFC 6238 phone shows offset steps away from AT (tests/otp.py, not pyotp)."""
    return otp.totp(SECRET, AT, step_offset=offset)


def test_the_fixed_window_has_no_colliding_codes() -> None:
    # The tests below rely on each step in ±12 having its own code (true for this secret and time).
    codes = [code(o) for o in range(-12, 13)]
    assert len(set(codes)) == len(codes)


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_codes_one_step_either_side_are_accepted(offset: int) -> None:
    assert matching_step(SECRET, code(offset), NOW_STEP, (-1, 0, 1)) == NOW_STEP + offset
    assert check_code(SECRET, code(offset), AT, drift_limit=10) == (NOW_STEP + offset, Verdict(ok=True))


@pytest.mark.parametrize(("offset", "skew"), [(-2, -60), (2, 60), (10, 300), (-10, -300)])
def test_codes_beyond_the_window_report_the_clock_skew(offset: int, skew: int) -> None:
    assert matching_step(SECRET, code(offset), NOW_STEP, (-1, 0, 1)) is None
    step, verdict = check_code(SECRET, code(offset), AT, drift_limit=10)
    assert step is None
    assert verdict == Verdict(ok=False, reason=Reason.CLOCK_SKEW, skew_seconds=skew)


@pytest.mark.parametrize("offset", [11, -11, 40])
def test_codes_beyond_the_drift_limit_are_invalid(offset: int) -> None:
    assert check_code(SECRET, code(offset), AT, drift_limit=10) == (None, Verdict(ok=False, reason=Reason.INVALID))


def test_a_smaller_drift_limit_narrows_the_skew_window() -> None:
    assert check_code(SECRET, code(3), AT, drift_limit=3)[1].skew_seconds == 90
    assert check_code(SECRET, code(4), AT, drift_limit=3) == (None, Verdict(ok=False, reason=Reason.INVALID))


def test_a_wrong_code_is_invalid() -> None:
    window = {code(o) for o in range(-11, 12)}
    wrong = next(c for c in (f"{n:06d}" for n in range(123457, 10**6, 7919)) if c not in window)
    assert matching_step(SECRET, wrong, NOW_STEP, range(-11, 12)) is None
    assert check_code(SECRET, wrong, AT, drift_limit=10) == (None, Verdict(ok=False, reason=Reason.INVALID))


def test_matching_step_returns_the_step_that_matched_not_the_first_offset() -> None:
    assert matching_step(SECRET, code(5), NOW_STEP, range(-10, 11)) == NOW_STEP + 5
    assert matching_step(SECRET, code(-7), NOW_STEP, drift_offsets(10)) == NOW_STEP - 7


def test_drift_offsets_go_outward_nearest_first() -> None:
    assert drift_offsets(3) == (2, -2, 3, -3)
    assert drift_offsets(1) == ()
    assert len(drift_offsets(10)) == 18


def test_period_is_30_seconds() -> None:
    assert PERIOD == 30


# --- accept_step (the conditional UPDATE that stops replays, even between racing requests) ------------


def test_accept_step_takes_only_steps_later_than_the_last_one(app: Flask, make_user: Callable[..., User],
                                                              clock: FakeClock) -> None:
    user = make_user()
    with app.app_context():
        factor = TotpFactor(user_id=user.id, secret_encrypted="x", created_at=clock(), confirmed_at=clock())
        db.session.add(factor)
        db.session.commit()
        assert accept_step(factor, 100, clock()) is True  # the first step ever
        db.session.commit()
        assert accept_step(factor, 100, clock()) is False  # the same step again
        assert accept_step(factor, 99, clock()) is False  # an earlier one
        assert accept_step(factor, 101, clock()) is True
        db.session.commit()
        stored = db.session.get(TotpFactor, factor.id)
        assert stored is not None
        assert stored.last_step == 101


def test_accept_step_refuses_the_burned_step_only(app: Flask, make_user: Callable[..., User],
                                                 clock: FakeClock) -> None:
    user = make_user()
    with app.app_context():
        factor = TotpFactor(user_id=user.id, secret_encrypted="x", created_at=clock(), confirmed_at=clock(),
                            last_step=100, burned_step=102)
        db.session.add(factor)
        db.session.commit()
        assert accept_step(factor, 102, clock()) is False
        assert accept_step(factor, 101, clock()) is True
        assert accept_step(factor, 103, clock()) is True
        db.session.commit()
        assert db.session.get(TotpFactor, factor.id).last_step == 103


# --- burning a step reported as clock skew ----------------------------------------------------------


def test_future_skew_step_is_the_step_ahead_only() -> None:
    assert future_skew_step(Verdict(ok=False, reason=Reason.CLOCK_SKEW, skew_seconds=90), AT) == NOW_STEP + 3
    assert future_skew_step(Verdict(ok=False, reason=Reason.CLOCK_SKEW, skew_seconds=-150), AT) is None
    assert future_skew_step(Verdict(ok=False, reason=Reason.INVALID), AT) is None
    assert future_skew_step(Verdict(ok=True), AT) is None


@pytest.mark.parametrize(("offset", "burned"), [(3, NOW_STEP + 3), (10, NOW_STEP + 10), (-4, None), (11, None)])
def test_verify_burns_a_future_step_it_reports_as_skew(app: Flask, make_user: Callable[..., User],
                                                       offset: int, burned: int | None) -> None:
    user = make_user()
    with app.app_context():
        factor = TotpFactor(user_id=user.id, secret_encrypted=SecretBox(app.config["TOTP_ENCRYPTION_KEYS"])
                            .seal(SECRET), created_at=AT, confirmed_at=AT)
        db.session.add(factor)
        db.session.commit()
        method = TotpMethod(drift_limit=10)
        assert method.verify(user, code(offset), now=AT).ok is False
        db.session.commit()
        assert db.session.get(TotpFactor, factor.id).burned_step == burned
        if offset < 0:
            return  # a past step is never in the window again: nothing to burn
        when_due = datetime.fromtimestamp((NOW_STEP + offset) * 30 + 5, UTC)
        verdict = method.verify(user, code(offset), now=when_due)
        # When its time comes a burned code is a replay; one beyond the drift limit was never reported.
        assert verdict == (Verdict(ok=False, reason=Reason.REPLAYED) if burned else Verdict(ok=True))


# --- SecretBox -----------------------------------------------------------------------------------


def test_secret_box_round_trips_and_hides_the_secret() -> None:
    box = SecretBox((fernet_key(),))
    secret = new_secret()
    token = box.seal(secret)
    assert secret not in token
    assert box.open(token) == secret


def test_secret_box_opens_tokens_sealed_under_an_older_key() -> None:
    new, old = fernet_key(), fernet_key()
    token = SecretBox((old,)).seal("OLDSECRET")
    assert SecretBox((new, old)).open(token) == "OLDSECRET"
    with pytest.raises(InvalidToken):
        SecretBox((new,)).open(token)


def test_rotate_re_encrypts_under_the_newest_key() -> None:
    new, old = fernet_key(), fernet_key()
    token = SecretBox((old,)).seal("ROTATEME")
    rotated = SecretBox((new, old)).rotate(token)
    assert rotated != token
    assert SecretBox((new,)).open(rotated) == "ROTATEME"
    with pytest.raises(InvalidToken):
        SecretBox((old,)).open(rotated)


def test_a_box_without_the_key_cannot_open_the_token() -> None:
    token = SecretBox((fernet_key(),)).seal("SECRET")
    with pytest.raises(InvalidToken):
        SecretBox((fernet_key(),)).open(token)
