"""Security notices by email, through a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import logging
import time
from email.message import EmailMessage

import pytest

from tests.integration.sms_helpers import closed_port
from tests.integration.totp_helpers import enroll, scan_setup_page
from tests.support import login


@pytest.fixture
def settings(smtp):
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp[1], "MAIL_USE_TLS": False,
            "MAIL_FROM": "2FA Portal <security@portal.test>"}


def body(message: EmailMessage) -> str:
    return message.get_content()


def test_setting_up_an_authenticator_sends_one_notice(app, signed_in, email, clock, tmp_path, inbox):
    enroll(signed_in, clock, tmp_path)
    [(to, message)] = inbox.wait_for(2)[:1]  # the app, then the first set of recovery codes
    assert to == [email]
    assert message["From"] == "2FA Portal <security@portal.test>"
    assert message["Subject"] == "Security notice: An authenticator app was set up for your account"
    text = body(message)
    assert "From IP address: 127.0.0.1." in text and "http://localhost/account" in text
    assert [m["Subject"] for _, m in inbox.messages] == [
        "Security notice: An authenticator app was set up for your account",
        "Security notice: New recovery codes were generated for your account; the old ones no longer work"]
    # Nothing secret travels by email.
    assert "otpauth" not in text and "secret" not in text.lower()


def test_a_notice_is_in_the_language_of_the_page(app, make_user, clock, tmp_path, inbox):
    make_user("zh@example.com")
    browser = app.test_client()
    browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    login(browser, "zh@example.com")
    enroll(browser, clock, tmp_path)
    subject = inbox.wait_for(1)[0][1]["Subject"]
    assert subject == "安全通知：您的账户设置了身份验证器应用"
    assert "时间：" in body(inbox.messages[0][1])


def test_a_refused_change_sends_nothing(app, signed_in, clock, tmp_path, inbox):
    html, _ = scan_setup_page(signed_in, tmp_path)
    from tests.integration.totp_helpers import csrf_token_from

    refused = signed_in.post("/account/2fa/totp", data={"csrf_token": csrf_token_from(html), "code": "000000"})
    assert refused.status_code == 400
    time.sleep(0.3)
    assert inbox.messages == []


def test_a_mail_server_that_is_down_does_not_block_the_change(make_app, make_user, clock, tmp_path, caplog):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=closed_port(), MAIL_USE_TLS=False, MAIL_TIMEOUT=2)
    make_user("down@example.com")
    browser = app.test_client()
    login(browser, "down@example.com")
    with caplog.at_level(logging.WARNING, logger="portal.mail"):
        enrollment = enroll(browser, clock, tmp_path)  # asserts the page with the codes (200)
    assert len(enrollment.recovery_codes) == 10
    assert "Authenticator app" in browser.get("/account").text
    lines = [r.getMessage() for r in caplog.records if r.name == "portal.mail"]
    assert lines and all(line.startswith("security notice not sent: ConnectionRefusedError") for line in lines)


def test_the_user_is_emailed_when_support_turns_2fa_off(app, inbox, enrollment, email):
    from tests.integration.test_cli import DISABLE, run

    assert len(inbox.wait_for(2)) == 2  # the enrollment's two notices
    inbox.messages.clear()
    result = run(app, "disable-2fa", email, *DISABLE)
    assert result.exit_code == 0, result.output
    [(to, message)] = inbox.wait_for(1)
    assert to == [email]
    assert message["Subject"] == "Security notice: Support turned off two-step verification for your account"
    assert "From IP address: -." in body(message)  # the command line has no IP address


@pytest.mark.parametrize("site", ["https://2fa.example.com", ""])
def test_links_name_the_public_address_not_the_host_header(make_app, make_user, clock, tmp_path, smtp, inbox, site):
    # An attacker who knows a password picks the Host header of the request that triggers a notice; the link
    # in the victim's mail must not follow it. Production requires MAIL_SITE_URL; development uses the request's.
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp[1], MAIL_USE_TLS=False, MAIL_SITE_URL=site)
    make_user("host@example.com")
    inner = app.wsgi_app
    app.wsgi_app = lambda environ, start: inner({**environ, "HTTP_HOST": "evil.example"}, start)
    browser = app.test_client()
    login(browser, "host@example.com")
    page = browser.post("/account/2fa/totp", data={})  # a refused form still proves the Host reached the app
    assert page.status_code == 400
    html, secret = scan_setup_page(browser, tmp_path)
    from tests.integration.totp_helpers import csrf_token_from, totp

    codes_page = browser.post("/account/2fa/totp", data={"csrf_token": csrf_token_from(html),
                                                         "code": totp(secret, clock())}).get_data(as_text=True)
    text = body(inbox.wait_for(1)[0][1])
    expected = site or "http://evil.example"
    assert f"Security page: {expected}/account" in text
    assert f"once at {expected}/ if you lose" in codes_page
    if site:
        assert "evil.example" not in text and "evil.example" not in codes_page
