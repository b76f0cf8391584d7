"""Shared helpers of the SMS tests: numbers, enrollment and sign-in through HTTP, the rows to assert on."""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from portal.clock import as_utc
from portal.extensions import db
from portal.factors import totp as totp_enrollment
from portal.factors.recovery import generate_set
from portal.models import AuditEvent, SmsCode, SmsFactor, SmsSend, SmsThrottle, User
from portal.sms.base import Purpose
from portal.sms.delivery import account_key, purpose_of
from tests import otp
from tests.support import FakeClock, csrf_token, login
from tests.twilio_double.fixtures import LOCAL_PROVIDERS, PROVIDERS, TWILIO_PROVIDERS, Inbox

__all__ = ["LOCAL_PROVIDERS", "PROVIDERS", "TWILIO_PROVIDERS", "Inbox"]

PHONE, TYPED, MASKED = "+8613800138000", "138 0013 8000", "+86•••••8000"
NEW_PHONE, NEW_TYPED, NEW_MASKED = "+8613900139000", "139 0013 9000", "+86•••••9000"
FULL, NEW_FULL = "+86 138 0013 8000", "+86 139 0013 9000"  # as the confirmation step shows the number just typed
# What the pages say for each provider fault (portal/sms/messages.py), in English.
UNAVAILABLE = "We could not send a text message just now. Try again in a few minutes."
BUSY = "The text message service is busy. Wait 30 seconds, then try again."
UNREACHABLE = "We could not send a text message to this number. Check that it is a mobile number that can receive"
OPTED_OUT = "This number has turned off our text messages (someone replied STOP)."
TOO_MANY_SENDS = "Too many codes were sent to this number. Wait about 10 minutes before asking for another."
COUNTDOWN = re.compile(r'data-countdown data-seconds="(\d+)"')


def full_forms(phone: str) -> tuple[str, ...]:
    """Ways a full number could leak: E.164, without +, the national digits (CN: the last 11)."""
    return (phone, phone.lstrip("+"), phone[-11:])


def assert_masked_only(text: str, *phones: str) -> None:
    for phone in phones:
        for form in full_forms(phone):
            assert form not in text, f"{form} appears in full"


# --- enrollment through HTTP ------------------------------------------------------------------------


def add_phone(client: FlaskClient, phone: str = TYPED, country: str | None = "CN", **extra: str) -> TestResponse:
    """Type a number on /account/2fa/sms (country None: leave the select out of the form)."""
    page = client.get("/account/2fa/sms")
    assert page.status_code == 200, page.status_code
    data = {"csrf_token": csrf_token(page), "phone": phone, **extra}
    if country is not None:
        data["country"] = country
    return client.post("/account/2fa/sms", data=data)


def confirm_phone(client: FlaskClient, code: str) -> TestResponse:
    page = client.get("/account/2fa/sms/confirm")
    assert page.status_code == 200, page.status_code
    return client.post("/account/2fa/sms/confirm", data={"csrf_token": csrf_token(page), "code": code})


def resend_enrollment(client: FlaskClient) -> TestResponse:
    page = client.get("/account/2fa/sms/confirm")
    return client.post("/account/2fa/sms/resend", data={"csrf_token": csrf_token(page)})


def enroll_phone(client: FlaskClient, inbox: Inbox, phone: str = PHONE, typed: str = TYPED) -> TestResponse:
    """Add and confirm a number through the pages; return the confirmation's answer."""
    added = add_phone(client, typed)
    assert added.status_code == 302, added.get_data(as_text=True)[:2000]
    assert added.headers["Location"] == "/account/2fa/sms/confirm"
    confirmed = confirm_phone(client, inbox.last_code(phone))
    assert confirmed.status_code in (200, 302), confirmed.get_data(as_text=True)[:2000]
    return confirmed


# --- users with a phone, made directly in the database --------------------------------------------


@dataclass
class Extras:
    recovery_codes: list[str]
    totp_secret: str | None


def give_phone(app: Flask, user: User, phone: str, clock: FakeClock, *, totp: bool = False) -> Extras:
    """A confirmed phone (as if enrolled long ago), a recovery set and, if asked, an authenticator app."""
    secret = None
    with app.app_context():
        at = clock()
        if totp:
            factor = totp_enrollment.start(user, at)
            secret = totp_enrollment.pending_secret(factor)
            assert totp_enrollment.confirm(user, otp.totp(secret, at), at, ip="127.0.0.1").ok
        db.session.add(SmsFactor(user_id=user.id, phone=phone, created_at=at, confirmed_at=at))
        codes = generate_set(user, at)
        db.session.commit()
    return Extras(codes, secret)


# --- the sign-in step ---------------------------------------------------------------------------------


def pending(app: Flask, email: str) -> FlaskClient:
    """A browser past the password step of email's account."""
    browser = app.test_client()
    response = login(browser, email)
    assert response.status_code == 302 and response.headers["Location"].startswith("/2fa"), response.status_code
    return browser


def sms_page(browser: FlaskClient) -> TestResponse:
    return browser.get("/2fa/verify?method=sms")


def send_code(browser: FlaskClient, **extra: str) -> TestResponse:
    """Press "Send code" on the SMS page (extra: form fields an attacker adds)."""
    page = sms_page(browser)
    return browser.post("/2fa/sms/send", data={"csrf_token": csrf_token(page), **extra})


def enter_code(browser: FlaskClient, code: str) -> TestResponse:
    page = sms_page(browser)
    return browser.post("/2fa/verify?method=sms", data={"csrf_token": csrf_token(page), "code": code})


def wrong(code: str) -> str:
    """A well-formed code that is not `code`."""
    return f"{(int(code) + 1) % 1_000_000:06d}"


def countdown(html: str) -> int:
    """The seconds the resend countdown starts from (data-seconds)."""
    found = COUNTDOWN.search(html)
    assert found, "no countdown on the page"
    return int(found.group(1))


def countdown_text(seconds: int) -> str:
    """The countdown's own sentence, shown without JavaScript."""
    if seconds <= 0:
        return "You can request a new code now."
    return f"You can request a new code in {seconds} second{'s' if seconds != 1 else ''}."


# --- rows ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PhoneRow:
    user_id: int
    phone: str
    confirmed: bool
    next_send_at: datetime | None  # the resend cooldown of the account for this phone's purpose (sms_throttles)


@dataclass(frozen=True)
class SmsState:
    """Everything the SMS code writes: phones, sends counted for the caps, stored codes."""

    phones: tuple[PhoneRow, ...]
    sends: int
    codes: tuple[tuple[int, str, int, bool], ...]  # (user, purpose, checks, used)


def sms_state(app: Flask) -> SmsState:
    with app.app_context():
        cooldowns = {row.key: row.next_send_at for row in db.session.scalars(select(SmsThrottle))}

        def cooldown(user_id: int, purpose: Purpose) -> datetime | None:
            until = cooldowns.get(account_key(user_id, purpose))
            return as_utc(until) if until else None

        phones = tuple(PhoneRow(f.user_id, f.phone, f.confirmed_at is not None, cooldown(f.user_id, purpose_of(f)))
                       for f in db.session.scalars(select(SmsFactor).order_by(SmsFactor.id)))
        sends = db.session.scalar(select(func.count()).select_from(SmsSend)) or 0
        codes = tuple((c.user_id, c.purpose, c.checks, c.used_at is not None)
                      for c in db.session.scalars(select(SmsCode).order_by(SmsCode.id)))
    return SmsState(phones, sends, codes)


def user_id(app: Flask, email: str) -> int:
    with app.app_context():
        found = db.session.scalar(select(User.id).where(User.email == email))
    assert found is not None
    return found


def audit_rows(app: Flask) -> list[tuple[str, dict[str, Any]]]:
    with app.app_context():
        return [(e.event, dict(e.details)) for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def logged(caplog: pytest.LogCaptureFixture) -> str:
    """Every captured log record, formatted, with its arguments: what a log file would hold."""
    return "\n".join(f"{r.name} {r.levelname} {r.getMessage()} {r.args!r} {r.exc_text or ''}"
                     for r in caplog.records)


def sms_failures_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "portal.sms" and r.levelno >= logging.WARNING]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- a real HTTP client, for live servers ---------------------------------------------------------


class LiveBrowser:
    """A tiny HTTP client with its own cookies that follows no redirects: (status, headers, body)."""

    def __init__(self, base: str) -> None:
        import urllib.request
        from http.cookiejar import CookieJar

        from tests.integration.test_concurrency import NoRedirect

        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                                  urllib.request.HTTPCookieProcessor(CookieJar()), NoRedirect())

    def open(self, path: str, data: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
        import urllib.error
        import urllib.parse

        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, data=body, timeout=30) as response:
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as error:
            with error:
                return error.code, dict(error.headers), error.read().decode()

    def token(self, path: str) -> str:
        status, _, page = self.open(path)
        assert status == 200, (path, status)
        found = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', page)
        assert found, page[:500]
        return found.group(1)

    def sign_in(self, email: str, password: str) -> None:
        status, headers, _ = self.open("/login", {"csrf_token": self.token("/login"), "email": email,
                                                  "password": password})
        assert status == 302 and headers["Location"].startswith("/2fa"), (status, headers)

    def send_code(self, token: str | None = None) -> tuple[int, dict[str, str], str]:
        """POST /2fa/sms/send (token: a CSRF token fetched before, so a burst is only POSTs)."""
        return self.open("/2fa/sms/send", {"csrf_token": token or self.token("/2fa/verify?method=sms")})


def assert_refused(response: TestResponse, scenario: Any) -> None:
    """The page of a provider fault: the scenario's status, Retry-After (or none), message, as an alert."""
    assert response.status_code == scenario.status, response.get_data(as_text=True)[:3000]
    if scenario.retry_after is None:
        assert "Retry-After" not in response.headers
    else:
        assert response.headers["Retry-After"] == str(scenario.retry_after)
    assert scenario.message in response.text.replace("&#39;", "'")
    assert 'role="alert"' in response.text


def refused_sign_in_text(app: Flask, user: User, clock: FakeClock, scenario: Any,
                         arm: Callable[[], None]) -> tuple[FlaskClient, Extras, TestResponse]:
    """Press "Send code" at a pending sign-in while the provider fails (arm() scripts the failure).

    Checks what every provider's failure must look like: the scenario's status and message, the number
    still masked, the other ways in offered, and nothing counted or stored. Returns the browser (still
    pending), the account's other factors and the response.
    """
    extras = give_phone(app, user, PHONE, clock, totp=True)
    browser = pending(app, user.email)
    page = sms_page(browser)
    before = sms_state(app)
    arm()
    response = browser.post("/2fa/sms/send", data={"csrf_token": csrf_token(page)})
    assert_refused(response, scenario)
    assert f"We will text a 6-digit code to {MASKED}." in response.text
    assert 'href="/2fa?next=/account"' in response.text  # "Use another method"
    assert 'href="/2fa/recovery?next=/account"' in response.text
    assert sms_state(app) == before  # no send counted, the cooldown untouched, no code stored
    return browser, extras, response


def signs_in_another_way(browser: FlaskClient, clock: FakeClock, extras: Extras) -> None:
    """The pending sign-in survived: the other methods still open, and the authenticator signs the user in."""
    assert browser.get("/2fa/verify?method=totp").status_code == 200
    assert browser.get("/2fa/recovery").status_code == 200
    clock.advance(30)
    code = otp.totp(extras.totp_secret or "", clock())
    response = browser.post("/2fa/verify?method=totp",
                            data={"csrf_token": csrf_token(browser.get("/2fa/verify?method=totp")), "code": code})
    assert response.headers["Location"] == "/account"
