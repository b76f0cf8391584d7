"""The contract every second-factor Method keeps, run against each method the app registers.

To put a new method (SMS, recovery codes) under the contract, write a Harness for it (how to enroll a
user, how to get a code the method accepts now, how to get one it must reject) and append it to
HARNESSES. Every test below then runs for it, on SQLite and on PostgreSQL, with real commits.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import ClassVar

import pytest
from flask import Flask

from portal.extensions import db
from portal.models import User
from portal.twofactor import methods, totp_enrollment
from portal.twofactor.methods import Method, Reason, Verdict
from tests import otp
from tests.support import FakeClock

# --- harnesses -----------------------------------------------------------------------------------


class Harness(ABC):
    """Knows how to drive one kind of method from a test; one instance per test."""

    kind: ClassVar[str]

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
        """A code the method must accept for user at the clock's time (the clock may be moved)."""

    @abstractmethod
    def wrong_code(self, user: User) -> str:
        """A code the method must reject as INVALID for user at the clock's time (not a near miss)."""


class TotpHarness(Harness):
    """An authenticator app: codes come from tests/otp.py, our own RFC 6238 implementation."""

    kind = "totp"

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


HARNESSES = [
    pytest.param(TotpHarness, id="totp"),
    # pytest.param(SmsHarness, id="sms"), pytest.param(RecoveryCodeHarness, id="recovery"), …
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


@pytest.fixture
def alice(make_user: Callable[..., User]) -> User:
    return make_user("alice@example.com")


@pytest.fixture
def bob(make_user: Callable[..., User]) -> User:
    return make_user("bob@example.com")


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
    assert verify(app, method, bob, "123456", clock).ok is False
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


@pytest.mark.parametrize("code", ["000000", "999999", "012345"])
def test_verify_never_raises_on_six_digits(app: Flask, method: Method, harness: Harness, clock: FakeClock,
                                           alice: User, bob: User, code: str) -> None:
    harness.enroll(alice)
    for user in (alice, bob):
        verdict = verify(app, method, user, code, clock)
        assert verdict.ok or isinstance(verdict.reason, Reason), verdict
