"""Steps the browser journeys share: register, set up the authenticator app, sign in, read the codes page.

Every TOTP code comes from tests/otp.py; every label is the English text a person reads (or its
translation through t=zh).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.e2e.support import ConsoleError
from tests.otp import decode_qr, parse_otpauth
from tests.support import GOOD_PASSWORD

ISSUER = "2FA Portal"
STEP = 30
VERIFY_PROMPT = f"Open your authenticator app and enter the 6-digit code it shows for {ISSUER}."
VERIFY_URL = re.compile(r"/2fa/verify\?method=totp(&next=(/|%2F)account)?$")
RECOVERY_URL = re.compile(r"/2fa/recovery(\?next=(/|%2F)account)?$")
# recovery.py: 12 Crockford base32 characters (no I, L, O, U), shown XXXX-XXXX-XXXX.
RECOVERY_CODE = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}")
CODES_SAVED = "Keep your recovery codes somewhere safe, away from your phone."


def heading(page: Page, name: str, level: int = 1) -> Any:
    return page.get_by_role("heading", level=level, name=name, exact=True)


def header_button(page: Page, name: str) -> Any:
    return page.locator("header.site-header").get_by_role("button", name=name, exact=True)


def field_errors(page: Page) -> Any:
    return page.locator("main ul.errors")


def expect_refused(page: Page, console_errors: list[ConsoleError], submit: Callable[[], None]) -> ConsoleError:
    """Submit a form the server answers with 400; return the one console error Chromium logs for it."""
    before = len(console_errors)
    with page.expect_console_message(lambda m: m.type == "error" and "status of 400" in m.text):
        submit()
    refused = [e for e in console_errors[before:] if "status of 400" in e.text]
    assert len(refused) == 1, refused
    return refused[0]


def register(page: Page, base: str, email: str, t: Callable[[str], str] = str) -> None:
    """Create an account through the form (labels in the page's language); lands on /account."""
    page.goto(f"{base}/register")
    expect(heading(page, t("Create your account"))).to_be_visible()
    page.get_by_label(t("Email"), exact=True).fill(email)
    page.get_by_label(t("Password"), exact=True).fill(GOOD_PASSWORD)
    page.get_by_label(t("Repeat the password"), exact=True).fill(GOOD_PASSWORD)
    page.locator("main").get_by_role("button", name=t("Create account"), exact=True).click()
    expect(page).to_have_url(f"{base}/account")
    expect(page.locator(".flash")).to_have_text(t("Your account is ready. Next, set up two-factor authentication."))


def totp_card(page: Page, title: str = "Authenticator app") -> Any:
    """The account page's "Authenticator app" section."""
    return page.locator("section.card").filter(has=heading(page, title, level=2))


def open_setup(page: Page, base: str, t: Callable[[str], str] = str) -> str:
    """From /account, follow "Set up an authenticator app"; return "direct" or "reauth" (the path taken)."""
    card = totp_card(page, t("Authenticator app"))
    card.get_by_role("link", name=t("Set up an authenticator app"), exact=True).click()
    setup_heading = heading(page, t("Set up an authenticator app"))
    reauth_heading = heading(page, t("Confirm your password"))
    expect(setup_heading.or_(reauth_heading)).to_be_visible()
    path = "direct"
    if reauth_heading.is_visible():
        path = "reauth"
        reauth_url = re.escape(f"{base}/reauth?next=") + r"(/|%2F)account(/|%2F)2fa(/|%2F)totp$"
        expect(page).to_have_url(re.compile(reauth_url))
        confirm_password(page, t)
    expect(page).to_have_url(f"{base}/account/2fa/totp")
    expect(setup_heading).to_be_visible()
    return path


def confirm_password(page: Page, t: Callable[[str], str] = str) -> None:
    """Fill the "Confirm your password" page."""
    expect(heading(page, t("Confirm your password"))).to_be_visible()
    page.get_by_label(t("Password"), exact=True).fill(GOOD_PASSWORD)
    page.get_by_role("button", name=t("Confirm"), exact=True).click()


def read_setup_key(page: Page, tmp_path: Path) -> tuple[str, dict[str, str]]:
    """Read the QR code the browser drew (a screenshot of #totp-qr through zbarimg); return (URI, fields)."""
    qr = page.locator("#totp-qr")
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0"), "the QR image did not load"
    uri = decode_qr(qr.screenshot(), tmp_path)
    return uri, parse_otpauth(uri)


def sign_in(page: Page, base: str, email: str, t: Callable[[str], str] = str) -> None:
    page.goto(f"{base}/login")
    expect(heading(page, t("Sign in"))).to_be_visible()
    page.get_by_label(t("Email"), exact=True).fill(email)
    page.get_by_label(t("Password"), exact=True).fill(GOOD_PASSWORD)
    page.get_by_role("button", name=t("Continue"), exact=True).click()


def enter_code(page: Page, code: str, button: str, t: Callable[[str], str] = str) -> None:
    """Fill the code field and press button (already in the page's language)."""
    page.get_by_label(t("Code"), exact=True).fill(code)
    page.locator("main").get_by_role("button", name=button, exact=True).click()


def sign_out(page: Page, base: str, t: Callable[[str], str] = str) -> None:
    header_button(page, t("Sign out")).click()
    expect(page).to_have_url(f"{base}/login")
    expect(page.get_by_role("status")).to_have_text(t("You have signed out."))


def expect_verify_page(page: Page, base: str) -> None:
    expect(page).to_have_url(re.compile("^" + re.escape(base) + VERIFY_URL.pattern))
    expect(heading(page, "Enter your code")).to_be_visible()
    expect(page.locator("main")).to_contain_text(VERIFY_PROMPT)


def expect_recovery_page(page: Page, base: str) -> None:
    expect(page).to_have_url(re.compile("^" + re.escape(base) + RECOVERY_URL.pattern))
    expect(heading(page, "Use a recovery code")).to_be_visible()
    expect(page.get_by_label("Code", exact=True)).to_be_visible()


def expect_signed_in(page: Page, base: str) -> None:
    expect(page).to_have_url(f"{base}/account")
    expect(heading(page, "Account security")).to_be_visible()
    expect(page.locator("dl.facts strong")).to_have_text("On")
    expect(header_button(page, "Sign out")).to_be_visible()


def recovery_codes_shown(page: Page) -> list[str]:
    """The codes page ("Save your recovery codes", shown once): its 10 codes, checked for format."""
    expect(heading(page, "Save your recovery codes")).to_be_visible()
    codes = page.locator("#recovery-codes code")
    expect(codes).to_have_count(10)
    shown = [c.strip() for c in codes.all_inner_texts()]
    assert all(RECOVERY_CODE.fullmatch(c) for c in shown), shown
    assert len(set(shown)) == 10, shown
    return shown


def save_recovery_codes(page: Page, base: str) -> None:
    """On the codes page: tick "I have saved these codes", Continue; lands on /account with a reminder."""
    page.get_by_label("I have saved these codes", exact=True).check()
    page.locator("main").get_by_role("button", name="Continue", exact=True).click()
    expect_signed_in(page, base)
    expect(page.get_by_role("status")).to_have_text(CODES_SAVED)
