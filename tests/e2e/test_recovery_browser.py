"""End to end in headless Chromium: save the recovery codes, lose the phone, sign in with a code.

The server's clock is a FakeClock started at the real time and moved on by hand whenever a new TOTP
code is needed; every TOTP code comes from tests/otp.py. Recovery codes are read off the page, as a
person would, and typed back the way a person might (lower case, no hyphens).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

from tests.e2e.helpers import (
    RECOVERY_URL,
    STEP,
    ConsoleError,
    card,
    confirm_password,
    enroll_and_show_codes,
    enter_code,
    expect_recovery_page,
    expect_refused,
    expect_signed_in,
    expect_verify_page,
    field_errors,
    heading,
    open_setup,
    recovery_codes_shown,
    register,
    save_recovery_codes,
    scan_and_confirm,
    sign_in,
    sign_out,
    unexpected_errors,
)
from tests.otp import totp
from tests.support import FakeClock

pytestmark = pytest.mark.e2e

EMAIL = "recovery-e2e@example.com"
RECOVERED_FLASH = "You signed in with a recovery code. 9 codes are left."
RECOVERED_HINT = "If you lost your phone, set up your authenticator app again."
RELINK = "set up your authenticator app again"  # the link in RECOVERED_HINT, to /account/2fa/totp
COPIED = "Copied"
SELECTED = "The codes are selected: press Ctrl+C (⌘C on a Mac) to copy them."
REPLAYED = "That recovery code was already used: each code works once. Enter another code from your saved list."
NOT_CORRECT = "That recovery code is not correct. Check it against your saved list and try again."
FILE_HEADING = f"Recovery codes for {EMAIL} (2FA Portal)"


def enter_recovery_code(page: Page, code: str) -> None:
    """Fill the recovery page's field (labelled "Recovery code") and press its "Sign in"."""
    enter_code(page, code, "Sign in", label="Recovery code")

def typed(code: str) -> str:
    """How someone might type XXXX-XXXX-XXXX from paper: lower case, without the hyphens."""
    return code.replace("-", "").lower()


def assert_codes_absent(page: Page, codes: list[str]) -> None:
    html = page.content()
    leaked = [c for c in codes if c in html or c.replace("-", "") in html]
    assert leaked == [], f"recovery codes shown again at {page.url}: {leaked}"


def to_recovery_page(page: Page, base: str) -> None:
    """Sign in with the password; on the TOTP page follow "Lost your phone? Use a recovery code"."""
    sign_in(page, base, EMAIL)
    expect_verify_page(page, base)
    page.get_by_role("link", name="Lost your phone? Use a recovery code", exact=True).click()
    expect_recovery_page(page, base)


def generate_new_codes(page: Page, base: str) -> str:
    """From the recovery codes page, "Generate new codes"; fill the password prompt if it comes.

    A stale password confirmation sends the POST to /reauth?next=/account/2fa/recovery-codes (a POST
    cannot be replayed), so after confirming the user is back on that page and presses again.
    Returns the path taken.
    """
    page.get_by_role("button", name="Generate new codes", exact=True).click()
    codes_heading = heading(page, "Save your recovery codes")
    reauth_heading = heading(page, "Confirm your password")
    expect(codes_heading.or_(reauth_heading)).to_be_visible()
    if codes_heading.is_visible():
        return "direct"
    expect(page).to_have_url(re.compile(re.escape(f"{base}/reauth?next=") + r"(/|%2F)account(/|%2F)2fa(/|%2F)"
                                        r"recovery-codes$"))
    confirm_password(page)
    expect(page).to_have_url(f"{base}/account/2fa/recovery-codes")
    page.get_by_role("button", name="Generate new codes", exact=True).click()
    expect(codes_heading).to_be_visible()
    return "reauth"


def test_lose_the_phone_and_sign_in_with_a_recovery_code(
    live_server: str, live_clock: FakeClock, browser_page: Page, screenshot: Callable[[str], Path],
    console_errors: list[ConsoleError], tmp_path: Path,
) -> None:
    page, base, clock = browser_page, live_server, live_clock
    refused: list[ConsoleError] = []  # forms the server answers with 400, which Chromium logs

    # 1. Register and set up the authenticator app: confirming it answers with the codes page.
    register(page, base, EMAIL)
    assert open_setup(page, base) == "direct"
    secret = scan_and_confirm(page, clock, tmp_path)
    expect(page).to_have_url(f"{base}/account/2fa/totp")
    codes = recovery_codes_shown(page)
    expect(page.locator("main")).to_contain_text("Your authenticator app is set up.")
    expect(page.locator("main")).to_contain_text("This is the only time they are shown.")
    screenshot("01-codes")
    # Changing the language would reload this page and lose the codes: the footer offers no switch here.
    expect(page.locator("footer form.language")).to_have_count(0)
    expect(page.locator("footer")).to_have_text("Save your codes first: the language can be changed on the next page.")
    # On a phone's width every code stays on one line (a code broken at its hyphen is easy to copy wrong) and
    # nothing makes the page scroll sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    heights = page.locator("#recovery-codes li").evaluate_all(
        "items => items.map(li => li.getBoundingClientRect().height)")
    line = page.locator("#recovery-codes code").first.evaluate("c => parseFloat(getComputedStyle(c).lineHeight) || 0")
    assert max(heights) < 1.8 * (line or 24), heights
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.set_viewport_size({"width": 1280, "height": 800})

    # 2. "Download (.txt)" saves the codes shown, one per line, under a heading naming the account.
    download_button = page.get_by_role("button", name="Download (.txt)", exact=True)
    expect(download_button).to_be_visible()
    with page.expect_download() as pending:
        download_button.click()
    download = pending.value
    assert download.suggested_filename == "recovery-codes.txt"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    text = saved.read_text(encoding="utf-8")
    # Under the heading, one line says what the codes are for, where and when they were made.
    lines = text.split("\n")
    assert lines[0] == FILE_HEADING, text
    assert re.fullmatch(r"Each code signs you in once at http://127\.0\.0\.1:\d+/ if you lose your phone\. "
                        r"Made .+ UTC\.", lines[1]), text
    assert "\n".join(lines[2:]) == "\n".join(["", *codes]) + "\n", text

    # 3. "Continue" without ticking "I have saved these codes" goes nowhere: the box is required.
    saved_box = page.get_by_label("I have saved these codes", exact=True)
    expect(saved_box).not_to_be_checked()
    expect(saved_box).to_have_attribute("required", "")
    posted: list[str] = []

    def on_request(request: Any) -> None:
        if request.method == "POST":
            posted.append(request.url)

    page.on("request", on_request)
    page.locator("main").get_by_role("button", name="Continue", exact=True).click()
    assert saved_box.evaluate("box => box.validity.valueMissing"), "the browser should block the form"
    expect(page).to_have_url(f"{base}/account/2fa/totp")
    assert recovery_codes_shown(page) == codes
    page.remove_listener("request", on_request)
    assert posted == [], f"the form was sent without the box ticked: {posted}"
    save_recovery_codes(page, base)
    expect(card(page, "Recovery codes")).to_contain_text("10 recovery codes left.")
    assert_codes_absent(page, codes)
    page.set_viewport_size({"width": 390, "height": 844})  # the account page, sessions table included, fits
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.set_viewport_size({"width": 1280, "height": 800})

    # 4. Back from /account must not show the codes again. The codes page was the answer to a POST
    #    sent with Cache-Control: no-store, so Chromium has nothing to show but its "Confirm form
    #    resubmission" error page (net::ERR_CACHE_MISS); it never re-sends the form by itself.
    try:
        page.go_back()
    except PlaywrightError as exc:  # the error page replaces the navigation Playwright waited for
        assert "net::ERR_CACHE_MISS" in str(exc), exc
        page.wait_for_url(re.compile(r"^chrome-error://"), wait_until="load")
    assert page.url.startswith(("chrome-error://", base)), page.url
    assert_codes_absent(page, codes)
    expect(page.locator("#recovery-codes")).to_have_count(0)
    screenshot("02-back")
    page.goto(f"{base}/account")
    expect_signed_in(page, base)
    expect(card(page, "Recovery codes")).to_contain_text("10 recovery codes left.")  # Back re-posted nothing

    # 5. The phone is lost: sign in with the first code, typed in lower case without hyphens.
    sign_out(page, base)
    to_recovery_page(page, base)
    screenshot("03-recovery-page")
    enter_recovery_code(page, typed(codes[0]))
    expect_signed_in(page, base)
    flash = page.get_by_role("status")
    expect(flash).to_have_count(1)
    expect(flash).to_contain_text(RECOVERED_FLASH)
    expect(flash).to_contain_text(RECOVERED_HINT)
    expect(flash.get_by_role("link", name=RELINK, exact=True)).to_have_attribute("href", "/account/2fa/totp")
    expect(card(page, "Recovery codes")).to_contain_text("9 recovery codes left.")
    expect(card(page, "Recent security activity").locator("li").first).to_contain_text("Recovery code used")
    screenshot("04-signed-in-with-code")

    # 6. The same code again, in a new sign-in: refused, and the user stays on the recovery page.
    sign_out(page, base)
    to_recovery_page(page, base)
    refused.append(expect_refused(page, console_errors, lambda: enter_recovery_code(page, codes[0])))
    expect_recovery_page(page, base)
    expect(field_errors(page)).to_have_text(REPLAYED)
    expect(page.get_by_label("Recovery code", exact=True)).to_have_value("")
    screenshot("05-code-used-twice")
    # The app still works: back to the authenticator, with the next step's code.
    page.get_by_role("link", name="Use your authenticator app instead", exact=True).click()
    expect_verify_page(page, base)
    clock.advance(STEP)
    enter_code(page, totp(secret, clock()), "Verify")
    expect_signed_in(page, base)
    expect(card(page, "Recovery codes")).to_contain_text("9 recovery codes left.")

    # 7. A new set. The password was confirmed more than FRESH_AUTH_SECONDS ago (the clock moves on
    #    6 minutes), so "Generate new codes" asks for it first.
    clock.advance(360)
    card(page, "Recovery codes").get_by_role("link", name="View or generate new codes", exact=True).click()
    expect(page).to_have_url(f"{base}/account/2fa/recovery-codes")
    expect(heading(page, "Recovery codes")).to_be_visible()
    expect(page.locator("main")).to_contain_text("9 recovery codes left.")
    assert generate_new_codes(page, base) == "reauth"
    expect(page).to_have_url(f"{base}/account/2fa/recovery-codes")
    new_codes = recovery_codes_shown(page)
    assert not set(new_codes) & set(codes), "a new set must not repeat old codes"
    expect(page.locator("main")).not_to_contain_text("Your authenticator app is set up.")
    screenshot("06-new-codes")

    # 8. Printed, the sheet is the codes and whose they are: no header, no buttons, no form.
    page.emulate_media(media="print")
    try:
        expect(page.locator(".site-header")).not_to_be_visible()
        expect(page.locator(".code-actions")).not_to_be_visible()
        expect(page.locator("main form")).not_to_be_visible()
        expect(page.locator(".site-footer")).not_to_be_visible()
        for code in page.locator("#recovery-codes code").all():
            expect(code).to_be_visible()
        expect(page.locator(".print-only").first).to_be_visible()
        expect(page.locator(".print-only").first).to_contain_text(f"Recovery codes for {EMAIL}")
        expect(page.locator(".print-only").last).to_have_text(re.compile(
            r"Each code signs you in once at http://127\.0\.0\.1:\d+/ if you lose your phone\. Made .+ UTC\."))
        screenshot("07-new-codes-print")
    finally:
        page.emulate_media(media="screen")
    expect(page.locator(".code-actions")).to_be_visible()
    expect(page.locator(".print-only").first).not_to_be_visible()
    save_recovery_codes(page, base)
    expect(card(page, "Recovery codes")).to_contain_text("10 recovery codes left.")
    expect(card(page, "Recent security activity").locator("li").first).to_contain_text("New recovery codes generated")
    assert_codes_absent(page, new_codes)

    # 9. The old set is gone: an old code that was never used is now refused; a new one works.
    sign_out(page, base)
    to_recovery_page(page, base)
    refused.append(expect_refused(page, console_errors, lambda: enter_recovery_code(page, typed(codes[1]))))
    expect_recovery_page(page, base)
    expect(field_errors(page)).to_have_text(NOT_CORRECT)
    enter_recovery_code(page, " ".join(new_codes[0].split("-")))  # spaces instead of hyphens
    expect_signed_in(page, base)
    # The new set is a change to how the account signs in: the first sign-in after it reports it.
    notices = page.get_by_role("status")
    expect(notices).to_have_count(2)
    expect(notices.nth(0)).to_contain_text("Since your last sign-in: New recovery codes generated")
    expect(notices.nth(1)).to_contain_text(RECOVERED_FLASH)
    expect(card(page, "Recovery codes")).to_contain_text("9 recovery codes left.")

    # 10. Nothing on the console but the two refused codes.
    assert all(RECOVERY_URL.search(e.url.removeprefix(base)) for e in refused), refused
    assert unexpected_errors(console_errors, refused) == []


# --- copy, and a double click on "Generate new codes" ----------------------------------------------------


def test_copy_puts_the_codes_on_the_clipboard(
    live_server: str, live_clock: FakeClock, browser_page: Page, tmp_path: Path, console_errors: list[ConsoleError],
) -> None:
    page, base = browser_page, live_server
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    codes = enroll_and_show_codes(page, base, "copy@example.com", live_clock, tmp_path)
    status = page.locator("#copy-status")
    expect(status).to_have_text("")
    page.get_by_role("button", name="Copy", exact=True).click()
    expect(status).to_have_text(COPIED)
    assert page.evaluate("navigator.clipboard.readText()") == "\n".join(codes)
    assert console_errors == []


def test_without_the_clipboard_api_copy_selects_the_codes(
    live_server: str, live_clock: FakeClock, browser_page: Page, tmp_path: Path, console_errors: list[ConsoleError],
) -> None:
    """Plain HTTP has no navigator.clipboard: the codes are selected, and the page says to press Ctrl+C."""
    page, base = browser_page, live_server
    page.add_init_script("Object.defineProperty(Navigator.prototype, 'clipboard', {get: () => undefined});"
                         "document.execCommand = () => false;")  # and no copy command either
    codes = enroll_and_show_codes(page, base, "no-clipboard@example.com", live_clock, tmp_path)
    assert page.evaluate("navigator.clipboard") is None
    page.get_by_role("button", name="Copy", exact=True).click()
    expect(page.locator("#copy-status")).to_have_text(SELECTED)
    selected = page.evaluate("window.getSelection().toString()")
    assert selected.split() == codes, selected
    assert console_errors == []


def test_the_copy_fallback_copies_when_the_browser_can(
    live_server: str, live_clock: FakeClock, browser_page: Page, tmp_path: Path, console_errors: list[ConsoleError],
) -> None:
    page, base = browser_page, live_server
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page.add_init_script("Object.defineProperty(Navigator.prototype, 'clipboard', {get: () => undefined});")
    codes = enroll_and_show_codes(page, base, "exec-copy@example.com", live_clock, tmp_path)
    page.get_by_role("button", name="Copy", exact=True).click()
    expect(page.locator("#copy-status")).to_have_text(COPIED)
    reader = page.context.new_page()  # a page whose navigator.clipboard is intact reads what was copied
    reader.goto(f"{base}/login")
    assert reader.evaluate("navigator.clipboard.readText()").split() == codes
    assert console_errors == []


def test_a_second_click_on_generate_new_codes_sends_nothing(
    live_server: str, live_clock: FakeClock, browser_page: Page, tmp_path: Path, console_errors: list[ConsoleError],
) -> None:
    """Two clicks before the answer comes: the page sends the form once (the server refuses a second one too)."""
    page, base = browser_page, live_server
    first = enroll_and_show_codes(page, base, EMAIL, live_clock, tmp_path)
    save_recovery_codes(page, base)
    page.goto(f"{base}/account/2fa/recovery-codes")
    # Stand in for a slow network: a listener after the page's own records whether each submission would
    # go out (not defaultPrevented), then holds it back, so the second click meets the same page.
    page.evaluate("""() => {
        window.submissions = [];
        window.holdBack = event => { window.submissions.push(!event.defaultPrevented); event.preventDefault(); };
        window.addEventListener("submit", window.holdBack);
    }""")
    button = page.get_by_role("button", name="Generate new codes", exact=True)
    button.click()
    button.click(force=True)  # a person can click a button that only looks busy (aria-disabled)
    assert page.evaluate("window.submissions") == [True, False]
    expect(button).to_have_attribute("aria-disabled", "true")
    # Coming back to the page (reload, or Back from the bfcache) makes the button usable again.
    page.reload()
    expect(button).not_to_have_attribute("aria-disabled", "true")
    button.click()
    new_codes = recovery_codes_shown(page)
    assert not set(new_codes) & set(first)
    save_recovery_codes(page, base)
    generated = card(page, "Recent security activity").locator("li").filter(has_text="New recovery codes generated")
    expect(generated).to_have_count(2)  # the set of the enrollment and one new set
    sign_out(page, base)
    to_recovery_page(page, base)
    enter_recovery_code(page, typed(new_codes[0]))
    expect_signed_in(page, base)
    assert console_errors == []
