"""The contract every second-factor Method keeps, run against each method the app registers.

To put a new method (SMS, recovery codes) under the contract, write a Harness for it (how to enroll a
user, how to get a code the method accepts now, how to get one it must reject) and append it to
HARNESSES. Every test below then runs for it, on SQLite and on PostgreSQL, with real commits.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import pytest
from flask import Flask
from sqlalchemy import select

from portal.extensions import db
from portal.models import RecoveryCode, User
from portal.twofactor import methods, totp_enrollment
from portal.twofactor.methods import Method, Reason, Verdict
from portal.twofactor.methods.recovery import ALPHABET, LENGTH, SELECTOR, generate_set
from tests import otp
from tests.support import FakeClock

# --- harnesses -----------------------------------------------------------------------------------


class Harness(ABC):
    """Knows how to drive one kind of method from a test; one instance per test."""

    kind: ClassVar[str]
    primary: ClassVar[bool] = True  # whether the method turns two-step verification on
    # Codes in the method's canonical form that no enrollment issues (any user, any time): the method
    # must refuse them without an exception. Each harness declares its own format.
    well_formed: ClassVar[tuple[str, ...]]

    def __init__(self, app: Flask, clock: FakeClock) -> None:
        self.app = app
        self.clock = clock

    @abstractmethod
    def enroll(self, user: User) -> None:
        """Enroll user the way the portal does, and commit."""

    def begin_enrollment(self, user: User) -> None:
        """Start an enrollment and leave it unfinished (a setup not yet confirmed), and commit."""
        pytest.skip(f"{self.kind}: this harness has no unfinished enrollment")

    @abstractmethod
    def valid_code(self, user: User) -> str:
        """A code the method must accept for user at the clock's time (the clock may be moved).

        In canonical form (what verify() receives); never one already spent.
        """

    @abstractmethod
    def wrong_code(self, user: User) -> str:
        """A code in canonical form the method must reject as INVALID for user at the clock's time."""


class TotpHarness(Harness):
    """An authenticator app: codes come from tests/otp.py, our own RFC 6238 implementation."""

    kind = "totp"
    well_formed = ("000000", "999999", "012345")

    def __init__(self, app: Flask, clock: FakeClock) -> None:
        super().__init__(app, clock)
        self.secrets: dict[int, str] = {}

    def enroll(self, user: User) -> None:
        with self.app.app_context():
            at = self.clock()
            factor = totp_enrollment.start(user, at)
            secret = totp_enrollment.pending_secret(factor)
            verdict = totp_enrollment.confirm(user, otp.totp(secret, at), at, ip="127.0.0.1")
            assert verdict.ok, verdict
            db.session.commit()
        self.secrets[user.id] = secret

    def begin_enrollment(self, user: User) -> None:
        with self.app.app_context():
            totp_enrollment.start(user, self.clock())
            db.session.commit()

    def valid_code(self, user: User) -> str:
        # The confirming code's step is spent: the next step's code is the first one a sign-in may use.
        self.clock.advance(30)
        return otp.totp(self.secrets[user.id], self.clock())

    def wrong_code(self, user: User) -> str:
        with self.app.app_context():
            limit = self.app.config["TOTP_DRIFT_STEPS"]
        secret, at = self.secrets[user.id], self.clock()
        near = {otp.totp(secret, at, step_offset=o) for o in range(-limit - 2, limit + 3)}
        return next(c for c in (f"{n:06d}" for n in range(314159, 10**6, 7919)) if c not in near)


class RecoveryHarness(Harness):
    """Recovery codes: enrolling makes a set (kept here, the only place the codes exist in clear)."""

    kind = "recovery"
    primary = False  # a way back in, not a way to turn two-step verification on
    well_formed = ("000000000000", "ZZZZZZZZZZZZ", "0123456789AB")

    def __init__(self, app: Flask, clock: FakeClock) -> None:
        super().__init__(app, clock)
        self.codes: dict[int, list[str]] = {}
        self.handed_out: list[str] = []

    def enroll(self, user: User) -> None:
        with self.app.app_context():
            codes = generate_set(user, self.clock())
            db.session.commit()
        self.codes[user.id] = codes

    # begin_enrollment: a set exists in full or not at all; there is no unfinished state to skip past.

    def unused_selectors(self, user: User) -> set[str]:
        with self.app.app_context():
            return set(db.session.scalars(select(RecoveryCode.selector).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))))

    def valid_code(self, user: User) -> str:
        """The next code of the set that is neither spent nor handed out before."""
        unused = self.unused_selectors(user)
        code = next(c for c in self.codes[user.id] if c[:SELECTOR] in unused and c not in self.handed_out)
        self.handed_out.append(code)
        return code

    def wrong_code(self, user: User) -> str:
        """Not in the set, but with the selector of an unspent code, the one last handed out if any.

        The selector picks that code's row, so only the hash can refuse it, and a refusal that marked the
        row used would spend the valid code a test holds.
        """
        unused = self.unused_selectors(user)
        codes = self.codes[user.id]
        candidates = [c for c in (*reversed(self.handed_out), *codes) if c in codes and c[:SELECTOR] in unused]
        selector = candidates[0][:SELECTOR]
        tails = (ch * (LENGTH - SELECTOR) for ch in ALPHABET)
        return next(selector + tail for tail in tails if selector + tail not in codes)


HARNESSES = [
    pytest.param(TotpHarness, id="totp"),
    pytest.param(RecoveryHarness, id="recovery"),
    # pytest.param(SmsHarness, id="sms"), …
]


# --- fixtures and helpers ------------------------------------------------------------------------


@pytest.fixture(params=HARNESSES)
def harness(request: pytest.FixtureRequest, app: Flask, clock: FakeClock) -> Harness:
    return request.param(app, clock)


@pytest.fixture
def method(app: Flask, harness: Harness) -> Method:
    with app.app_context():
        found = methods.get(harness.kind)
    assert found is not None, f"the app registers no {harness.kind!r} method"
    return found


def verify(app: Flask, method: Method, user: User, code: str, clock: FakeClock) -> Verdict:
    """One verification as a request makes it: its own app context, then a commit."""
    with app.app_context():
        verdict = method.verify(user, code, now=clock())
        db.session.commit()
    assert isinstance(verdict, Verdict), verdict
    return verdict


def is_enrolled(app: Flask, method: Method, user: User) -> bool:
    with app.app_context():
        enrolled = method.is_enrolled(user)
    assert isinstance(enrolled, bool), enrolled
    return enrolled


# --- the contract --------------------------------------------------------------------------------


def test_kind_and_label_are_non_empty_strings(app: Flask, method: Method, harness: Harness) -> None:
    assert isinstance(method.kind, str)
    assert method.kind == harness.kind
    with app.test_request_context():
        label = method.label
    assert isinstance(label, str)
    assert label.strip()


def test_format_hint_is_a_non_empty_string(app: Flask, method: Method) -> None:
    with app.test_request_context():
        hint = method.format_hint
    assert isinstance(hint, str)
    assert hint.strip()


def test_primary_is_what_the_method_declares(method: Method, harness: Harness) -> None:
    assert method.primary is harness.primary


def test_codes_given_to_verify_are_in_canonical_form(method: Method, harness: Harness, alice: User) -> None:
    """What the harness hands verify() is what canonical() makes of it (and canonical() is idempotent)."""
    harness.enroll(alice)
    for code in (harness.valid_code(alice), harness.wrong_code(alice), *harness.well_formed):
        assert method.canonical(code) == code, code


def test_is_enrolled_only_after_enrollment(app: Flask, method: Method, harness: Harness,
                                           alice: User, bob: User) -> None:
    assert is_enrolled(app, method, alice) is False
    harness.enroll(alice)
    assert is_enrolled(app, method, alice) is True
    assert is_enrolled(app, method, bob) is False


def test_an_unfinished_enrollment_does_not_count(app: Flask, method: Method, harness: Harness,
                                                 alice: User) -> None:
    harness.begin_enrollment(alice)
    assert is_enrolled(app, method, alice) is False
    harness.enroll(alice)
    assert is_enrolled(app, method, alice) is True


def test_a_wrong_code_is_invalid(app: Flask, method: Method, harness: Harness, clock: FakeClock,
                                 alice: User) -> None:
    harness.enroll(alice)
    verdict = verify(app, method, alice, harness.wrong_code(alice), clock)
    assert verdict.ok is False
    assert verdict.reason == Reason.INVALID


def test_a_valid_code_is_accepted_once(app: Flask, method: Method, harness: Harness, clock: FakeClock,
                                       alice: User) -> None:
    harness.enroll(alice)
    code = harness.valid_code(alice)
    assert verify(app, method, alice, code, clock).ok is True
    replayed = verify(app, method, alice, code, clock)
    assert replayed.ok is False
    assert replayed.reason == Reason.REPLAYED


def test_a_wrong_code_does_not_spend_the_valid_one(app: Flask, method: Method, harness: Harness,
                                                   clock: FakeClock, alice: User) -> None:
    harness.enroll(alice)
    code = harness.valid_code(alice)
    assert verify(app, method, alice, harness.wrong_code(alice), clock).ok is False
    assert verify(app, method, alice, code, clock).ok is True


def test_a_user_who_is_not_enrolled_is_refused_without_an_exception(
        app: Flask, method: Method, harness: Harness, clock: FakeClock, alice: User, bob: User) -> None:
    assert verify(app, method, bob, harness.well_formed[0], clock).ok is False
    harness.enroll(alice)
    alices_code = harness.valid_code(alice)
    assert verify(app, method, bob, alices_code, clock).ok is False  # another user's code opens nothing
    assert verify(app, method, alice, alices_code, clock).ok is True


def test_challenge_returns_a_verdict(app: Flask, method: Method, harness: Harness, clock: FakeClock,
                                     alice: User, bob: User) -> None:
    harness.enroll(alice)
    for user in (alice, bob):
        with app.app_context():
            verdict = method.challenge(user, now=clock())
            db.session.commit()
        assert isinstance(verdict, Verdict), verdict


def test_verify_never_raises_on_well_formed_codes(app: Flask, method: Method, harness: Harness,
                                                  clock: FakeClock, alice: User, bob: User) -> None:
    harness.enroll(alice)
    for code in harness.well_formed:
        for user in (alice, bob):
            verdict = verify(app, method, user, code, clock)
            assert verdict.ok is False, (code, verdict)
            assert isinstance(verdict.reason, Reason), (code, verdict)


TYPED = ["", " ", "-", "000000", "999999", "０１２３４５", "12 34 56", "12345", "1234567", "ABCD-EFGH-JKMN",
         "abcd efgh jkmn", "ＡＢＣＤ－ＥＦＧＨ－ＪＫＭＮ", "0000-0000-0000", "\x00" * 6, "é" * 6, "é" * 12,
         "1" * 1000, "<script>", "' OR 1=1 --", "\u202e123456"]


@pytest.mark.parametrize("raw", TYPED, ids=[f"typed{i}" for i in range(len(TYPED))])
def test_canonical_then_verify_never_raises(app: Flask, method: Method, harness: Harness, clock: FakeClock,
                                            alice: User, raw: str) -> None:
    """What a form may carry goes through canonical() (None: a 400), then verify(), as the routes do."""
    harness.enroll(alice)
    code = method.canonical(raw)
    assert code is None or isinstance(code, str), code
    if code is not None:
        assert method.canonical(code) == code
        verdict = verify(app, method, alice, code, clock)
        assert verdict.ok or isinstance(verdict.reason, Reason), verdict
