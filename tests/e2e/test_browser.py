"""End to end in headless Chromium: register, sign out, sign in, switch to Chinese, sign out again."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import (
    ZH,
    ConsoleError,
    expect_refused,
    fill_sign_in,
    heading,
    register,
    sign_out,
    unexpected_errors,
)
from tests.support import GOOD_PASSWORD

pytestmark = pytest.mark.e2e

EMAIL = "e2e@example.com"
WRONG_PASSWORD = "not the right password 7"
# Debian's headless Chromium says "... (X11; Linux x86_64) ... HeadlessChrome/<version> Safari/...":
# portal/account/agents.py finds "Chrome/" (Chrome) and "Linux" (Linux).
AGENT_NAME = "Chrome on Linux"


@pytest.fixture
def live_clock() -> None:
    """These journeys move no clock: the server runs on the real one, as in production."""
    return None


def expect_account_page(page: Page, base: str) -> None:
    expect(page).to_have_url(f"{base}/account")
    expect(heading(page, "Account security")).to_be_visible()
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text(EMAIL)
    expect(facts).to_contain_text("Not set up")
    expect(page.get_by_role("heading", level=2, name="Where you are signed in")).to_be_visible()
    rows = page.locator("table.sessions tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("This browser")
    expect(rows.first).to_contain_text(AGENT_NAME)
    expect(rows.first).to_contain_text("127.0.0.1")


def test_register_sign_out_sign_in_and_switch_to_chinese(
    live_server: str, browser_page: Page, screenshot: Callable[[str], Path], console_errors: list[ConsoleError],
) -> None:
    page, base = browser_page, live_server
    user_agent = page.evaluate("navigator.userAgent")
    assert "Chrome/" in user_agent and "Linux" in user_agent, user_agent

    # 1. The start page is the sign-in page; create an account from the header.
    page.goto(base)
    expect(page).to_have_url(f"{base}/login")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(heading(page, "Sign in")).to_be_visible()
    screenshot("01-sign-in")
    page.locator("header.site-header").get_by_role("link", name="Create account", exact=True).click()
    expect(page).to_have_url(f"{base}/register")
    expect(heading(page, "Create your account")).to_be_visible()
    page.get_by_label("Email", exact=True).fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(GOOD_PASSWORD)
    page.get_by_label("Repeat the password", exact=True).fill(GOOD_PASSWORD)
    screenshot("02-register-filled")
    page.locator("main").get_by_role("button", name="Create account", exact=True).click()
    expect(page.locator(".flash")).to_have_text("Your account is ready. Next, set up two-step verification.")
    expect_account_page(page, base)
    screenshot("03-account")

    # 2. Sign out from the header; the account page is closed to this browser now.
    sign_out(page, base)
    expect(heading(page, "Sign in")).to_be_visible()
    screenshot("04-signed-out")
    page.goto(f"{base}/account")
    expect(page).to_have_url(re.compile(re.escape(f"{base}/login") + r"\?next=(/|%2F)account$"))
    expect(heading(page, "Sign in")).to_be_visible()
    expect(page.get_by_role("status")).to_have_count(0)  # the flash was shown once only

    # 3. A wrong password is refused on the same page; the right one opens the account page.
    # The refused form comes back as a 400 page, which Chromium logs as a failed load: expected here.
    refused = (expect_refused(page, console_errors, lambda: fill_sign_in(page, EMAIL, WRONG_PASSWORD)),)
    assert [e.url.removeprefix(base) for e in refused] in (["/login?next=/account"], ["/login?next=%2Faccount"])
    expect(page.get_by_role("alert")).to_have_text("The email address or password is incorrect.")
    expect(heading(page, "Sign in")).to_be_visible()
    expect(page.get_by_label("Email", exact=True)).to_have_value(EMAIL)
    screenshot("05-wrong-password")
    fill_sign_in(page, EMAIL)
    expect_account_page(page, base)

    # 4. The footer switches to Chinese; a cookie remembers the choice across a reload.
    page.locator("footer.site-footer").get_by_role("button", name="中文", exact=True).click()
    expect(page).to_have_url(f"{base}/account")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(heading(page, ZH("Account security"))).to_be_visible()
    expect(page.locator("table.sessions tbody tr").first).to_contain_text(ZH("This browser"))
    expect(page.locator("footer.site-footer").get_by_role("button", name="中文")).to_have_attribute(
        "aria-current", "true")
    screenshot("06-account-zh")
    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(heading(page, ZH("Account security"))).to_be_visible()
    assert {c["name"]: c["value"] for c in page.context.cookies(base)}.get("lang") == "zh_Hans"

    # 5. Sign out in Chinese: the sign-in page stays in Chinese.
    sign_out(page, base, ZH)
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(heading(page, ZH("Sign in"))).to_be_visible()
    screenshot("07-signed-out-zh")

    assert unexpected_errors(console_errors, refused) == []


def test_pages_send_a_strict_csp_and_the_console_stays_clean(
    live_server: str, browser_page: Page, screenshot: Callable[[str], Path], console_errors: list[ConsoleError],
) -> None:
    page, base = browser_page, live_server
    documents: list[Any] = []
    page.on("response", lambda r: documents.append(r) if r.request.resource_type == "document" else None)

    register(page, base, EMAIL)
    expect(heading(page, "Account security")).to_be_visible()
    page.locator("footer.site-footer").get_by_role("button", name="中文", exact=True).click()
    expect(heading(page, ZH("Account security"))).to_be_visible()
    sign_out(page, base, ZH)
    expect(heading(page, ZH("Sign in"))).to_be_visible()
    # The stylesheet loaded under style-src 'self' (an unstyled page would keep the default serif/white).
    expect(page.locator("main .card").first).to_have_css("border-radius", "10px")
    screenshot("01-signed-out-zh")

    pages = [r for r in documents if r.status == 200]
    assert {r.url.removeprefix(base) for r in pages} >= {"/register", "/account", "/login"}
    for response in pages:
        csp = response.headers.get("content-security-policy")
        assert csp, f"no Content-Security-Policy on {response.url}"
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, csp
        assert re.search(r"(^|;)\s*script-src 'self'\s*(;|$)", csp), csp
        assert re.search(r"(^|;)\s*style-src 'self'\s*(;|$)", csp), csp
    assert unexpected_errors(console_errors) == []

    # The collector does see CSP violations: an injected inline script is refused and reported.
    with page.expect_console_message(lambda m: m.type == "error", timeout=5_000) as refused:
        page.evaluate("""() => {
            const s = document.createElement("script");
            s.textContent = "window.__injected = true";
            document.body.append(s);
        }""")
    assert "Content Security Policy" in refused.value.text
    assert page.evaluate("window.__injected === undefined")
