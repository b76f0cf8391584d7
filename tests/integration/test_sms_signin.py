"""Signing in with a text message code through HTTP: sending, the countdown, the code's life, the budget."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.integration.sms_helpers import (
    LOCAL_PROVIDERS,
    MASKED,
    NEW_PHONE,
    PHONE,
    PROVIDERS,
    audit_rows,
    countdown,
    countdown_text,
    enter_code,
    give_phone,
    pending,
    send_code,
    sms_page,
    sms_state,
    wrong,
)
from tests.integration.totp_helpers import send_totp
from tests.support import csrf_token

EMAIL = "li.na@example.com"
TOO_SOON = "It is too soon to ask for another code."


@pytest.fixture(params=PROVIDERS)
def sms_provider(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def settings(sms_settings):
    return dict(sms_settings)


@pytest.fixture
def extras(app, make_user, clock):
    """EMAIL's account: a confirmed phone, recovery codes and an authenticator app."""
    return give_phone(app, make_user(EMAIL), PHONE, clock, totp=True)


def redeem(browser, code):
    page = browser.get("/2fa/recovery")
    return browser.post("/2fa/recovery", data={"csrf_token": csrf_token(page), "code": code})


def test_the_page_names_the_masked_number_and_a_get_sends_nothing(app, extras, sms_inbox, twilio):
    browser = pending(app, EMAIL)
    choose = browser.get("/2fa")
    assert choose.status_code == 200  # two methods: the user chooses; choosing SMS is a POST
    assert '<form method="post" action="/2fa/sms/send">' in choose.text
    for _ in range(3):
        page = sms_page(browser)
        assert page.status_code == 200
        assert f"We will text a 6-digit code to {MASKED}." in page.text
        assert 'name="code"' not in page.text  # nothing to enter before a code is sent
        assert "Send code" in page.text
        assert countdown(page.text) == 0
    assert browser.get("/2fa/sms/send").status_code == 405
    assert sms_inbox.count() == 0
    assert twilio.requests == []
    assert sms_state(app).sends == 0


def test_a_send_goes_to_the_verified_number_whatever_the_request_says(app, extras, sms_inbox):
    browser = pending(app, EMAIL)
    page = sms_page(browser)
    sent = browser.post(f"/2fa/sms/send?phone=%2B{NEW_PHONE[1:]}&To=%2B{NEW_PHONE[1:]}",
                        data={"csrf_token": csrf_token(page), "phone": NEW_PHONE, "To": NEW_PHONE,
                              "country": "GB", "user_id": "1"})
    assert sent.status_code == 303
    assert sent.headers["Location"] == "/2fa/verify?method=sms"
    assert sms_inbox.count(PHONE) == 1
    assert sms_inbox.count() == 1
    after = browser.get(sent.headers["Location"])
    assert f"We sent a 6-digit code by text message to {MASKED}." in after.text
    assert after.text.count("We sent") == 1 and 'class="flash' not in after.text  # the paragraph alone says so
    assert 'autocomplete="one-time-code"' in after.text
    for _ in range(2):
        assert sms_page(browser).status_code == 200
    assert sms_inbox.count() == 1  # opening the page again sends nothing
    assert sms_state(app).sends == 1


def test_the_right_code_signs_in_once(app, extras, sms_inbox, clock):
    browser = pending(app, EMAIL)
    send_code(browser)
    code = sms_inbox.last_code(PHONE)
    typed = code.translate(str.maketrans("0123456789", "０１２３４５６７８９"))  # a Chinese input method
    signed_in = enter_code(browser, typed[:3] + " " + typed[3:])
    assert signed_in.status_code == 302
    assert signed_in.headers["Location"] == "/account"
    account = browser.get("/account")
    assert account.status_code == 200
    assert f"Codes go to {MASKED}." in account.text and "Last used" in account.text
    assert audit_rows(app)[-1] == ("signin.second_factor", {"method": "sms", "recovery_codes_left": 10})

    again = pending(app, EMAIL)  # the spent code opens no other sign-in
    replayed = enter_code(again, code)
    assert replayed.status_code == 400
    assert again.get("/account").status_code == 302
    assert [(purpose, used) for _user, purpose, _checks, used in sms_state(app).codes] == [("sign_in", True)]


def test_wrong_sms_codes_share_the_account_budget_with_other_methods(app, extras, sms_inbox, clock):
    first = pending(app, EMAIL)
    clock.advance(30)
    assert send_totp(first, "000000").status_code == 400
    assert redeem(first, "ZZZZ-ZZZZ-ZZZZ").status_code == 400
    second = pending(app, EMAIL)
    send_code(second)
    code = sms_inbox.last_code(PHONE)
    for _ in range(2):
        refused = enter_code(second, wrong(code))
        assert refused.status_code == 400
        assert "That code is not correct. Check the newest text message and try again." in refused.text
    assert send_totp(first, "000000").status_code == 400  # the 5th failure on the account: delays start
    blocked = enter_code(second, code)
    assert blocked.status_code == 429
    assert blocked.headers["Retry-After"] == "1"
    assert "Too many wrong codes. You can enter a code in 1 second." in blocked.text
    clock.advance(1)
    assert enter_code(second, code).headers["Location"] == "/account"


def test_the_countdown_shows_the_cooldown_the_server_enforces(app, extras, sms_inbox, clock, sms_provider):
    cooldown = app.config["SMS_RESEND_COOLDOWN"]
    browser = pending(app, EMAIL)
    sent = send_code(browser)
    first = sms_inbox.last_code(PHONE)
    page = browser.get(sent.headers["Location"])
    assert countdown(page.text) == cooldown
    assert countdown_text(cooldown) in page.text
    assert "Resend code" in page.text
    [row] = sms_state(app).phones
    assert row.next_send_at == clock() + timedelta(seconds=cooldown)

    for waited, left in ((25, cooldown - 25), (10, cooldown - 35)):
        clock.advance(waited)
        assert countdown(sms_page(browser).text) == left
        early = send_code(browser)
        assert (early.status_code, early.headers["Location"]) == (303, "/2fa/verify?method=sms")
        back = browser.get(early.headers["Location"])
        assert countdown(back.text) == left
        assert back.text.count(countdown_text(left)) == 1  # the countdown's own text, and no second copy of it
        assert TOO_SOON in back.text
        assert sms_inbox.count(PHONE) == 1
    assert sms_state(app).sends == 1

    clock.advance(cooldown - 35)
    resent = send_code(browser)
    assert resent.status_code == 303
    assert sms_inbox.count(PHONE) == 2
    assert countdown(browser.get(resent.headers["Location"]).text) == cooldown
    newest = sms_inbox.last_code(PHONE)
    if sms_provider in LOCAL_PROVIDERS and newest != first:
        killed = enter_code(browser, first)
        assert killed.status_code == 400
        assert "That code is not correct." in killed.text
    assert enter_code(browser, newest).headers["Location"] == "/account"


@pytest.mark.parametrize("sms_provider", LOCAL_PROVIDERS)
def test_a_code_we_generate_lives_five_minutes(app, extras, sms_inbox, clock):
    ttl = app.config["SMS_CODE_TTL"]
    assert ttl == 300
    browser = pending(app, EMAIL)
    send_code(browser)
    clock.advance(ttl)
    expired = enter_code(browser, sms_inbox.last_code(PHONE))
    assert expired.status_code == 400
    assert browser.get("/account").status_code == 302
    assert sms_state(app).codes[0][3] is False  # (user, purpose, checks, used): not used
    assert send_code(browser).status_code == 303
    clock.advance(ttl - 1)
    assert enter_code(browser, sms_inbox.last_code(PHONE)).headers["Location"] == "/account"


@pytest.mark.parametrize("sms_provider", ["console"])
def test_an_expired_code_is_explained(app, extras, sms_inbox, clock):
    browser = pending(app, EMAIL)
    send_code(browser)
    clock.advance(app.config["SMS_CODE_TTL"])
    expired = enter_code(browser, sms_inbox.last_code(PHONE))
    assert expired.status_code == 400
    assert "That code has expired or was replaced by a newer one." in expired.text


def test_five_wrong_checks_kill_a_code(app, extras, sms_inbox, clock):
    assert app.config["SMS_MAX_CHECKS"] == 5
    first = pending(app, EMAIL)
    send_code(first)
    code = sms_inbox.last_code(PHONE)
    for _ in range(4):
        assert enter_code(first, wrong(code)).status_code == 400
    second = pending(app, EMAIL)  # a pending sign-in ends after 5 wrong codes; the text is the account's
    assert enter_code(second, wrong(code)).status_code == 400
    clock.advance(1)  # the account's delay after its 5th failure
    dead = enter_code(second, code)
    assert dead.status_code == 400
    assert "That code was entered wrongly too many times and no longer works. Send a new code." in dead.text
    assert second.get("/account").status_code == 302
    clock.advance(app.config["SMS_RESEND_COOLDOWN"])
    assert send_code(second).status_code == 303
    assert enter_code(second, sms_inbox.last_code(PHONE)).headers["Location"] == "/account"



def test_the_text_is_in_the_pages_language(app, extras, sms_inbox, twilio, sms_provider):
    browser = pending(app, EMAIL)
    browser.set_cookie("lang", "zh_Hans")  # the language switcher's choice
    assert send_code(browser).status_code == 303
    [text] = sms_inbox.texts(PHONE)
    assert "验证码" in text
    if sms_provider == "twilio_verify":
        assert twilio.requests[-1].form["Locale"] == ["zh-CN"]
    assert MASKED in sms_page(browser).text


BUILT_IN_TEXTS = {  # SMS_TEMPLATES unset: the site's name in the text's language and SMS_CODE_TTL in minutes
    "en": "Your 2FA Portal sign-in code is {code}. It expires in 5 minutes. Never share it.",
    "zh_Hans": "您的两步验证门户登录验证码是 {code}，5分钟内有效。请勿告诉任何人。",
}


@pytest.mark.parametrize("sms_provider", ["console", "twilio_messaging", "tencent"])  # Verify's words are Twilio's
@pytest.mark.parametrize("language", ["en", "zh_Hans"])
def test_the_text_says_how_many_minutes_the_code_is_valid(app, extras, sms_inbox, sms_provider, language):
    browser = pending(app, EMAIL)
    browser.set_cookie("lang", language)
    assert send_code(browser).status_code == 303
    [text] = sms_inbox.texts(PHONE)
    code = sms_inbox.last_code(PHONE)
    if sms_provider == "tencent":  # Tencent's approved template, given the minutes as {2}
        assert ("5 分钟内有效" if language == "zh_Hans" else "It expires in 5 minutes.") in text
    else:
        assert text == BUILT_IN_TEXTS[language].format(code=code)


# --- the page before and after a text (issue 17 point 4) -------------------------------------------------

SMS_ONLY = "only-a-phone@example.com"
MAIN_BUTTON = re.compile(r'<button type="submit"(?: data-[\w-]+)*>([^<]*)</button>')  # no class: a main action
H1, TITLE = re.compile(r"<h1>([^<]*)</h1>"), re.compile(r"<title>([^<]*) · ")
LABEL = re.compile(r'<p class="countdown-label"( hidden)?>([^<]*)</p>')


def words(language: str):
    """gettext in language, from the catalogue the app serves."""
    from babel.support import Translations

    from portal.settings.core import TRANSLATIONS

    return Translations.load(str(TRANSLATIONS), [language]).gettext


def main_of(page) -> str:
    return page.text.split("<main>", 1)[1].split("</main>", 1)[0]


@pytest.fixture
def sms_only(app, make_user, clock):
    """An account whose one second factor is its phone (and its recovery codes)."""
    return give_phone(app, make_user(SMS_ONLY), PHONE, clock)


@pytest.mark.parametrize("sms_provider", ["console"])
@pytest.mark.parametrize("language", ["en", "zh_Hans"])
def test_before_a_text_the_one_main_action_is_send_code(app, sms_only, sms_inbox, language):
    t = words(language)
    browser = pending(app, SMS_ONLY)
    browser.set_cookie("lang", language)
    chooser = browser.get("/2fa")
    assert chooser.status_code == 302 and chooser.headers["Location"].startswith("/2fa/verify?method=sms")
    page = browser.get(chooser.headers["Location"])
    assert page.status_code == 200
    assert H1.search(page.text).group(1) == TITLE.search(page.text).group(1) == t("Get a code by text message")
    assert t("Enter your code") not in page.text  # no heading asking for a code that cannot be typed yet
    assert 'name="code"' not in page.text
    assert MAIN_BUTTON.findall(main_of(page)) == [t("Send code")]
    assert LABEL.search(page.text).groups() == (" hidden", "")  # not "you can request a new code now"
    assert sms_inbox.count() == 0

    assert send_code(browser).status_code == 303  # then a code can be typed: Verify leads, Resend follows
    page = browser.get("/2fa/verify?method=sms")
    assert H1.search(page.text).group(1) == t("Enter your code")
    assert MAIN_BUTTON.findall(main_of(page)) == [t("Verify")]
    assert f'class="secondary" data-countdown-button>{t("Resend code")}<' in page.text


@pytest.mark.parametrize("sms_provider", ["console"])
def test_an_early_press_comes_back_to_the_page_without_javascript(app, extras, sms_inbox, clock):
    cooldown = app.config["SMS_RESEND_COOLDOWN"]
    browser = pending(app, EMAIL)
    token = csrf_token(sms_page(browser))
    assert browser.post("/2fa/sms/send?next=/account", data={"csrf_token": token}).status_code == 303
    clock.advance(20)
    early = browser.post("/2fa/sms/send?next=/account", data={"csrf_token": token})
    # Post/redirect/get: the address bar goes back to the page (a reload asks for nothing), which says the wait.
    assert early.status_code == 303
    assert early.headers["Location"] == "/2fa/verify?method=sms&next=/account"
    assert "Retry-After" not in early.headers
    page = browser.get(early.headers["Location"])
    assert page.status_code == 200
    wait = re.search(r'<p class="flash flash-warning" role="status" data-countdown-stale>([^<]*)</p>', page.text)
    assert wait and wait.group(1) == TOO_SOON  # no number in it: the countdown beside it has the seconds
    assert countdown(page.text) == cooldown - 20
    assert page.text.count(countdown_text(cooldown - 20)) == 1  # never a second, frozen, copy of the wait
    assert sms_inbox.count(PHONE) == 1
    assert browser.get("/2fa/verify?method=sms").text.count(TOO_SOON) == 0  # said once


@pytest.mark.parametrize("sms_provider", ["console"])
def test_the_flash_and_the_paragraph_do_not_both_say_sent(app, extras, sms_inbox, clock):
    browser = pending(app, EMAIL)
    first = browser.get(send_code(browser).headers["Location"])
    assert f"We sent a 6-digit code by text message to {MASKED}." in first.text
    assert 'class="flash' not in first.text
    clock.advance(app.config["SMS_RESEND_COOLDOWN"])
    again = browser.get(send_code(browser).headers["Location"])
    assert '<p class="flash flash-info" role="status">Enter the code from the newest text message.</p>' in again.text
    assert again.text.count("We sent") == 1  # the paragraph; the flash says which text to use, not "sent" again
