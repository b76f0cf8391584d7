"""Twenty right passwords for one account at once: each answer is a sign-in or a throttle answer, never a 500.

A correct password deletes the account's throttle row (the count starts again). Before issue 15 an attempt
counted by two statements (INSERT the row if missing, then UPDATE it) could find the row deleted between them
by another request's sign-in, and answered 500 (an assert in portal/auth/throttle.py). Now one INSERT … ON
CONFLICT DO UPDATE counts it. Twenty at once through two gunicorn processes on PostgreSQL, and through one
threaded server on SQLite and PostgreSQL; the audit log holds one sign-in row per sign-in answered.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
from sqlalchemy import func, select

from portal.events import Event
from portal.extensions import db
from portal.models import AuditEvent, User, UserSession
from tests.conftest import serving
from tests.integration.cluster import Cluster, PrivateRedis, portal_environment
from tests.integration.sms_helpers import LiveBrowser
from tests.support import GOOD_PASSWORD

EMAIL = "rush@example.com"
ATTEMPTS = 20


def rush(bases: list[str]) -> list[tuple[int, dict[str, str]]]:
    """ATTEMPTS browsers, spread over bases, each with its form fetched; then all POST the right password at once."""
    browsers = [LiveBrowser(bases[n % len(bases)]) for n in range(ATTEMPTS)]
    tokens = [browser.token("/login") for browser in browsers]
    barrier = Barrier(ATTEMPTS)

    def post(browser: LiveBrowser, token: str) -> tuple[int, dict[str, str]]:
        barrier.wait(timeout=30)
        status, headers, _ = browser.open("/login", {"csrf_token": token, "email": EMAIL, "password": GOOD_PASSWORD})
        return status, headers

    with ThreadPoolExecutor(max_workers=ATTEMPTS) as pool:
        return list(pool.map(post, browsers, tokens))


def assert_signed_in_or_told_to_wait(app, answers: list[tuple[int, dict[str, str]]]) -> None:
    statuses = sorted(status for status, _ in answers)
    assert set(statuses) <= {302, 429}, statuses  # never a 5xx, nor a refused password
    signed_in = [headers for status, headers in answers if status == 302]
    assert signed_in, statuses  # the first attempt is always admitted, and its password is right
    assert all(headers["Location"] == "/account" for headers in signed_in)
    assert all(int(headers["Retry-After"]) >= 1 for status, headers in answers if status == 429)
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.email == EMAIL))

        def count(model, *where) -> int:
            return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0

        # The audit rows add up: one sign-in row and one session per sign-in answered, no refused password.
        assert count(AuditEvent, AuditEvent.event == Event.SIGNIN_PASSWORD,
                     AuditEvent.subject_id == user_id) == len(signed_in)
        assert count(AuditEvent, AuditEvent.event == "signin.password_failed") == 0
        assert count(UserSession, UserSession.user_id == user_id) == len(signed_in)


def test_twenty_right_passwords_at_once_in_one_process(app, make_user):
    make_user(EMAIL)  # no second factor: each sign-in is one audited "signin.password"
    with serving(app) as base:
        answers = rush([base])
    assert_signed_in_or_told_to_wait(app, answers)


@pytest.fixture
def redis(tmp_path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    yield server
    server.stop()


@pytest.mark.parametrize("backend", [pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_twenty_right_passwords_at_once_across_two_processes(app, make_user, database, redis, tmp_path):
    make_user(EMAIL)
    cluster = Cluster(portal_environment(database.url, redis.url, tmp_path), tmp_path)
    try:
        answers = rush([cluster[0], cluster[1]])
    finally:
        cluster.close()
    assert_signed_in_or_told_to_wait(app, answers)
