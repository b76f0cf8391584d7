"""In Chromium, at 390 and 1280 px wide, in English and in Chinese (issue 17, points 4, 5 and 11).

The SMS sign-in step before and after a text: before it, "Send code" is the one main button and nothing speaks of
a code that does not exist; after an early press no number stands still beside the live countdown; the texts
(read from the Twilio double's inbox) say how many minutes the code lasts. The phone form: the country select is
as wide as the number field and drawn like it, its countries in the order of the page's language, and the
confirmation step reads the typed number back in full. SITE_NAME: page titles, the header and the issuer in the
authenticator app's QR code.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import (
    EN,
    PHONE,
    PHONE_FULL,
    PHONE_MASKED,
    READY,
    ZH,
    ConsoleError,
    Inbox,
    Words,
    assert_full_number,
    countdown_label,
    enter_code,
    enter_phone,
    expect_counting,
    expect_ready,
    expect_signed_in,
    expect_sms_verify_page,
    heading,
    main,
    open_phone_setup,
    open_setup,
    read_setup_key,
    register,
    resend_button,
    sign_in,
    unexpected_errors,
)
from tests.integration.sms_helpers import give_phone
from tests.support import FakeClock
from tests.twilio_double.server import TwilioDouble

pytestmark = pytest.mark.e2e

COOLDOWN = 3  # SMS_RESEND_COOLDOWN: the page's countdown runs in real seconds
COUNTDOWN_TIMEOUT = (COOLDOWN + 7) * 1000
WIDTHS = (390, 1280)
LOCALES = ("en-US", "zh-CN")
BEFORE_A_TEXT = "Get a code by text message"
TOO_SOON = "It is too soon to ask for another code."
NEWEST = "Enter the code from the newest text message."
ACCENT = "rgb(31, 95, 209)"  # --accent: the background of a page's main button
SITE = {"en-US": "2FA Portal", "zh-CN": "两步验证门户"}
SIGN_IN_TEXT = {  # the built-in texts: the site's name and SMS_CODE_TTL (300 s) in minutes
    "en-US": "Your 2FA Portal sign-in code is {code}. It expires in 5 minutes. Never share it.",
    "zh-CN": "您的两步验证门户登录验证码是 {code}，5分钟内有效。请勿告诉任何人。",
}
ENROLL_TEXT = {
    "en-US": "Your 2FA Portal code to confirm this phone is {code}. It expires in 5 minutes. Never share it.",
    "zh-CN": "您的两步验证门户手机验证码是 {code}，5分钟内有效。请勿告诉任何人。",
}
COUNTRIES = {  # the first three, the last, and the regions whose Chinese names are Tencent's, not CLDR's
    "en-US": (["Afghanistan (+93)", "Åland Islands (+358)", "Albania (+355)"], "Zimbabwe (+263)",
              {"HK": "Hong Kong SAR China (+852)", "MO": "Macao SAR China (+853)", "TW": "Taiwan (+886)"}),
    "zh-CN": (["阿尔巴尼亚 (+355)", "阿尔及利亚 (+213)", "阿富汗 (+93)"], "中国香港 (+852)",
              {"HK": "中国香港 (+852)", "MO": "中国澳门 (+853)", "TW": "中国台湾 (+886)"}),
}


@pytest.fixture
def sms_provider() -> str:
    return "twilio_messaging"


@pytest.fixture
def site_name() -> str | None:
    """SITE_NAME for the live server (None: the default, translated per language)."""
    return None


@pytest.fixture
def live_settings(sms_settings: dict[str, Any], site_name: str | None) -> dict[str, Any]:
    return {**sms_settings, "SMS_RESEND_COOLDOWN": COOLDOWN, **({"SITE_NAME": site_name} if site_name else {})}


def words(locale: str) -> Words:
    return ZH if locale == "zh-CN" else EN


def main_buttons(page: Page) -> list[str]:
    """The visible buttons of the page's main part drawn as its main action (the accent background)."""
    return page.evaluate("""accent => [...document.querySelectorAll('main button')]
        .filter(b => b.offsetParent !== null && getComputedStyle(b).backgroundColor === accent)
        .map(b => b.textContent.trim())""", ACCENT)


def fits(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways"


def numbers_beside_the_countdown(page: Page) -> list[str]:
    """Visible messages in main, other than the countdown itself, that hold a number (a wait that stands still)."""
    return page.evaluate("""() => [...document.querySelectorAll('main .flash, main .form-error, main p')]
        .filter(el => el.offsetParent !== null && !el.classList.contains('countdown-label'))
        .map(el => el.textContent.trim()).filter(text => /[0-9]/.test(text) && !text.includes('•'))""")


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("browser_locale", LOCALES)
def test_the_sms_step_before_and_after_a_text(
    live_server: str, live_clock: FakeClock, browser_page: Page, screenshot: Callable[[str], Path],
    console_errors: list[ConsoleError], twilio: TwilioDouble, app: Any, make_user: Any, browser_locale: str,
    width: int,
) -> None:
    page, base, clock, inbox, t = browser_page, live_server, live_clock, Inbox(twilio), words(browser_locale)
    email = f"sms-step-{width}@example.com"
    give_phone(app, make_user(email), PHONE, clock)  # the phone is this account's one second factor
    page.set_viewport_size({"width": width, "height": 900})

    # 1. Before a text: the page asks for one; "Send code" is its one main button; no "new code now".
    sign_in(page, base, email, t)
    expect_sms_verify_page(page, base, t, title=BEFORE_A_TEXT)
    expect(page).to_have_title(f"{t(BEFORE_A_TEXT)} · {SITE[browser_locale]}")
    expect(heading(page, t("Enter your code"))).to_have_count(0)
    expect(page.get_by_label(t("Code"), exact=True)).to_have_count(0)
    assert main_buttons(page) == [t("Send code")]
    expect(countdown_label(page)).to_be_hidden()
    expect(main(page)).not_to_contain_text(t(READY))
    fits(page)
    screenshot("01-before-a-text")
    assert inbox.count() == 0

    # 2. "Send code": the code can be typed now; Verify leads, "Resend code" waits behind the countdown.
    resend_button(page, t, "Send code").click()
    expect_sms_verify_page(page, base, t)
    expect(page.locator(".flash")).to_have_count(0)  # the paragraph says it was sent, once
    expect(main(page)).to_contain_text(t("We sent a 6-digit code by text message to %(phone)s.", phone=PHONE_MASKED))
    expect_counting(page, t)
    assert main_buttons(page) == [t("Verify")]
    assert inbox.bodies()[-1] == SIGN_IN_TEXT[browser_locale].format(code=inbox.latest())
    first = inbox.latest()
    screenshot("02-counting")

    # 3. A press that reaches the server during the countdown (a second tab): a 303 back to the page, a flash
    #    without a number, and only the live countdown gives the seconds; at zero the flash goes.
    with page.expect_response(lambda r: r.request.method == "POST" and "/2fa/sms/send" in r.url) as early:
        page.evaluate("document.querySelector('[data-countdown-button]').form.submit()")
    assert early.value.status == 303
    expect_sms_verify_page(page, base, t)
    flash = page.get_by_role("status").filter(has_text=t(TOO_SOON))
    expect(flash).to_be_visible()
    expect_counting(page, t)
    before = countdown_label(page).inner_text()
    expect(countdown_label(page)).not_to_have_text(before, timeout=3_000)  # it counts
    assert numbers_beside_the_countdown(page) == []
    screenshot("03-early-press")
    expect_ready(page, t, timeout=COUNTDOWN_TIMEOUT)
    expect(flash).to_be_hidden()  # "too soon" would contradict "you can request a new code now"
    assert inbox.count() == 1

    # 4. The resend (the person waited: the server's clock too) and the newest code signs in.
    clock.advance(COOLDOWN)
    resend_button(page, t).click()
    expect(page.get_by_role("status")).to_have_text(t(NEWEST))
    expect_counting(page, t)
    assert inbox.count() == 2 and inbox.latest() != first
    enter_code(page, inbox.latest(), "Verify", t)
    expect_signed_in(page, base, t)
    assert unexpected_errors(console_errors) == []


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("browser_locale", LOCALES)
def test_the_phone_form_and_its_confirmation_step(
    live_server: str, browser_page: Page, screenshot: Callable[[str], Path], console_errors: list[ConsoleError],
    twilio: TwilioDouble, browser_locale: str, width: int,
) -> None:
    page, base, inbox, t = browser_page, live_server, Inbox(twilio), words(browser_locale)
    page.set_viewport_size({"width": width, "height": 900})
    register(page, base, f"phone-form-{width}@example.com", t)
    open_phone_setup(page, base, t)

    # The select is drawn like the number field: the same left edge, width, height, border, corners, text.
    select = page.get_by_label(t("Country or region"), exact=True)
    number = page.get_by_label(t("Mobile number"), exact=True)
    boxes = [field.bounding_box() for field in (select, number)]
    assert all(boxes), boxes
    (s, n) = boxes
    assert abs(s["x"] - n["x"]) < 0.5 and abs(s["width"] - n["width"]) < 0.5, (s, n)
    assert abs(s["height"] - n["height"]) < 1.5, (s, n)
    style = ("el => { const c = getComputedStyle(el); return [c.borderTopWidth, c.borderTopColor, "
             "c.borderTopLeftRadius, c.paddingLeft, c.fontSize, c.fontFamily, c.backgroundColor]; }")
    assert select.evaluate(style) == number.evaluate(style)
    fits(page)

    # The countries in the page's language and its order: alphabetical, or pinyin with Tencent's region names.
    first, last, named = COUNTRIES[browser_locale]
    options = select.locator("option")
    shown = options.all_inner_texts()
    assert shown[:3] == first and shown[-1] == last, (shown[:3], shown[-1])
    for code, label in named.items():
        expect(select.locator(f'option[value="{code}"]')).to_have_text(label)
    screenshot("01-phone-form")

    # The confirmation step reads the number just typed back in full, so a typo shows; no flash repeats it.
    china = "中国 (+86)" if browser_locale == "zh-CN" else "China (+86)"
    enter_phone(page, t, country=china)
    expect(heading(page, t("Confirm your phone"))).to_be_visible()
    expect(main(page)).to_contain_text(t("We sent a 6-digit code to %(phone)s. Enter it below.", phone=PHONE_FULL))
    expect(page.locator(".flash")).to_have_count(0)
    assert_full_number(page)
    assert inbox.bodies()[-1] == ENROLL_TEXT[browser_locale].format(code=inbox.latest())
    fits(page)
    screenshot("02-confirm")
    assert unexpected_errors(console_errors) == []


@pytest.mark.parametrize("site_name", [None, "Acme Sign-in"])
@pytest.mark.parametrize("browser_locale", LOCALES)
def test_site_name_in_titles_the_header_and_the_issuer(
    live_server: str, browser_page: Page, console_errors: list[ConsoleError], tmp_path: Path, browser_locale: str,
    site_name: str | None,
) -> None:
    page, base, t = browser_page, live_server, words(browser_locale)
    name = site_name or SITE[browser_locale]
    register(page, base, "site-name@example.com", t)
    expect(page).to_have_title(f"{t('Security')} · {name}")
    expect(page.locator("header .brand")).to_have_text(name)
    if browser_locale == "zh-CN" and site_name is None:
        assert "2FA Portal" not in page.content()
    open_setup(page, base, t)
    uri, fields = read_setup_key(page, tmp_path)
    assert (fields["issuer"], fields["label_issuer"]) == (name, name), uri
    expect(main(page)).to_contain_text(name)  # "Account name: <issuer> (<email>)"
    assert re.match(r"otpauth://totp/", uri)
    assert unexpected_errors(console_errors) == []
