"""Test helpers: a browser-like client, a settable clock, a second factor for the pending state."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from portal.factors import OK, Method, Reason, Verdict
from portal.models import User

CSRF_RE = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')
GOOD_PASSWORD = "violet elephant 42 hums"


class FakeClock:
    def __init__(self) -> None:
        self.current = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


def csrf_token(page: TestResponse) -> str:
    match = CSRF_RE.search(page.get_data(as_text=True))
    assert match, "no CSRF token on the page"
    return match.group(1)


def submit(client: FlaskClient, form_url: str, data: dict[str, Any], action: str | None = None,
           **kwargs: Any) -> TestResponse:
    """GET the page with the form, then POST data with its CSRF token, as a browser would."""
    page = client.get(form_url)
    return client.post(action or form_url, data={"csrf_token": csrf_token(page), **data}, **kwargs)


def login(client: FlaskClient, email: str, password: str = GOOD_PASSWORD, *,
          headers: dict[str, str] | None = None, **fields: Any) -> TestResponse:
    """Sign in through the form; fields are extra form fields (remember="y"), headers go with the POST."""
    return submit(client, "/login", {"email": email, "password": password, **fields}, headers=headers or {})


def logout(client: FlaskClient) -> TestResponse:
    return submit(client, "/account", {}, action="/logout")


def session_cookie(client: FlaskClient, name: str = "session") -> str | None:
    cookie = client.get_cookie(name)
    return cookie.value if cookie else None


@dataclass
class FixedCodeMethod(Method):
    """A second factor for tests of the sign-in state machine: each enrolled user has one code."""

    kind = "testcode"
    codes: dict[int, str] = field(default_factory=dict)
    checked: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return "Test code"

    def is_enrolled(self, user: User) -> bool:
        return user.id in self.codes

    def verify(self, user: User, code: str, *, now: datetime) -> Verdict:
        self.checked.append(code)
        return OK if self.codes.get(user.id) == code else Verdict(ok=False, reason=Reason.INVALID)

# A production deployment must name a real SMS provider (console is refused there); these never send.
PRODUCTION_SMS = {"SMS_PROVIDER": "twilio_verify", "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
                  "TWILIO_AUTH_TOKEN": "0123456789abcdef0123456789abcdef", "TWILIO_VERIFY_SERVICE_SID": "VA" + "0" * 32}
# What production needs besides its own keys: a real SMS provider and an SMTP server for security notices.
PRODUCTION_SERVICES = {**PRODUCTION_SMS, "MAIL_SERVER": "smtp.example.com", "MAIL_SITE_URL": "https://2fa.example.com"}


@contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    """Collect the SQL of every statement app's engine runs inside the block (requests or direct calls)."""
    from sqlalchemy import event

    from portal.extensions import db

    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(" ".join(statement.split()))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)
