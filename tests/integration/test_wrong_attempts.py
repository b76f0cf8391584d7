"""Wrong passwords and codes: the warning before the delays, waits said once with their time (seconds with their
plural, minutes above a minute, a countdown), the address kept after a sign-in ended for wrong codes, and a
registration that tells every problem at once."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta

from sqlalchemy import update

from portal.auth.throttle import throttle_key
from portal.extensions import db
from portal.models import LoginThrottle
from tests.integration.totp_helpers import send_totp
from tests.otp import totp
from tests.support import GOOD_PASSWORD, csrf_token, login, logout

SLOWER = "More wrong passwords will slow down signing in"
WRONG = "wrong guess 123"


def form_error(page_text: str) -> str:
    """The page's message above the form (its countdown sentence when it has one), unescaped."""
    found = re.findall(r'<p class="form-error[^"]*" role="alert"[^>]*>(.*?)</p>', page_text, flags=re.S)
    assert len(found) == 1, found
    return html.unescape(found[0])


def visible(page_text: str) -> str:
    """The page's text without its tags (and so without the countdown's forms in data- attributes)."""
    return html.unescape(re.sub(r"<[^>]+>", " ", page_text))


def email_value(page_text: str) -> str | None:
    tag = re.search(r'<input [^>]*name="email"[^>]*>', page_text)
    assert tag is not None
    value = re.search(r'value="([^"]*)"', tag[0])
    return html.unescape(value[1]) if value else None


def test_the_last_wrong_password_before_the_delays_warns_that_more_will_slow_sign_in(app, make_user, clock):
    make_user("victim@example.com")
    for attempt in range(1, 6):  # LOGIN_FREE_FAILURES = 5: the 5th failure starts the delays
        refused = login(app.test_client(), "victim@example.com", WRONG)
        assert refused.status_code == 400
        assert "The email address or password is incorrect." in form_error(refused.text)
        assert (SLOWER in refused.text) == (attempt >= 4), attempt
    clock.advance(1)
    assert login(app.test_client(), "victim@example.com", GOOD_PASSWORD).status_code == 302
    assert SLOWER not in login(app.test_client(), "victim@example.com", WRONG).text  # a success starts again


def test_a_wrong_password_on_the_confirmation_page_warns_too(app, signed_in, clock):
    for attempt in range(1, 5):
        page = signed_in.get("/reauth")
        refused = signed_in.post("/reauth", data={"csrf_token": csrf_token(page), "password": WRONG})
        assert refused.status_code == 400
        assert (SLOWER in refused.text) == (attempt == 4), attempt


def test_a_one_second_wait_is_said_in_the_singular(app, make_user):
    make_user("victim@example.com")
    for _ in range(5):
        login(app.test_client(), "victim@example.com", WRONG)
    blocked = login(app.test_client(), "victim@example.com", GOOD_PASSWORD)
    assert blocked.status_code == 429
    assert blocked.headers["Retry-After"] == "1"
    assert form_error(blocked.text) == "Too many attempts. Wait 1 second, then try again."


def test_a_wait_longer_than_a_minute_is_said_in_minutes_with_a_countdown(app, make_user, clock):
    make_user("victim@example.com")
    login(app.test_client(), "victim@example.com", WRONG)
    with app.app_context():
        db.session.execute(update(LoginThrottle).where(LoginThrottle.key == throttle_key("victim@example.com"))
                           .values(retry_at=clock() + timedelta(seconds=150)))
        db.session.commit()
    blocked = login(app.test_client(), "victim@example.com", GOOD_PASSWORD)
    assert blocked.status_code == 429
    assert blocked.headers["Retry-After"] == "150"
    assert form_error(blocked.text) == "Too many attempts. Wait 3 minutes, then try again."
    box = re.search(r"<div [^>]*data-countdown[^>]*>", blocked.text)
    assert box is not None, "no countdown"
    attributes = {k: html.unescape(v) for k, v in re.findall(r'([\w-]+)="([^"]*)"', box[0])}
    assert attributes["data-seconds"] == "150"  # the script counts the same wait down, in its own words:
    assert json.loads(attributes["data-waiting-minutes"]) == {
        "one": "Too many attempts. Wait %(num)d minute, then try again.",
        "other": "Too many attempts. Wait %(num)d minutes, then try again."}
    assert json.loads(attributes["data-waiting"])["one"] == "Too many attempts. Wait %(num)d second, then try again."
    assert attributes["data-ready"] == "You can try again now."
    assert '<script src="/static/js/countdown.js" defer></script>' in blocked.text  # CSP: a file, not inline


def test_chinese_waits_are_in_minutes_too(app, make_user, clock):
    make_user("victim@example.com")
    login(app.test_client(), "victim@example.com", WRONG)
    with app.app_context():
        db.session.execute(update(LoginThrottle).values(retry_at=clock() + timedelta(seconds=61)))
        db.session.commit()
    browser = app.test_client()
    browser.set_cookie("lang", "zh_Hans")
    assert form_error(login(browser, "victim@example.com", GOOD_PASSWORD).text) == "尝试次数过多，请等待 2 分钟后重试。"


def end_sign_in_with_wrong_codes(app, email):
    browser = app.test_client()
    assert login(browser, email).headers["Location"].startswith("/2fa")
    for _ in range(4):
        assert send_totp(browser, "000000").status_code == 400
    ended = send_totp(browser, "000000")  # PENDING_MAX_FAILURES = 5
    assert ended.status_code == 302 and ended.headers["Location"] == "/login"
    return browser


def test_after_a_sign_in_ends_for_wrong_codes_the_address_is_filled_in_again(app, signed_in, enrollment):
    logout(signed_in)
    browser = end_sign_in_with_wrong_codes(app, "someone@example.com")
    page = browser.get("/login")
    assert "Too many wrong codes. Sign in again with your password." in page.text
    assert email_value(page.text) == "someone@example.com"
    inputs = re.findall(r"<input [^>]+>", page.text)
    assert [tag for tag in inputs if " autofocus" in tag] == [next(t for t in inputs if 'name="password"' in t)]
    assert email_value(browser.get("/login").text) in (None, "")  # once: a later visit starts empty


def test_a_fresh_sign_in_right_after_is_told_the_wait_once_before_its_first_code(app, signed_in, enrollment, clock):
    logout(signed_in)
    browser = end_sign_in_with_wrong_codes(app, "someone@example.com")  # the 5th failure: the account waits 1 s
    assert login(browser, "someone@example.com").headers["Location"].startswith("/2fa")
    page = browser.get("/2fa/verify?method=totp")
    assert page.status_code == 200
    assert form_error(page.text) == "Too many wrong codes. You can enter a code in 1 second."  # before any code
    assert visible(page.text).count("Too many") == 1 and "data-countdown" in page.text
    clock.advance(1)
    page = browser.get("/2fa/verify?method=totp")
    assert "Too many" not in page.text  # the wait is over
    wrong = browser.post("/2fa/verify?method=totp", data={"csrf_token": csrf_token(page), "code": "000000"})
    assert wrong.status_code == 400  # checked: the 6th failure, so the next code waits 2 s, which the page says
    assert "That code is not correct." in wrong.text
    assert form_error(wrong.text) == "Too many wrong codes. You can enter a code in 2 seconds."
    assert visible(wrong.text).count("Too many") == 1
    clock.advance(30)
    assert send_totp(browser, totp(enrollment.secret, clock())).headers["Location"] == "/account"


def test_a_code_sent_during_the_wait_is_refused_saying_the_wait_once(app, signed_in, enrollment, clock):
    logout(signed_in)
    clock.advance(30)  # a step whose code the enrollment did not use
    browser = end_sign_in_with_wrong_codes(app, "someone@example.com")
    login(browser, "someone@example.com")
    code = totp(enrollment.secret, clock())
    early = send_totp(browser, code)
    assert early.status_code == 429
    assert early.headers["Retry-After"] == "1"
    assert form_error(early.text) == "Too many wrong codes. You can enter a code in 1 second."
    assert visible(early.text).count("Too many") == 1
    clock.advance(1)
    assert send_totp(browser, code).headers["Location"] == "/account"  # the code was not spent by the refusal


def test_registration_tells_every_problem_at_once_and_keeps_the_address(client):
    page = client.get("/register")
    refused = client.post("/register", data={"csrf_token": csrf_token(page), "email": "new.person@example.com",
                                             "password": "short", "password_confirm": "other"})
    assert refused.status_code == 400
    assert "Use at least 8 characters." in refused.text
    assert "The two passwords do not match." in refused.text
    assert email_value(refused.text) == "new.person@example.com"
    refused = client.post("/register", data={"csrf_token": csrf_token(page), "email": "not an address",
                                             "password": "Password123", "password_confirm": "Password123"})
    assert refused.status_code == 400
    assert "Enter a valid email address" in refused.text
    assert "too common" in refused.text
    assert email_value(refused.text) == "not an address"
