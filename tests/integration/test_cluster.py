"""Several gunicorn processes on PostgreSQL and Redis behave as one portal.

One user's requests are spread across two real processes (tests/integration/cluster.py): the password step
on one and the second step on the other, races of one code across both, failure counts, logout, a restart
in the middle of a sign-in, and Redis going away and coming back. The processes run on the real clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from threading import Barrier

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AuditEvent, RecoveryCode, User
from tests.integration.cluster import Cluster, PrivateRedis, portal_environment
from tests.integration.sms_helpers import PHONE, LiveBrowser, give_phone
from tests.otp import totp
from tests.support import GOOD_PASSWORD

EMAIL = "many-hosts@example.com"


@pytest.fixture
def backend():
    """Production's database: these processes share PostgreSQL (with CI=true, a missing one fails the run)."""
    return "postgresql"


@pytest.fixture
def redis(tmp_path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def cluster(database, redis, tmp_path) -> Iterator[Cluster]:
    pair = Cluster(portal_environment(database.url, redis.url, tmp_path, RATELIMIT_LOGIN="30 per minute"), tmp_path)
    yield pair
    pair.close()


@pytest.fixture
def account(app, make_user, clock):
    """EMAIL with an authenticator app and recovery codes, set up (on the test's clock) long before now."""
    return give_phone(app, make_user(EMAIL), PHONE, clock, totp=True)


def code_now(secret: str) -> str:
    return totp(secret, datetime.now(UTC))


def verify(browser: LiveBrowser, code: str, token: str | None = None) -> tuple[int, dict[str, str], str]:
    return browser.open("/2fa/verify?method=totp",
                        {"csrf_token": token or browser.token("/2fa/verify?method=totp"), "code": code})


def race(calls) -> list:
    barrier = Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def test_the_password_step_on_one_process_and_the_code_on_the_other(cluster, account):
    browser = LiveBrowser(cluster[0])
    browser.sign_in(EMAIL, GOOD_PASSWORD)
    browser.base = cluster[1]  # the load balancer sends the next request elsewhere; the cookie goes along
    status, headers, _ = verify(browser, code_now(account.totp_secret))
    assert (status, headers.get("Location")) == (302, "/account")
    for base in (cluster[0], cluster[1]):
        browser.base = base
        assert browser.open("/account")[0] == 200
    # A logout on one process ends the session on the other.
    browser.base = cluster[0]
    assert browser.open("/logout", {"csrf_token": browser.token("/account")})[0] == 302
    browser.base = cluster[1]
    status, headers, _ = browser.open("/account")
    assert status == 302 and headers["Location"].startswith("/login")


def test_one_totp_code_raced_across_both_is_accepted_once(cluster, account):
    browsers = [LiveBrowser(cluster[n % 2]) for n in range(2)]
    for browser in browsers:
        browser.sign_in(EMAIL, GOOD_PASSWORD)
    tokens = [b.token("/2fa/verify?method=totp") for b in browsers]
    code = code_now(account.totp_secret)
    results = race([lambda b=b, t=t: verify(b, code, t) for b, t in zip(browsers, tokens, strict=True)])
    assert sorted(status for status, _, _ in results) == [302, 400]


def test_one_recovery_code_raced_across_both_30_times_is_accepted_once(cluster, account, app):
    browsers = [LiveBrowser(cluster[n % 2]) for n in range(30)]
    for browser in browsers:
        browser.sign_in(EMAIL, GOOD_PASSWORD)
    tokens = [b.token("/2fa/recovery") for b in browsers]
    code = account.recovery_codes[0]
    results = race([lambda b=b, t=t: b.open("/2fa/recovery", {"csrf_token": t, "code": code})
                    for b, t in zip(browsers, tokens, strict=True)])
    signed_in = [headers.get("Location") for status, headers, _ in results if status in (302, 303)
                 and "/login" not in headers.get("Location", "")]
    assert len(signed_in) == 1, [r[0] for r in results]
    assert all(status in (302, 303, 400, 429) for status, _, _ in results)
    with app.app_context():
        used = db.session.scalar(select(func.count()).select_from(RecoveryCode).where(
            RecoveryCode.used_at.is_not(None)))
        redeemed = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.event == "recovery.used"))
    assert (used, redeemed) == (1, 1)


def test_wrong_codes_on_both_processes_add_up(cluster, account, app):
    free = 5  # SECOND_FACTOR_FREE_FAILURES
    browsers = [LiveBrowser(cluster[n]) for n in range(2)]
    for browser in browsers:
        browser.sign_in(EMAIL, GOOD_PASSWORD)
    right = code_now(account.totp_secret)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    statuses = [verify(browsers[n % 2], wrong)[0] for n in range(free)]
    assert statuses == [400] * free
    with app.app_context():
        assert db.session.scalar(select(User.factor_failures).where(User.email == EMAIL)) == free
    # The next try, on either process, waits: the count is the account's, not a process's.
    status, headers, _ = verify(browsers[1], wrong)
    assert status == 429 and int(headers["Retry-After"]) >= 1


def test_a_restart_in_the_middle_of_a_sign_in_loses_nothing(cluster, account):
    browser = LiveBrowser(cluster[0])
    browser.sign_in(EMAIL, GOOD_PASSWORD)
    cluster.restart(0)
    status, headers, _ = verify(browser, code_now(account.totp_secret))
    assert (status, headers.get("Location")) == (302, "/account")
    cluster.restart(1)
    browser.base = cluster[1]
    assert browser.open("/account")[0] == 200


def test_with_redis_gone_limited_routes_answer_503_and_recover_when_it_returns(cluster, redis, account):
    tries = iter(range(1000))

    def attempt(base: str) -> int:
        """A wrong password for a new address each time (the per-address delays stay out of the way)."""
        browser = LiveBrowser(base)
        token = browser.token("/login")
        return browser.open("/login", {"csrf_token": token, "email": f"guess{next(tries)}@example.com",
                                       "password": "wrong password!!"})[0]

    refused = attempt(cluster[0])
    assert refused in (200, 400)  # a wrong password: the form again, counted in Redis
    redis.stop()
    for base in (cluster[0], cluster[1]):
        assert attempt(base) == 503  # fail closed: no password check without the limit
        status, _, body = LiveBrowser(base).open("/healthz")
        assert status == 503 and '"rate_limit_storage":"unavailable"' in body.replace(" ", "")
        assert LiveBrowser(base).open("/login")[0] == 200  # pages without a limit still work
    redis.start()
    # This Redis keeps nothing on disk, so the window starts again: 30 a minute, counted across both processes.
    assert [attempt(cluster[n % 2]) for n in range(30)] == [refused] * 30
    assert attempt(cluster[1]) == 429 and attempt(cluster[0]) == 429  # and never unlimited
    for base in (cluster[0], cluster[1]):
        assert re.search(r'"status":"ok"', LiveBrowser(base).open("/healthz")[2].replace(" ", ""))
