"""End to end in headless Chromium: add a phone, sign in with a texted code, wait out the resend countdown.

The portal sends its texts through the real twilio SDK to the loopback Twilio double (never a mock in
Python); the test reads each code from the double's inbox, as a person reads their phone. The server's
clock is a FakeClock started at the real time; the resend countdown runs in the page's JavaScript with
real time, so the cooldown is short (COOLDOWN seconds) and the test watches it with expect(), then moves
the server's clock on by the same amount, as the seconds the person waited.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from babel import Locale
from playwright.sync_api import Page, expect

from tests.e2e.helpers import (
    ARTIFACTS,
    EN,
    PHONE,
    PHONE_FULL,
    PHONE_MASKED,
    READY,
    WAITING,
    ZH,
    ConsoleError,
    Inbox,
    Words,
    answered,
    assert_full_number,
    assert_no_full_number,
    card,
    countdown_label,
    enter_code,
    enter_phone,
    expect_counting,
    expect_ready,
    expect_signed_in,
    expect_sms_verify_page,
    field_errors,
    form_alert,
    heading,
    main,
    open_phone_setup,
    page_without_javascript,
    recovery_codes_shown,
    register,
    resend_button,
    save_recovery_codes,
    sign_in,
    sign_out,
    unexpected_errors,
    wrong_code,
)
from tests.support import FakeClock
from tests.twilio_double.server import TwilioDouble

pytestmark = pytest.mark.e2e

EMAIL = "sms-e2e@example.com"
COOLDOWN = 3  # SMS_RESEND_COOLDOWN for these tests: the page's countdown runs in real seconds
COUNTDOWN_TIMEOUT = (COOLDOWN + 7) * 1000  # ms: the countdown reaching zero, with room for a slow machine
NOT_CORRECT = "That code is not correct. Check the newest text message and try again."
EN_ENROLL_TEXT = "Your 2FA Portal code to confirm this phone is {code}. It expires in 5 minutes. Never share it."
EN_SIGN_IN_TEXT = "Your 2FA Portal sign-in code is {code}. It expires in 5 minutes. Never share it."
TOTP_FIRST = "Your authenticator app is set up."  # what the codes page says after a first authenticator
BEFORE_A_TEXT = "Get a code by text message"  # the SMS step's heading while there is no code to type
TOO_SOON = "It is too soon to ask for another code."
NEWEST = "Enter the code from the newest text message."


@pytest.fixture
def sms_provider() -> str:
    return "twilio_messaging"


@pytest.fixture
def live_settings(sms_settings: dict[str, Any]) -> dict[str, Any]:
    """The live server texts through sms_provider pointed at the Twilio double, with a short cooldown."""
    return {**sms_settings, "SMS_RESEND_COOLDOWN": COOLDOWN}


def url_is(base: str, path: str) -> Callable[[Any], bool]:
    """A response predicate: a GET of base+path (any query)."""
    return lambda r: r.request.method == "GET" and r.url.split("?")[0] == base + path


def server_countdown(html: str, words: Words, seconds: int) -> None:
    """The page as the server sent it (before any script) says the exact wait, in data-seconds too."""
    assert f'data-seconds="{seconds}"' in html, "the resend box does not carry the server's wait"
    assert words.plural(WAITING, seconds) in html, f"the page does not say {words.plural(WAITING, seconds)!r}"


def test_enroll_a_phone_and_sign_in_with_a_resent_code(
    live_server: str, live_clock: FakeClock, browser_page: Page, screenshot: Callable[[str], Path],
    console_errors: list[ConsoleError], twilio: TwilioDouble,
) -> None:
    page, base, clock, inbox = browser_page, live_server, live_clock, Inbox(twilio)
    refused: list[ConsoleError] = []  # forms the server answers with 400, which Chromium logs

    # 1. /account → "Add a phone number": no password prompt right after registering.
    register(page, base, EMAIL)
    open_phone_setup(page, base)
    expect(main(page)).to_contain_text("Enter your mobile number. We will text it a 6-digit code")
    screenshot("01-phone")
    assert inbox.count() == 0

    # 2. The number typed the way people write it, with China (+86) preselected; one text goes out.
    with page.expect_response(url_is(base, "/account/2fa/sms/confirm")) as confirm_page:
        enter_phone(page)
    expect(page).to_have_url(f"{base}/account/2fa/sms/confirm")
    expect(heading(page, "Confirm your phone")).to_be_visible()
    expect(main(page)).to_contain_text(f"We sent a 6-digit code to {PHONE_FULL}. Enter it below.")
    expect(page.locator(".flash")).to_have_count(0)  # the paragraph alone says it was sent
    assert_full_number(page)  # the number just typed, in full: a typo shows
    assert inbox.count() == 1
    assert inbox.bodies()[-1] == EN_ENROLL_TEXT.format(code=inbox.latest())
    # The countdown: the server's exact wait in the HTML, then the script counting with the button off.
    server_countdown(confirm_page.value.text(), EN, COOLDOWN)
    expect_counting(page)
    screenshot("02-confirm-counting")

    # 3. A wrong code: a clear error and a 400; the right one from the text finishes the enrollment.
    bad = wrong_code(inbox.latest())
    with answered(page, 400, console_errors, "/account/2fa/sms/confirm") as wrong:
        enter_code(page, bad, "Confirm")
    refused.append(wrong["error"])
    expect(heading(page, "Confirm your phone")).to_be_visible()
    expect(field_errors(page)).to_have_text(NOT_CORRECT)
    expect(page.get_by_label("Code", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Code", exact=True)).to_have_value("")
    assert_full_number(page)
    screenshot("03-confirm-wrong-code")
    enter_code(page, inbox.latest(), "Confirm")

    # 4. The first second factor comes with recovery codes; then /account shows the phone, masked.
    recovery_codes_shown(page)
    expect(main(page)).not_to_contain_text(TOTP_FIRST)  # a phone was added, not an authenticator app
    screenshot("04-recovery-codes")
    save_recovery_codes(page, base)
    phone_card = card(page, "Text message (SMS)")
    expect(phone_card).to_contain_text(f"Codes go to {PHONE_MASKED}.")
    expect(phone_card).to_contain_text("Not used to sign in yet.")
    expect(phone_card.get_by_role("link", name="Change or remove", exact=True)).to_be_visible()
    assert_no_full_number(page)
    screenshot("05-account")

    # 5. Sign in again a minute later. The SMS page (the only method) offers to send a code; opening it
    #    sends nothing, and nothing on it speaks of a code that does not exist yet.
    clock.advance(60)
    sign_out(page, base)
    texts, calls = inbox.count(), len(twilio.requests)
    sign_in(page, base, EMAIL)
    expect_sms_verify_page(page, base, title=BEFORE_A_TEXT)
    expect(main(page)).to_contain_text(f"We will text a 6-digit code to {PHONE_MASKED}.")
    expect(page.get_by_label("Code", exact=True)).to_have_count(0)
    expect(resend_button(page, name="Send code")).to_be_enabled()
    expect(countdown_label(page)).to_be_hidden()
    expect(main(page)).not_to_contain_text(READY)
    assert_no_full_number(page)
    assert (inbox.count(), len(twilio.requests)) == (texts, calls), "a GET of the verify page sent a text"
    screenshot("06-verify-before-send")

    # 6. "Send code": one text, and the countdown starts from the server's cooldown.
    with page.expect_response(url_is(base, "/2fa/verify")) as verify_page:
        resend_button(page, name="Send code").click()
    expect_sms_verify_page(page, base)
    expect(page.locator(".flash")).to_have_count(0)
    expect(main(page)).to_contain_text(f"We sent a 6-digit code by text message to {PHONE_MASKED}.")
    assert inbox.count() == texts + 1
    assert inbox.bodies()[-1] == EN_SIGN_IN_TEXT.format(code=inbox.latest())
    server_countdown(verify_page.value.text(), EN, COOLDOWN)
    expect_counting(page)
    first_code = inbox.latest()
    screenshot("07-verify-counting")

    # 7. Without JavaScript the button is not held back: pressing it early comes back to the page, which waits.
    early_resend_without_javascript(page, base)
    assert inbox.count() == texts + 1, "a resend inside the cooldown sent a text"

    # 8. The countdown reaches zero in the page; the person has waited COOLDOWN seconds (the server's
    #    clock too), resends, and gets a second text.
    expect_ready(page, timeout=COUNTDOWN_TIMEOUT)
    screenshot("08-verify-ready")
    clock.advance(COOLDOWN)
    resend_button(page).click()
    expect_sms_verify_page(page, base)
    expect(page.get_by_role("status")).to_have_text(NEWEST)
    expect_counting(page)
    assert inbox.count() == texts + 2
    latest = inbox.latest()
    assert latest != first_code, "the resent text repeats the first code (one chance in a million)"

    # 9. The older code died with the resend (twilio_messaging replaces the code); the newest one works.
    with answered(page, 400, console_errors, "/2fa/verify") as older:
        enter_code(page, first_code, "Verify")
    refused.append(older["error"])
    expect_sms_verify_page(page, base)
    expect(field_errors(page)).to_have_text(NOT_CORRECT)
    screenshot("09-verify-older-code")
    enter_code(page, latest, "Verify")
    expect_signed_in(page, base)
    expect(card(page, "Text message (SMS)")).to_contain_text(re.compile(r"Last used .+ UTC\."))

    # 10. Nothing on the console but the two refused codes.
    assert unexpected_errors(console_errors, refused) == []


def early_resend_without_javascript(js_page: Page, base: str) -> None:
    """In a browser without JavaScript: sign in, press "Resend code" inside the cooldown → a 303 back to the page
    (never left on /2fa/sms/send), whose countdown gives the exact wait and whose flash says why nothing came.

    The server's clock has not moved since the text went out, so the wait is the whole cooldown.
    """
    with page_without_javascript(js_page) as (page, errors):
        sign_in(page, base, EMAIL)
        expect_sms_verify_page(page, base)
        # The phone's code is out (this sign-in shares it): the server-rendered countdown, button enabled.
        expect(main(page)).to_contain_text(f"We sent a 6-digit code by text message to {PHONE_MASKED}.")
        expect(countdown_label(page)).to_have_text(EN.plural(WAITING, COOLDOWN))
        expect(resend_button(page)).to_be_enabled()
        with page.expect_response(lambda r: r.request.method == "POST" and "/2fa/sms/send" in r.url) as early:
            resend_button(page).click()
        assert early.value.status == 303, early.value.status
        expect_sms_verify_page(page, base)  # post/redirect/get: the address is the page's again
        assert "/2fa/sms/send" not in page.url, page.url
        expect(page.get_by_role("status")).to_have_text(TOO_SOON)
        expect(countdown_label(page)).to_have_text(EN.plural(WAITING, COOLDOWN))
        expect(form_alert(page)).to_have_count(0)
        assert_no_full_number(page)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "test_enroll_a_phone_and_sign_in_with_a_resent_code-nojs-early.png"),
                        full_page=True)
        assert [str(e) for e in errors] == []


@pytest.mark.parametrize("sms_provider", ["twilio_messaging", "twilio_verify", "tencent"])
@pytest.mark.parametrize("browser_locale", ["zh-CN"])
def test_enroll_and_sign_in_by_sms_in_chinese(
    live_server: str, live_clock: FakeClock, browser_page: Page, screenshot: Callable[[str], Path],
    console_errors: list[ConsoleError], twilio: TwilioDouble, sms_provider: str, browser_locale: str,
    request: pytest.FixtureRequest,
) -> None:
    tencent = request.getfixturevalue("tencent") if sms_provider == "tencent" else None
    inbox = Inbox(tencent or twilio)
    page, base, clock, t = browser_page, live_server, live_clock, ZH
    china = f"{Locale.parse('zh_Hans').territories['CN']} (+86)"

    # 1. Accept-Language zh-CN: the whole enrollment in Chinese.
    register(page, base, EMAIL, t=t)
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    open_phone_setup(page, base, t)
    with page.expect_response(url_is(base, "/account/2fa/sms/confirm")) as confirm_page:
        enter_phone(page, t, country=china)
    expect(heading(page, t("Confirm your phone"))).to_be_visible()
    expect(page.locator(".flash")).to_have_count(0)
    expect(main(page)).to_contain_text(t("We sent a 6-digit code to %(phone)s. Enter it below.", phone=PHONE_FULL))
    server_countdown(confirm_page.value.text(), t, COOLDOWN)
    expect_counting(page, t)
    expect(resend_button(page, t)).to_be_visible()
    assert_full_number(page)
    screenshot("01-confirm-zh")
    enter_code(page, inbox.latest(), "Confirm", t)
    recovery_codes_shown(page, t)
    save_recovery_codes(page, base, t)  # and signed in
    expect(card(page, "Text message (SMS)", t)).to_contain_text(t("Codes go to %(phone)s.", phone=PHONE_MASKED))

    # 2. Sign in by SMS in Chinese: send, wait for the countdown, resend, enter the newest code.
    clock.advance(60)
    sign_out(page, base, t)
    sign_in(page, base, EMAIL, t)
    expect_sms_verify_page(page, base, t, title=BEFORE_A_TEXT)
    expect(main(page)).to_contain_text(t("We will text a 6-digit code to %(phone)s.", phone=PHONE_MASKED))
    expect(countdown_label(page)).to_be_hidden()
    resend_button(page, t, "Send code").click()
    expect_sms_verify_page(page, base, t)
    expect(main(page)).to_contain_text(t("We sent a 6-digit code by text message to %(phone)s.", phone=PHONE_MASKED))
    expect_counting(page, t)
    screenshot("02-verify-counting-zh")
    expect_ready(page, t, timeout=COUNTDOWN_TIMEOUT)
    clock.advance(COOLDOWN)
    resend_button(page, t).click()
    expect_sms_verify_page(page, base, t)
    expect_counting(page, t)
    enter_code(page, inbox.latest(), "Verify", t)
    expect_signed_in(page, base, t)

    # 3. The texts themselves were in Chinese: our own text (twilio_messaging), Verify's in Locale zh-CN, or
    #    Tencent's approved Chinese templates under the signature.
    bodies = inbox.bodies()
    assert len(bodies) == 3, bodies  # enrollment, sign-in, resend
    assert all("验证码" in body and "code" not in body for body in bodies), bodies
    if sms_provider == "twilio_verify":
        sends = [r for r in twilio.requests if r.operation == "CreateVerification"]
        assert [(r.form.get("To"), r.form.get("Locale")) for r in sends] == [([PHONE], ["zh-CN"])] * 3, sends
    elif tencent is not None:
        assert twilio.requests == []
        sends = [(r.body or {}).get("TemplateId") for r in tencent.requests]
        assert sends == ["2100003", "2100001", "2100001"], sends  # enroll, sign-in, resend: the zh_Hans ids
        assert all(body.startswith(f"【{tencent.sign_name}】") for body in bodies), bodies
    else:
        assert [r.operation for r in twilio.requests] == ["CreateMessage"] * 3
        assert all("两步验证门户" in body and "5分钟内有效" in body for body in bodies), bodies

    assert unexpected_errors(console_errors) == []


def test_a_refused_early_resend_with_javascript_and_a_language_switch_after_it(
    live_server: str, browser_page: Page, console_errors: list[ConsoleError], twilio: TwilioDouble,
) -> None:
    """A resend inside the cooldown that reaches the server anyway (a second tab, a fast double press): the red
    wait message goes when the countdown reaches zero (it would contradict it), the held-back button looks
    held back, and switching language on that answer returns to the page the form was on, not to a POST-only
    address (which answered 405)."""
    page, base = browser_page, live_server
    register(page, base, "early-e2e@example.com")
    open_phone_setup(page, base)
    enter_phone(page)
    expect(page).to_have_url(f"{base}/account/2fa/sms/confirm")
    expect_counting(page)
    button = resend_button(page)
    assert button.evaluate("b => getComputedStyle(b).opacity") == "0.5"
    assert button.evaluate("b => getComputedStyle(b).cursor") == "not-allowed"
    with answered(page, 429, console_errors, "/account/2fa/sms/resend"):
        page.evaluate("document.querySelector('[data-countdown-button]').form.submit()")
    expect(form_alert(page)).to_have_text(TOO_SOON)  # no number to stand still: the countdown below has it
    expect_counting(page)
    expect_ready(page, timeout=COUNTDOWN_TIMEOUT)
    expect(form_alert(page)).to_be_hidden()  # no "wait 3 seconds" beside "you can request a new code now"
    assert button.evaluate("b => getComputedStyle(b).opacity") == "1"
    assert page.locator("footer input[name=next]").input_value() == "/account/2fa/sms/confirm"
    with page.expect_response(lambda r: r.url == f"{base}/account/2fa/sms/confirm") as back:
        page.locator("footer").get_by_role("button", name="中文").click()
    assert back.value.status == 200
    expect(heading(page, ZH("Confirm your phone"))).to_be_visible()
    assert len(twilio.inbox(PHONE)) == 1  # nothing but the first text went out
