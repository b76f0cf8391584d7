"""The contract every second-factor Method keeps, run against each method the app registers.

To put a new method under the contract, write a Harness for it (how to enroll a user, how to get a
code the method accepts now, how to get one it must reject) and append it to HARNESSES. Every test
below then runs for it, on SQLite and on PostgreSQL, with real commits. SMS runs once per provider: its
codes come from the loopback Twilio double's inbox or the console outbox, never from a mock.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import pytest
from flask import Flask
from sqlalchemy import select

from portal import factors
from portal.extensions import db
from portal.factors import Method, Reason, Verdict
from portal.factors import sms as sms_enrollment
from portal.factors import totp as totp_enrollment
from portal.factors.recovery import ALPHABET, LENGTH, generate_set, selector_of
from portal.models import RecoveryCode, SmsFactor, User
from portal.sms import delivery
from portal.sms.base import Purpose
from tests import otp
from tests.support import FakeClock
from tests.twilio_double.fixtures import Inbox

# --- harnesses -----------------------------------------------------------------------------------


class Harness(ABC):
    """Knows how to drive one kind of method from a test; one instance per test."""

    kind: ClassVar[str]
    primary: ClassVar[bool] = True  # whether the method turns two-step verification on
    unfinished: ClassVar[bool] = False  # whether an enrollment can be started and left unconfirmed
    # Codes in the method's canonical form that no enrollment issues (any user, any time): the method
    # must refuse them without an exception. Each harness declares its own format.
    well_formed: ClassVar[tuple[str, ...]]

    def __init__(self, app: Flask, clock: FakeClock, inbox: Inbox) -> None:
        self.app = app
        self.clock = clock
        self.inbox = inbox  # the texts the app's SMS provider delivered

    @abstractmethod
    def enroll(self, user: User) -> None:
        """Enroll user the way the portal does, and commit."""

    def begin_enrollment(self, user: User) -> None:
        """Start an enrollment and leave it unfinished (a setup not yet confirmed), and commit.

        Only for harnesses with unfinished = True; the tests that need it run for those alone.
        """
        raise NotImplementedError(f"{self.kind}: no unfinished enrollment")

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
    unfinished = True
    well_formed = ("000000", "999999", "012345")

    def __init__(self, app: Flask, clock: FakeClock, inbox: Inbox) -> None:
        super().__init__(app, clock, inbox)
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

    def __init__(self, app: Flask, clock: FakeClock, inbox: Inbox) -> None:
        super().__init__(app, clock, inbox)
        self.codes: dict[int, list[str]] = {}
        self.handed_out: list[str] = []

    def enroll(self, user: User) -> None:
        with self.app.app_context():
            codes = generate_set(user, self.clock())
            db.session.commit()
        self.codes[user.id] = codes

    # unfinished = False: a set exists in full or not at all; there is no unfinished state.

    def unused_selectors(self, user: User) -> set[str]:
        with self.app.app_context():
            return set(db.session.scalars(select(RecoveryCode.selector).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))))

    def selector(self, code: str) -> str:
        with self.app.app_context():
            return selector_of(code)

    def valid_code(self, user: User) -> str:
        """The next code of the set that is neither spent nor handed out before."""
        unused = self.unused_selectors(user)
        code = next(c for c in self.codes[user.id] if self.selector(c) in unused and c not in self.handed_out)
        self.handed_out.append(code)
        return code

    def wrong_code(self, user: User) -> str:
        """Not in the set, but with the selector of an unspent code, the one last handed out if any.

        The selector picks that code's row, so only the hash can refuse it, and a refusal that marked the
        row used would spend the valid code a test holds.
        """
        unused = self.unused_selectors(user)
        codes = self.codes[user.id]
        candidates = [c for c in (*reversed(self.handed_out), *codes)
                      if c in codes and self.selector(c) in unused]
        wanted = self.selector(candidates[0])
        with self.app.app_context():  # the selector is a short keyed hash: search for a code sharing it
            for n in range(1, 2**24):
                guess = "".join(ALPHABET[(n >> (5 * i)) % 32] for i in range(LENGTH))
                if guess not in codes and selector_of(guess) == wanted:
                    return guess
        raise AssertionError("no code shares the selector")  # 16-bit selectors: found within ~65 000 tries


class SmsHarness(Harness):
    """A phone: enrolled through sms_enrollment; each code is read from the phone's texts after a send."""

    kind = "sms"
    unfinished = True
    provider: ClassVar[str]
    well_formed = ("000000", "999999", "012345")

    def __init__(self, app: Flask, clock: FakeClock, inbox: Inbox) -> None:
        super().__init__(app, clock, inbox)
        self.live: dict[int, str] = {}  # the last sign-in code texted to each user

    @staticmethod
    def phone(user: User) -> str:
        return f"+86138{user.id:08d}"  # one mobile number per user: no user reaches another's caps

    def _send(self, factor: SmsFactor, purpose: Purpose) -> None:
        """Text a code to factor's phone, waiting out the resend cooldown first if need be."""
        wait = delivery.send(factor, purpose, language="en", now=self.clock())
        if wait is not None:
            assert wait.reason == "cooldown", wait
            self.clock.current = wait.retry_at
            wait = delivery.send(factor, purpose, language="en", now=self.clock())
        assert wait is None, wait

    def begin_enrollment(self, user: User) -> None:
        with self.app.app_context():
            self._send(sms_enrollment.start(user, self.phone(user), self.clock()), Purpose.ENROLL)
            db.session.commit()

    def enroll(self, user: User) -> None:
        with self.app.app_context():
            self._send(sms_enrollment.start(user, self.phone(user), self.clock()), Purpose.ENROLL)
            code = self.inbox.last_code(self.phone(user))
            verdict = sms_enrollment.confirm(user, code, self.clock(), ip="127.0.0.1")
            assert verdict.ok, verdict
            db.session.commit()

    def valid_code(self, user: User) -> str:
        """Challenge (a sign-in text, after the cooldown) and read the code from the phone."""
        with self.app.app_context():
            method = factors.get("sms")
            assert method is not None
            verdict = method.challenge(user, now=self.clock())
            if verdict.reason is Reason.COOLDOWN and verdict.retry_at is not None:
                self.clock.current = verdict.retry_at
                verdict = method.challenge(user, now=self.clock())
            assert verdict.ok, verdict
            db.session.commit()
        self.live[user.id] = self.inbox.last_code(self.phone(user))
        return self.live[user.id]

    def wrong_code(self, user: User) -> str:
        """Not the code that is out (one is sent first if none is), so only the comparison refuses it."""
        if user.id not in self.live:
            self.valid_code(user)
        live = self.live[user.id]
        return next(c for c in (f"{n:06d}" for n in range(314159, 10**6, 7919)) if c != live)


class SmsVerifyHarness(SmsHarness):
    provider = "twilio_verify"


class SmsMessagingHarness(SmsHarness):
    provider = "twilio_messaging"


class SmsConsoleHarness(SmsHarness):
    provider = "console"


HARNESSES = [
    pytest.param(TotpHarness, id="totp"),
    pytest.param(RecoveryHarness, id="recovery"),
    pytest.param(SmsVerifyHarness, id="sms-twilio_verify"),
    pytest.param(SmsMessagingHarness, id="sms-twilio_messaging"),
    pytest.param(SmsConsoleHarness, id="sms-console"),
]
# The harnesses whose enrollment can be left unfinished: the tests that need one run over these only.
UNFINISHED = [param for param in HARNESSES if param.values[0].unfinished]  # type: ignore[attr-defined]


# --- fixtures and helpers ------------------------------------------------------------------------


@pytest.fixture(params=HARNESSES)
def harness_class(request: pytest.FixtureRequest) -> type[Harness]:
    return request.param


@pytest.fixture
def sms_provider(harness_class: type[Harness]) -> str:
    """The SMS harnesses' provider; the others run with the console one (they send no text)."""
    return getattr(harness_class, "provider", "console")


@pytest.fixture
def settings(sms_settings: dict[str, object]) -> dict[str, object]:
    return dict(sms_settings)


@pytest.fixture
def harness(harness_class: type[Harness], app: Flask, clock: FakeClock, sms_inbox: Inbox) -> Harness:
    return harness_class(app, clock, sms_inbox)


@pytest.fixture
def method(app: Flask, harness: Harness) -> Method:
    with app.app_context():
        found = factors.get(harness.kind)
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


@pytest.mark.parametrize("harness_class", UNFINISHED, indirect=True)
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
