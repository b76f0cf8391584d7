"""End to end in headless Chromium: support handles a "lost my phone" case.

An admin with an authenticator app signs in, finds the user, records the identity check and turns the
user's 2FA off; the user then signs in with the password alone and is invited to set it up again; the
audit log tells the whole story, findable by the case reference.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import Database, app_settings
from tests.e2e.conftest import real_time_clock
from tests.e2e.journeys import (
    enter_code,
    heading,
    open_setup,
    read_setup_key,
    register,
    save_recovery_codes,
    sign_in,
    sign_out,
)
from tests.otp import totp
from tests.support import FakeClock

pytestmark = pytest.mark.e2e

expect.set_options(timeout=10_000)

ADMIN, USER = "support@example.com", "lost-phone@example.com"
CASE = "CASE-2026-7781"
NOTES = "Video call: face matched the passport photo; knew the date the account was made."


@pytest.fixture
def live_clock() -> FakeClock:
    return real_time_clock()


def enroll_authenticator(page: Page, base: str, email: str, clock: FakeClock, tmp_path: Path) -> str:
    register(page, base, email)
    open_setup(page, base)
    secret = read_setup_key(page, tmp_path)[1]["secret"]
    enter_code(page, totp(secret, clock()), "Confirm")
    save_recovery_codes(page, base)
    return secret


def promote(database: Database, email: str) -> None:
    """The operator's command: flask --app wsgi portal create-admin EMAIL (promotes an existing account)."""
    import portal
    from portal.cli import portal_cli
    from portal.extensions import db

    app = portal.create_app(app_settings(database.url))
    result = app.test_cli_runner().invoke(portal_cli, ["create-admin", email])
    assert result.exit_code == 0, result.output
    with app.app_context():
        db.engine.dispose()


def test_support_turns_off_2fa_after_an_identity_check(
    live_server: str, live_clock: FakeClock, browser_page: Page, database: Database,
    screenshot: Callable[[str], Path], tmp_path: Path,
) -> None:
    page, base, clock = browser_page, live_server, live_clock
    enroll_authenticator(page, base, USER, clock, tmp_path)
    sign_out(page, base)
    admin_secret = enroll_authenticator(page, base, ADMIN, clock, tmp_path)
    sign_out(page, base)
    promote(database, ADMIN)

    # 1. The admin signs in with the password and a code, and finds the user by a part of the address.
    clock.advance(30)
    sign_in(page, base, ADMIN)
    enter_code(page, totp(admin_secret, clock()), "Verify")
    page.locator(".site-header").get_by_role("link", name="Admin", exact=True).click()
    expect(heading(page, "Users")).to_be_visible()
    page.get_by_label("Email address, or a part of it", exact=True).fill("lost")
    page.get_by_role("button", name="Search", exact=True).click()
    row = page.locator("tbody tr").filter(has_text=USER)
    expect(row).to_contain_text("Authenticator app")
    expect(row).to_contain_text("10")
    screenshot("01-search")
    row.get_by_role("link", name=USER, exact=True).click()
    expect(heading(page, USER)).to_be_visible()
    page.get_by_role("link", name="Disable two-step verification…", exact=True).click()

    # 2. The identity check is recorded; a wrong confirmation email is refused first.
    expect(heading(page, f"Disable two-step verification of {USER}")).to_be_visible()
    page.get_by_label("How did you check the person's identity?", exact=True).select_option("video_call")
    page.get_by_label("Case reference", exact=True).fill(CASE)
    page.get_by_label("Notes", exact=True).fill(NOTES)
    page.get_by_label("Type the user's email address to confirm", exact=True).fill("someone@else.example")
    page.locator("main").get_by_role("button", name="Disable two-step verification", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text("The email address you typed is not this user's.")
    page.get_by_label("Type the user's email address to confirm", exact=True).fill(USER)
    page.locator("main").get_by_role("button", name="Disable two-step verification", exact=True).click()
    if heading(page, "Confirm it is you").is_visible():  # the sign-in's code counts for FRESH_AUTH_SECONDS
        raise AssertionError("the admin signed in with a code moments ago: no second confirmation expected")
    expect(page.get_by_role("status")).to_contain_text(f"Two-step verification of {USER} is off")
    expect(page.get_by_role("status")).to_contain_text(CASE)
    screenshot("02-disabled")

    # 3. The audit log, filtered by the user, shows the story with the case reference.
    page.get_by_role("link", name="All audit events of this user", exact=True).click()
    table = page.locator("table.admin-table")
    first = table.locator("tbody tr").first
    expect(first).to_contain_text("Two-step verification turned off by support")
    expect(first).to_contain_text(ADMIN)
    expect(first).to_contain_text(CASE)
    expect(first).to_contain_text("video_call")
    expect(table).to_contain_text("Authenticator app set up")
    screenshot("03-audit")
    sign_out(page, base)

    # 4. The user signs in with the password alone, is told once and invited to set 2FA up again.
    sign_in(page, base, USER)
    expect(page).to_have_url(f"{base}/account")
    notice = page.locator(".flash").filter(has_text="Support turned off two-step verification")
    expect(notice).to_have_text(re.compile(r"Support turned off two-step verification for your account, so your "
                                           r"password alone signs you in now\. Set up two-step verification again"))
    expect(page.locator("dl.facts")).to_contain_text("Not set up")
    screenshot("04-user-invited")
    notice.get_by_role("link", name="Set up two-step verification again", exact=True).click()
    expect(heading(page, "Set up an authenticator app")).to_be_visible()
