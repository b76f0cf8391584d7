"""Parallel requests against a live threaded server: limits hold when an attacker does not wait."""

from __future__ import annotations

import re
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.cookiejar import CookieJar

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import User
from tests.conftest import serving
from tests.support import GOOD_PASSWORD

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


class Browser:
    """A tiny real HTTP client with its own cookies (no redirects followed)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()), NoRedirect())

    def open(self, path: str, data: dict[str, str] | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, data=body, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.read().decode()

    def post_form(self, path: str, fields: dict[str, str]) -> int:
        _, page = self.open(path)
        token = CSRF.search(page)
        assert token, page[:500]
        return self.open(path, {"csrf_token": token.group(1), **fields})[0]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_parallel_password_guesses_are_all_counted(app, make_user):
    make_user("target@example.com")
    free = app.config["LOGIN_FREE_FAILURES"]
    with serving(app) as base:
        browsers = [Browser(base) for _ in range(16)]
        for browser in browsers:
            assert browser.open("/login")[0] == 200  # fetch forms first, so the burst is only POSTs
        with ThreadPoolExecutor(max_workers=16) as pool:
            statuses = list(pool.map(
                lambda b: b.post_form("/login", {"email": "target@example.com", "password": "guess 12345"}),
                browsers))
    # The clock is frozen: after `free` attempts the next is only allowed later, however parallel the burst.
    assert sorted(statuses) == [400] * free + [429] * (16 - free)


def test_parallel_registrations_of_one_email_make_one_account(app):
    with serving(app) as base:
        browsers = [Browser(base) for _ in range(8)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(
                lambda b: b.post_form("/register", {"email": "race@example.com", "password": GOOD_PASSWORD,
                                                    "password_confirm": GOOD_PASSWORD}),
                browsers))
    assert statuses.count(302) == 1
    assert statuses.count(400) == 7
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 1
