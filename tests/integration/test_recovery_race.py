"""Two requests making a new set of recovery codes at once: one set survives, and a double click makes one.

The lock test is PostgreSQL only (SQLite lets one writer at a time, so it has no such window). It holds
the first transaction just after its delete until PostgreSQL reports the second one waiting for a lock,
so the window is certain, not a matter of timing. The HTTP test uses the production Argon2 cost, so the
10 hashes of a new set keep the first transaction open long enough for the second click to land in it.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.factors import recovery
from portal.factors.recovery import RecoveryMethod, generate_set
from portal.models import AuditEvent, RecoveryCode, User
from tests.conftest import postgres_admin, serving
from tests.integration.test_concurrency import Browser
from tests.integration.totp_helpers import csrf_token_from, recovery_codes_on
from tests.otp import totp
from tests.support import GOOD_PASSWORD

EMAIL = "double.click@example.com"
CODES_PAGE = "/account/2fa/recovery-codes"
PRODUCTION_ARGON2 = {"ARGON2_TIME_COST": 3, "ARGON2_MEMORY_COST": 65536, "ARGON2_PARALLELISM": 4}


@pytest.fixture
def email() -> str:
    return EMAIL


def live_codes(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(RecoveryCode).where(RecoveryCode.used_at.is_(None)))


def works(app, user_id, code, clock):
    """Whether code redeems for the user (the redemption is rolled back: nothing is spent)."""
    with app.app_context():
        verdict = RecoveryMethod().verify(db.session.get(User, user_id), code, now=clock())
        db.session.rollback()
    return verdict.ok


def wait_for_a_lock_waiter(application_name: str, seconds: float = 30) -> None:
    """Return once a connection of ours waits for a lock; no sleep: PostgreSQL is asked until it says so."""
    with postgres_admin() as admin:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            waiting = admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND wait_event_type = 'Lock'",
                (application_name,)).fetchone()[0]
            if waiting:
                return
    raise AssertionError("the second transaction never waited for the first one")


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql"])
def test_two_new_sets_at_once_leave_exactly_one(make_app, database, make_user, clock, monkeypatch):
    name = "recovery-race-" + secrets.token_hex(4)
    app = make_app(DATABASE_URL=f"{database.url}&application_name={name}")
    user_id = make_user("race@example.com").id
    with app.app_context():
        generate_set(db.session.get(User, user_id), clock())
        db.session.commit()

    deleted = threading.Event()
    real_insert_set = recovery._insert_set

    def after_the_delete(user: User, rows: list) -> list[str]:
        # The new rows of the first transaction go in right after its delete: hold it there until the
        # second transaction is waiting (for the user's row lock; without it, for the deleted rows).
        if threading.current_thread().name == "first" and not deleted.is_set():
            deleted.set()
            wait_for_a_lock_waiter(name)
        return real_insert_set(user, rows)

    monkeypatch.setattr(recovery, "_insert_set", after_the_delete)
    results: dict[str, list[str]] = {}

    def make_set(which: str) -> None:
        if which == "second":
            assert deleted.wait(timeout=30)
        with app.app_context():
            results[which] = generate_set(db.session.get(User, user_id), clock())
            db.session.commit()

    threads = [threading.Thread(target=make_set, args=(which,), name=which) for which in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert set(results) == {"first", "second"}
    assert live_codes(app) == 10  # not 20: the second transaction deleted the first one's set
    # The first set was shown to nobody who can use it: none of its codes works; the final set's do.
    assert not any(works(app, user_id, code, clock) for code in results["first"])
    assert all(works(app, user_id, code, clock) for code in results["second"])


@pytest.mark.parametrize("settings", [PRODUCTION_ARGON2])
def test_a_double_click_makes_one_new_set(app, enrollment, clock):
    clock.advance(30)  # the confirming code's step is spent: sign in with the next one
    with serving(app) as base:
        browser = Browser(base)
        assert browser.post_form("/login", {"email": EMAIL, "password": GOOD_PASSWORD}) == 302
        assert browser.post_form("/2fa/verify?method=totp", {"code": totp(enrollment.secret, clock())}) == 302
        status, page = browser.open(CODES_PAGE)
        assert status == 200
        form = {"csrf_token": csrf_token_from(page),
                "replaces": re.search(r'name="replaces" value="([0-9a-f]{64})"', page).group(1)}
        barrier = Barrier(2)

        def click(_: int) -> tuple[int, str]:
            barrier.wait(timeout=30)
            return browser.open(CODES_PAGE, form)  # one browser, one cookie, the same form twice

        with ThreadPoolExecutor(max_workers=2) as pool:
            answers = sorted(pool.map(click, range(2)))
        assert [status for status, _ in answers] == [200, 302]
        shown = recovery_codes_on(answers[0][1])
        assert f'href="{CODES_PAGE}"' in answers[1][1]  # the second click is sent back to the overview
        assert "New codes were already generated and shown once" in browser.open(CODES_PAGE)[1]
    assert live_codes(app) == 10
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.email == EMAIL))
        generated = db.session.scalar(select(func.count()).select_from(AuditEvent)
                                      .where(AuditEvent.event == "recovery.generated"))
    assert generated == 2  # the enrollment's set and one new set
    assert all(works(app, user_id, code.replace("-", ""), clock) for code in shown)
    assert not any(works(app, user_id, code.replace("-", ""), clock) for code in enrollment.recovery_codes)
