"""Changes to how someone signs in are brought to their attention at the next sign-in (SECURITY.md)."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEvent
from tests.conftest import CONSOLE_OUTBOX
from tests.integration.totp_helpers import send_totp
from tests.otp import totp
from tests.support import login, logout, submit

EMAIL = "notice@example.com"
NOTICE = re.compile(r"Since your last sign-in: (.+?)\. If this was not you, check your sign-in methods")


@pytest.fixture
def email() -> str:
    return EMAIL


def flashes(page_text: str) -> list[str]:
    return re.findall(r'<div class="flash[^"]*"[^>]*>(.*?)</div>', page_text, flags=re.S)


def sign_in_with_app(app, secret, clock):
    clock.advance(30)
    browser = app.test_client()
    assert login(browser, EMAIL).headers["Location"].startswith("/2fa")
    response = send_totp(browser, totp(secret, clock()))
    assert response.status_code == 302, response.status_code
    return browser, browser.get("/account").get_data(as_text=True)


def last_console_code() -> str:
    lines = [json.loads(line) for line in CONSOLE_OUTBOX.read_text(encoding="utf-8").splitlines() if line.strip()]
    return re.search(r"\b(\d{6})\b", lines[-1]["text"]).group(1)


def test_a_change_since_the_last_sign_in_is_shown_at_the_next_one(app, signed_in, enrollment, clock):
    logout(signed_in)
    first, page = sign_in_with_app(app, enrollment.secret, clock)
    assert not NOTICE.search(page), "the first sign-in after setting up has nothing to report"

    # In this session a phone is added (a change to how the account signs in).
    assert submit(first, "/account/2fa/sms", {"country": "CN", "phone": "138 0013 8000"}).status_code == 302
    assert submit(first, "/account/2fa/sms/confirm", {"code": last_console_code()}).status_code == 302
    logout(first)

    _, page = sign_in_with_app(app, enrollment.secret, clock)
    notice = NOTICE.search(page)
    assert notice, flashes(page)
    assert "Phone added for text message codes" in notice.group(1)
    assert "+86" not in notice.group(1) and "8613800138000" not in page  # never the number in full

    _, page = sign_in_with_app(app, enrollment.secret, clock)
    assert not NOTICE.search(page), "a notice is shown once: nothing changed since the previous sign-in"


def test_the_notice_lists_only_changes_not_sign_ins(app, signed_in, enrollment, clock):
    logout(signed_in)
    sign_in_with_app(app, enrollment.secret, clock)
    _, page = sign_in_with_app(app, enrollment.secret, clock)
    assert not NOTICE.search(page)
    with app.app_context():
        events = db.session.scalars(select(AuditEvent.event).order_by(AuditEvent.id)).all()
    assert events.count("signin.second_factor") == 2


@pytest.mark.parametrize(("language", "joined"), [
    ("en", "Phone added for text message codes (…), New recovery codes generated (…), and Recovery codes deleted (…)"),
    ("zh_Hans", "已添加接收短信验证码的手机（…）、已生成新的恢复码（…）和已删除恢复码（…）"),
])
def test_the_changes_are_listed_as_the_language_lists_things(app, signed_in, enrollment, clock, language, joined):
    from portal import audit
    from portal.events import Event
    from portal.models import User

    logout(signed_in)
    sign_in_with_app(app, enrollment.secret, clock)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == EMAIL))
        for event in (Event.SMS_ENROLLED, Event.RECOVERY_GENERATED, Event.RECOVERY_DELETED):
            audit.record(event, actor=user, subject=user, ip="192.0.2.7")
        db.session.commit()
    clock.advance(30)
    browser = app.test_client()
    browser.set_cookie("lang", language)
    assert login(browser, EMAIL).headers["Location"].startswith("/2fa")
    assert send_totp(browser, totp(enrollment.secret, clock())).status_code == 302
    page = browser.get("/account").get_data(as_text=True)
    notice = re.search(r'<p class="flash flash-warning" role="status">(.*?)</p>', page, flags=re.S)
    assert notice, page[:3000]
    # The time and address of each change stand in brackets; what joins the changes is the language's own.
    assert re.sub(r"([(（])[^()（）]*([)）])", r"\1…\2", notice.group(1)).count(joined) == 1, notice.group(1)
