"""portal.memo: an answer is read once per session, and forgotten as soon as it may have changed."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from sqlalchemy import insert, update

from portal import memo
from portal.extensions import db
from portal.factors.recovery import has_set, remaining
from portal.factors.totp import accept_step, confirmed_factor
from portal.models import AuditEvent, RecoveryCode, TotpFactor, User
from tests.support import FakeClock, statements


def _totp(user: User, clock: FakeClock) -> None:
    db.session.add(TotpFactor(user_id=user.id, secret_encrypted="x", created_at=clock(), confirmed_at=clock()))
    db.session.commit()


def test_an_answer_is_read_once_and_shared(app: Flask, make_user: Callable[..., User], clock: FakeClock) -> None:
    user = make_user()
    with app.app_context():
        _totp(user, clock)
        with statements(app) as seen:
            first, second = confirmed_factor(user), confirmed_factor(user)
        assert first is not None and first is second
        assert len(seen) == 1


def test_a_write_to_the_table_forgets_what_was_read_from_it(app: Flask, make_user: Callable[..., User],
                                                            clock: FakeClock) -> None:
    user = make_user()
    with app.app_context():
        assert confirmed_factor(user) is None  # "none" is remembered too …
        db.session.add(TotpFactor(user_id=user.id, secret_encrypted="x", created_at=clock(), confirmed_at=clock()))
        db.session.flush()  # … until an ORM write to the table
        assert confirmed_factor(user) is not None
        db.session.execute(update(TotpFactor).where(TotpFactor.user_id == user.id).values(confirmed_at=None))
        assert confirmed_factor(user) is None  # an UPDATE statement forgets as well


def test_a_write_to_another_table_keeps_the_answer(app: Flask, make_user: Callable[..., User],
                                                  clock: FakeClock) -> None:
    user = make_user()
    with app.app_context():
        _totp(user, clock)
        confirmed_factor(user)
        db.session.execute(insert(AuditEvent).values(at=clock(), event="x", subject_id=user.id, details={}))
        db.session.execute(update(User).where(User.id == user.id).values(factor_failures=1))
        with statements(app) as seen:
            assert confirmed_factor(user) is not None
        assert seen == []


def test_recovery_counts_follow_a_used_code(app: Flask, make_user: Callable[..., User], clock: FakeClock) -> None:
    user = make_user()
    with app.app_context():
        assert (has_set(user), remaining(user)) == (False, 0)
        db.session.add_all([RecoveryCode(user_id=user.id, selector=f"{i:04x}", code_hash="h", created_at=clock())
                            for i in range(3)])
        db.session.flush()
        assert (has_set(user), remaining(user)) == (True, 3)
        db.session.execute(update(RecoveryCode).where(RecoveryCode.selector == "0000").values(used_at=clock()))
        assert (has_set(user), remaining(user)) == (True, 2)


def test_commit_and_rollback_forget_but_commit_keeping_keeps(app: Flask, make_user: Callable[..., User],
                                                             clock: FakeClock) -> None:
    user = make_user()
    with app.app_context():
        _totp(user, clock)
        confirmed_factor(user)
        db.session.commit()  # another request may write after a commit: ask again
        with statements(app) as seen:
            confirmed_factor(user)
        assert len(seen) == 1
        db.session.rollback()
        with statements(app) as seen:
            confirmed_factor(user)
        assert len(seen) == 1
        memo.commit_keeping()
        with statements(app) as seen:
            factor = confirmed_factor(user)
            assert factor is not None
            assert factor.secret_encrypted == "x"  # not expired either: no reload on touch
        assert [s for s in seen if not s.lstrip().upper().startswith("BEGIN")] == []


def test_an_accepted_step_is_seen_without_a_read(app: Flask, make_user: Callable[..., User],
                                                clock: FakeClock) -> None:
    user = make_user()
    with app.app_context():
        _totp(user, clock)
        factor = confirmed_factor(user)
        assert factor is not None
        assert accept_step(factor, 77, clock()) is True
        with statements(app) as seen:
            again = confirmed_factor(user)
            assert again is factor and again.last_step == 77
        assert seen == []
        assert accept_step(factor, 77, clock()) is False  # the database still decides
        db.session.commit()
        stored = db.session.get(TotpFactor, factor.id, populate_existing=True)
        assert stored is not None and stored.last_step == 77
