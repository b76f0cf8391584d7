"""The gate's decisions, without HTTP: canonical form, counting, delays, the lock, reset, audit rows, faults.

Every page that checks a code calls gate.check, so these are the rules of all of them at once. The database
is the test run's SQLite file (no server); time comes from the injected clock.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from flask import Flask
from sqlalchemy import func, select

from portal.extensions import db
from portal.factors import gate
from portal.factors.base import Method, Reason, Verdict
from portal.factors.recovery import RecoveryMethod, generate_set
from portal.models import AuditEvent, User
from portal.sms.base import Fault, SmsError
from tests.support import FakeClock, FixedCodeMethod

CODE = "246810"
WRONG = "135791"


class FaultyMethod(FixedCodeMethod):
    """A factor whose provider is down: every check raises, as an SMS provider's outage does."""

    def verify(self, user: User, code: str, *, now: datetime) -> Verdict:
        raise SmsError(Fault.UNAVAILABLE, retryable=True)


@pytest.fixture
def settings() -> dict[str, object]:
    return {"SECOND_FACTOR_FREE_FAILURES": 2, "SECOND_FACTOR_LOCK_AT": 5, "SECOND_FACTOR_MAX_DELAY": 60}


@pytest.fixture
def method(second_factor: FixedCodeMethod, alice: User) -> FixedCodeMethod:
    second_factor.codes[alice.id] = CODE
    return second_factor


def check(app: Flask, method: Method, user: User, raw: str, clock: FakeClock, **kwargs: bool) -> gate.Checked:
    """One check in its own request-like transaction, committed afterwards as a page would."""
    with app.app_context():
        checked = gate.check(method, db.session.get(User, user.id), raw, now=clock(), ip="192.0.2.7", **kwargs)
        db.session.commit()
        if checked.recorded is not None:  # read back as stored, then kept for the assertions
            db.session.refresh(checked.recorded)
            db.session.expunge(checked.recorded)
        return checked


def failures(app: Flask, user: User) -> int:
    with app.app_context():
        return db.session.scalar(select(User.factor_failures).where(User.id == user.id)) or 0


def events(app: Flask, name: str) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.event == name)) or 0


def test_what_is_not_a_code_is_refused_before_it_counts(app: Flask, method: FixedCodeMethod, alice: User,
                                                         clock: FakeClock) -> None:
    for raw in ("", "12345", "1234567", "abcdef", "12 34 5x"):
        assert check(app, method, alice, raw, clock).verdict.reason is Reason.MALFORMED
    assert failures(app, alice) == 0
    assert method.checked == []  # the factor never saw them


def test_a_code_is_canonicalised_once_before_the_factor_sees_it(app: Flask, method: FixedCodeMethod,
                                                                 alice: User, clock: FakeClock) -> None:
    assert check(app, method, alice, "２４６ ８１０", clock).ok  # full-width digits and a space
    assert method.checked == [CODE]


def test_a_wrong_code_counts_and_a_right_one_resets(app: Flask, method: FixedCodeMethod, alice: User,
                                                    clock: FakeClock) -> None:
    wrong = check(app, method, alice, WRONG, clock)
    assert not wrong.ok and wrong.verdict.reason is Reason.INVALID
    assert failures(app, alice) == 1
    clock.advance(1)
    assert check(app, method, alice, CODE, clock).ok
    assert failures(app, alice) == 0


def test_the_attempt_is_committed_before_the_code_is_checked(app: Flask, method: FixedCodeMethod, alice: User,
                                                             clock: FakeClock) -> None:
    """A request that dies after the check (rolled back) has still used up its attempt."""
    with app.app_context():
        gate.check(method, db.session.get(User, alice.id), WRONG, now=clock(), ip=None)
        db.session.rollback()
    assert failures(app, alice) == 1


def test_from_the_free_failures_on_each_attempt_waits(app: Flask, method: FixedCodeMethod, alice: User,
                                                      clock: FakeClock) -> None:
    check(app, method, alice, WRONG, clock)
    check(app, method, alice, WRONG, clock)  # the 2nd failure (free=2): the next attempt waits 1 s
    waiting = check(app, method, alice, CODE, clock)
    assert waiting.verdict.reason is Reason.WAIT and waiting.verdict.retry_at is not None
    assert (waiting.verdict.retry_at - clock()).total_seconds() == pytest.approx(1, abs=0.01)
    assert method.checked == [WRONG, WRONG]  # a refused attempt never reaches the factor, right code or not
    assert failures(app, alice) == 2  # and does not count
    clock.advance(1)
    assert check(app, method, alice, CODE, clock).ok


def test_the_lock_stops_every_factor_but_a_recovery_code(app: Flask, method: FixedCodeMethod, alice: User,
                                                         clock: FakeClock) -> None:
    for _ in range(5):  # LOCK_AT = 5
        check(app, method, alice, WRONG, clock)
        clock.advance(60)
    assert events(app, "signin.locked") == 1  # the attempt that reached the lock says so, once
    locked = check(app, method, alice, CODE, clock)
    assert locked.verdict.reason is Reason.LOCKED and not locked.ok
    with app.app_context():
        codes = generate_set(db.session.get(User, alice.id), clock())
        db.session.commit()
    used = check(app, RecoveryMethod(), alice, codes[0], clock)
    assert used.ok and failures(app, alice) == 0  # the way out of the lock
    assert used.recorded is not None and used.recorded.event == "recovery.used"
    assert used.recorded.details == {"method": "recovery", "recovery_codes_left": 9}


def test_only_a_sign_in_records_every_outcome(app: Flask, method: FixedCodeMethod, alice: User,
                                              clock: FakeClock) -> None:
    assert check(app, method, alice, WRONG, clock).recorded is None
    assert check(app, method, alice, CODE, clock).recorded is None  # the manage and step-up pages
    assert events(app, "signin.second_factor_failed") == 0 and events(app, "signin.second_factor") == 0
    clock.advance(1)
    check(app, method, alice, WRONG, clock, signing_in=True)
    signed_in = check(app, method, alice, CODE, clock, signing_in=True)
    assert events(app, "signin.second_factor_failed") == 1
    assert signed_in.recorded is not None and signed_in.recorded.event == "signin.second_factor"
    assert signed_in.recorded.details == {"method": "testcode"} and signed_in.recorded.ip == "192.0.2.7"


def test_a_provider_fault_keeps_only_the_attempt(app: Flask, alice: User, clock: FakeClock) -> None:
    faulty = FaultyMethod(codes={alice.id: CODE})
    with app.app_context(), pytest.raises(SmsError):
        gate.check(faulty, db.session.get(User, alice.id), CODE, now=clock(), ip=None, signing_in=True)
    assert failures(app, alice) == 1
    assert events(app, "signin.second_factor_failed") == 0


def test_a_recovery_code_is_a_different_alphabet(app: Flask, alice: User, clock: FakeClock) -> None:
    """Each factor says what its codes look like: six digits are no recovery code."""
    assert check(app, RecoveryMethod(), alice, CODE, clock).verdict.reason is Reason.MALFORMED
