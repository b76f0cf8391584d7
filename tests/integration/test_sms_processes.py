"""The resend cooldown and the caps hold across two server processes that share the database.

Two gunicorn processes (tests/integration/cluster.py) serve the portal, configured only through environment
variables (as in production), on the test's database and the loopback Twilio double. They run on the real clock, so
the cooldown is an hour: nothing here depends on how fast the machine is.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from threading import Barrier

import pytest

from tests.integration.cluster import Cluster, portal_environment
from tests.integration.sms_helpers import PHONE, LiveBrowser, countdown, give_phone, sms_state
from tests.support import GOOD_PASSWORD

COOLDOWN = 3600
CAP = 3  # SMS_SENDS_PER_10_MINUTES, low enough to reach with a few accounts sharing one number


@pytest.fixture
def sms_provider() -> str:
    return "twilio_verify"


@pytest.fixture
def settings(sms_settings):
    return dict(sms_settings)


def environment(database_url: str, redis_url: str, sms_settings: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return portal_environment(database_url, redis_url, tmp_path, SMS_RESEND_COOLDOWN=str(COOLDOWN),
                              SMS_SENDS_PER_10_MINUTES=str(CAP),
                              **{key: str(value) for key, value in sms_settings.items()})


@contextmanager
def two_servers(env: dict[str, str], tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two gunicorn processes (gunicorn.conf.py); yield their base URLs once both accept connections."""
    pair = Cluster(env, tmp_path)
    try:
        yield pair[0], pair[1]
    finally:
        pair.close()


def test_cooldown_and_caps_hold_across_two_processes(app, database, make_user, clock, twilio, sms_settings,
                                                     sms_inbox, tmp_path, redis_url):
    emails = [f"p{n}@example.com" for n in range(5)]
    for n, email in enumerate(emails):
        # p0, p2, p3, p4 share PHONE; p1 has its own number, for the race.
        give_phone(app, make_user(email), "+8613911112222" if n == 1 else PHONE, clock)
    with two_servers(environment(database.url, redis_url, sms_settings, tmp_path), tmp_path) as (first, second):
        # One account: a text sent through the first process starts a cooldown the second one keeps.
        on_first, on_second = LiveBrowser(first), LiveBrowser(second)
        on_first.sign_in(emails[0], GOOD_PASSWORD)
        status, headers, _ = on_first.send_code()
        assert status == 303, status
        on_second.sign_in(emails[0], GOOD_PASSWORD)
        status, headers, _ = on_second.send_code()
        assert (status, headers["Location"]) == (303, "/2fa/verify?method=sms")  # back to the page, which waits
        page = on_second.open(headers["Location"])[2]
        assert "It is too soon to ask for another code." in page
        assert COOLDOWN - 60 < countdown(page) <= COOLDOWN
        assert sms_inbox.count(PHONE) == 1

        # Parallel presses on both processes at once send exactly one text.
        browsers = [LiveBrowser(base) for base in (first, second) * 4]
        for browser in browsers:
            browser.sign_in(emails[1], GOOD_PASSWORD)
        tokens = [browser.token("/2fa/verify?method=sms") for browser in browsers]
        barrier = Barrier(len(browsers))

        def press(pair: tuple[LiveBrowser, str]) -> int:
            barrier.wait(timeout=30)
            return pair[0].send_code(pair[1])[0]

        with ThreadPoolExecutor(max_workers=len(browsers)) as pool:
            statuses = list(pool.map(press, zip(browsers, tokens, strict=True)))
        assert statuses == [303] * len(browsers), statuses  # each back to its page: one text, the rest wait
        assert sms_inbox.count("+8613911112222") == 1

        # The cap per number counts the sends of both processes: 3 per 10 minutes here.
        for email, base in ((emails[2], second), (emails[3], first)):
            browser = LiveBrowser(base)
            browser.sign_in(email, GOOD_PASSWORD)
            assert browser.send_code()[0] == 303
        browser = LiveBrowser(second)
        browser.sign_in(emails[4], GOOD_PASSWORD)
        status, headers, _ = browser.send_code()
        assert status == 303
        page = browser.open(headers["Location"])[2]
        assert 500 < countdown(page) <= 600
        assert "Too many codes were requested recently." in page
        assert sms_inbox.count(PHONE) == CAP
    state = sms_state(app)
    assert state.sends == CAP + 1
    assert sum(1 for row in state.phones if row.next_send_at is not None) == CAP + 1
