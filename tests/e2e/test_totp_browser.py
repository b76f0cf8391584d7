"""End to end in headless Chromium: set up an authenticator app, then sign in with its codes.

The server's clock is a FakeClock started at the real time (so the page's JavaScript countdown and the
server roughly agree) and moved on by hand: no test waits 30 s for a new code. Every code comes from
tests/otp.py (our own RFC 6238 code, checked once against oathtool), never from the portal or pyotp.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import (
    ISSUER,
    STEP,
    VERIFY_URL,
    ZH,
    ConsoleError,
    card,
    enroll_and_show_codes,
    enter_code,
    expect_refused,
    expect_signed_in,
    expect_verify_page,
    field_errors,
    heading,
    open_setup,
    page_without_javascript,
    read_setup_key,
    recovery_codes_shown,
    register,
    save_recovery_codes,
    sign_in,
    sign_out,
    unexpected_errors,
    wrong_code,
)
from tests.otp import decode_qr, oathtool_code, parse_otpauth, totp
from tests.support import FakeClock

pytestmark = pytest.mark.e2e

EMAIL = "totp-e2e@example.com"
NOT_CORRECT = "That code is not correct. Check that you are reading the code for this site and try again."
REPLAYED_START = "That code was already used."
BASE32_SECRET = re.compile(r"[A-Z2-7]{32}")
ADDED_UTC = re.compile(r"Added .+ UTC\.")


def wrong_totp(secret: str, at: datetime) -> str:
    """A 6-digit code that matches no step the portal looks at (±1 accepted, ±10 reported as clock skew)."""
    return wrong_code(*(totp(secret, at, offset) for offset in range(-12, 13)))


def test_set_up_an_authenticator_app_and_sign_in_with_its_codes(
    live_server: str, live_clock: FakeClock, browser_page: Page, screenshot: Callable[[str], Path],
    console_errors: list[ConsoleError], tmp_path: Path,
) -> None:
    page, base, clock = browser_page, live_server, live_clock

    # 1. A new account starts without an authenticator; registering counts as a fresh password
    #    confirmation, so "Set up an authenticator app" opens the setup page without a password prompt.
    register(page, base, EMAIL)
    app_card = card(page, "Authenticator app")
    expect(app_card).to_contain_text("Use Google Authenticator, Authy, Microsoft Authenticator")
    expect(page.locator("dl.facts")).to_contain_text("Not set up")
    path = open_setup(page, base)
    assert path == "direct", "registering should count as a fresh password confirmation (FRESH_AUTH_SECONDS)"

    # 2. The QR code, read from the pixels the browser drew, holds a standard otpauth URI.
    uri, fields = read_setup_key(page, tmp_path)
    secret = fields["secret"]
    assert fields["type"] == "totp", uri
    # Drawn at its own pixel size (not scaled by a border inside its box): every module the same size.
    drawn = page.locator("#totp-qr").evaluate("i => [i.clientWidth, i.clientHeight, i.naturalWidth, i.naturalHeight]")
    assert drawn[:2] == drawn[2:], drawn
    assert fields["label_issuer"] == ISSUER and fields["issuer"] == ISSUER, uri
    assert fields["account"] == EMAIL, uri
    raw_secret = re.search(r"[?&]secret=([^&]*)", uri)
    assert raw_secret and BASE32_SECRET.fullmatch(raw_secret.group(1)), uri  # 32 characters, no "=" padding
    assert (fields["algorithm"], fields["digits"], fields["period"]) == ("SHA1", "6", "30"), uri
    key = page.locator("#totp-key")
    expect(key).to_be_hidden()  # folded away until asked for
    page.get_by_text("Can't scan? Enter the key by hand", exact=True).click()
    expect(key).to_be_visible()
    expect(key).to_have_text(re.compile(r"^([A-Z2-7]{4} ){7}[A-Z2-7]{4}$"))
    assert key.inner_text().replace(" ", "") == secret
    # The hint names the account as the QR code does (issuer and email: fields above), not the issuer alone.
    expect(page.locator("details.manual-key")).to_contain_text(
        f"Account name: {ISSUER} ({EMAIL}). Spaces in the key do not matter.")
    assert oathtool_code(secret, clock()) == totp(secret, clock()), "tests/otp.py disagrees with oathtool"

    # 3. The countdown hint is filled in and shown by the page's script (it starts hidden; without
    #    JavaScript it stays hidden: see test_setup_works_without_javascript).
    countdown = page.locator(".totp-countdown")
    expect(countdown).to_be_visible()
    expect(countdown.locator(".label")).to_have_text(re.compile(r"^New code in \d+ s$"))
    shown = re.fullmatch(r"New code in (\d+) s", countdown.locator(".label").inner_text())
    assert shown and 1 <= int(shown.group(1)) <= STEP, shown
    screenshot("01-setup")

    # 4. A wrong code is refused on the setup page; the right one finishes the setup.
    bad = wrong_totp(secret, clock())
    refused_setup = expect_refused(page, console_errors, lambda: enter_code(page, bad, "Confirm"))
    assert refused_setup.url == f"{base}/account/2fa/totp", refused_setup
    expect(page).to_have_url(f"{base}/account/2fa/totp")
    expect(heading(page, "Set up an authenticator app")).to_be_visible()
    expect(field_errors(page)).to_have_text(NOT_CORRECT)
    expect(page.get_by_label("Code", exact=True)).to_have_attribute("aria-invalid", "true")
    assert read_setup_key(page, tmp_path)[1]["secret"] == secret, "a wrong code must not change the key"
    screenshot("02-setup-wrong-code")
    # The first authenticator comes with recovery codes, shown once in the answer to the confirmation.
    enter_code(page, totp(secret, clock()), "Confirm")
    expect(page).to_have_url(f"{base}/account/2fa/totp")
    codes = recovery_codes_shown(page)
    expect(page.locator("main")).to_contain_text("Your authenticator app is set up.")
    actions = page.locator(".code-actions")
    for name in ("Download (.txt)", "Print", "Copy"):
        expect(actions.get_by_role("button", name=name, exact=True)).to_be_visible()
    expect(page.get_by_label("I have saved these codes", exact=True)).not_to_be_checked()
    screenshot("03-recovery-codes")
    save_recovery_codes(page, base)
    assert not any(code in page.content() for code in codes), "the account page shows a recovery code"
    expect(card(page, "Recovery codes")).to_contain_text("10 recovery codes left.")
    app_card = card(page, "Authenticator app")
    expect(app_card).to_contain_text(ADDED_UTC)
    expect(app_card).to_contain_text("Not used to sign in yet.")
    expect(app_card.get_by_role("link", name="Replace or remove", exact=True)).to_be_visible()
    screenshot("04-account-enrolled")

    # 5. The management page never shows the key again.
    app_card.get_by_role("link", name="Replace or remove", exact=True).click()
    expect(page).to_have_url(f"{base}/account/2fa/totp")
    expect(heading(page, "Authenticator app")).to_be_visible()
    expect(page.locator("main")).to_contain_text(ADDED_UTC)
    expect(page.get_by_role("button", name="Replace with a new app", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Remove", exact=True)).to_be_visible()
    expect(page.locator("#totp-qr")).to_have_count(0)
    html = page.content()
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    assert secret not in html and grouped not in html, "the management page shows the secret"
    assert secret.lower() not in html.lower()
    screenshot("05-manage")

    # 6. Signing in now asks for a code from the app; the next step's code lets the user in.
    sign_out(page, base)
    sign_in(page, base, EMAIL)
    expect_verify_page(page, base)
    screenshot("06-verify")
    clock.advance(STEP)
    used_code = totp(secret, clock())
    enter_code(page, used_code, "Verify")
    expect_signed_in(page, base)
    expect(card(page, "Authenticator app")).to_contain_text(re.compile(r"Last used .+ UTC\."))

    # 7. The same code cannot be used twice, even in a new sign-in within its 30 s; the next one can.
    sign_out(page, base)
    sign_in(page, base, EMAIL)
    expect_verify_page(page, base)
    refused_replay = expect_refused(page, console_errors, lambda: enter_code(page, used_code, "Verify"))
    assert VERIFY_URL.search(refused_replay.url.removeprefix(base)), refused_replay
    expect_verify_page(page, base)
    expect(field_errors(page)).to_have_text(re.compile("^" + re.escape(REPLAYED_START)))
    screenshot("07-verify-replayed")
    clock.advance(STEP)
    enter_code(page, totp(secret, clock()), "Verify")
    expect_signed_in(page, base)

    # 8. Nothing on the console but the two refused forms.
    assert unexpected_errors(console_errors, (refused_setup, refused_replay)) == []


@pytest.mark.parametrize("browser_locale", ["zh-CN"])
def test_setup_page_in_chinese(
    live_server: str, live_clock: FakeClock, browser_page: Page, screenshot: Callable[[str], Path],
    console_errors: list[ConsoleError], tmp_path: Path, browser_locale: str,
) -> None:
    page, base = browser_page, live_server
    assert page.evaluate("navigator.language") == browser_locale

    register(page, base, EMAIL, t=ZH)  # Accept-Language: zh-CN picks Simplified Chinese, no cookie needed
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    assert open_setup(page, base, t=ZH) == "direct"

    main = page.locator("main")
    expect(heading(page, ZH("Set up an authenticator app"))).to_be_visible()
    expect(main).to_contain_text(ZH("In the app, add an account and scan this QR code."))
    expect(main).to_contain_text(ZH("Enter the 6-digit code the app shows to confirm."))
    expect(page.locator("#totp-qr")).to_have_attribute("alt", ZH("QR code for your authenticator app"))
    page.get_by_text(ZH("Can't scan? Enter the key by hand"), exact=True).click()
    expect(page.locator("#totp-key")).to_be_visible()
    _, fields = read_setup_key(page, tmp_path)
    # The issuer is SITE_NAME in the setup page's language (两步验证门户); the app keeps it (TotpFactor.issuer).
    assert fields["issuer"] == ZH(ISSUER) != ISSUER and fields["account"] == EMAIL
    assert page.locator("#totp-key").inner_text().replace(" ", "") == fields["secret"]

    template = ZH("New code in {seconds} s")
    assert template.count("{seconds}") == 1, template
    before, after = template.split("{seconds}")
    label = page.locator(".totp-countdown .label")
    expect(label).to_have_text(re.compile("^" + re.escape(before) + r"\d+" + re.escape(after) + "$"))
    expect(page.get_by_label(ZH("Code"), exact=True)).to_be_visible()
    expect(page.get_by_role("button", name=ZH("Confirm"), exact=True)).to_be_visible()
    screenshot("01-setup-zh")

    assert unexpected_errors(console_errors) == []


def test_setup_works_without_javascript(
    live_server: str, live_clock: FakeClock, browser_page: Page, tmp_path: Path,
) -> None:
    """The setup and codes pages work without scripts: what only a script can fill in stays hidden."""
    base, clock = live_server, live_clock
    with page_without_javascript(browser_page) as (page, errors):
        register(page, base, EMAIL)
        assert open_setup(page, base) == "direct"

        # The countdown box has no label without its script: it must stay hidden ([hidden] beats
        # .totp-countdown's display:flex), not show an empty bar.
        countdown = page.locator(".totp-countdown")
        expect(countdown).to_be_attached()
        expect(countdown).to_have_attribute("hidden", "")
        expect(countdown).not_to_be_visible()
        expect(countdown.locator(".label")).to_have_text("")

        # The key can still be read (the QR code is an inline image, <details> needs no script).
        secret = parse_otpauth(decode_qr(page.locator("#totp-qr").screenshot(), tmp_path))["secret"]
        page.get_by_text("Can't scan? Enter the key by hand", exact=True).click()
        assert page.locator("#totp-key").inner_text().replace(" ", "") == secret

        # Confirming works; the codes page hides the buttons only its script can run, keeps the codes.
        enter_code(page, totp(secret, clock()), "Confirm")
        recovery_codes_shown(page)
        expect(page.locator(".code-actions")).not_to_be_visible()
        expect(page.get_by_role("button", name="Download (.txt)", exact=True)).not_to_be_visible()
        save_recovery_codes(page, base)
    assert errors == []


def test_reloading_the_confirmation_and_removing_with_a_recovery_code(
    live_server: str, live_clock: FakeClock, browser_page: Page, screenshot: Callable[[str], Path],
    console_errors: list[ConsoleError], tmp_path: Path,
) -> None:
    """Reloading the answer to "Confirm" must not show a new key; the manage page takes a recovery code."""
    page, base = browser_page, live_server
    codes = enroll_and_show_codes(page, base, EMAIL, live_clock, tmp_path)

    # 1. Reload re-sends the POST (as "Confirm" twice would): the answer is the account page, no new QR.
    page.reload()
    expect(page).to_have_url(f"{base}/account")
    expect(page.get_by_role("status")).to_have_text("Your authenticator app is already set up.")
    expect(page.locator("#totp-qr")).to_have_count(0)
    expect(heading(page, "Set up your new authenticator app")).to_have_count(0)
    screenshot("01-reload-after-confirm")

    # 2. Someone who lost the phone is told a recovery code works here, and can type its letters.
    page.goto(f"{base}/account/2fa/totp")
    expect(heading(page, "Authenticator app")).to_be_visible()
    expect(page.locator("main")).to_contain_text(
        "Lost your phone? Enter one of your recovery codes in the same field instead.")
    code_field = page.get_by_label("Code", exact=True)
    expect(code_field).not_to_have_attribute("inputmode", re.compile(".*"))
    screenshot("02-manage")
    enter_code(page, codes[0], "Remove")
    expect(page).to_have_url(f"{base}/account")
    expect(page.get_by_role("status")).to_have_text(
        "The authenticator app was removed. Signing in now needs only your password.")
    expect(page.locator("dl.facts")).to_contain_text("Not set up")
    assert unexpected_errors(console_errors) == []
