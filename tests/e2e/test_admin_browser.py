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
from tests.e2e.helpers import (
    ZH,
    ConsoleError,
    enter_code,
    heading,
    open_setup,
    register,
    save_recovery_codes,
    scan_and_confirm,
    sign_in,
    sign_out,
    unexpected_errors,
)
from tests.otp import totp
from tests.support import GOOD_PASSWORD, FakeClock

pytestmark = pytest.mark.e2e

ADMIN, USER = "support@example.com", "lost-phone@example.com"
CASE = "CASE-2026-7781"
NOTES = "Video call: face matched the passport photo; knew the date the account was made."


def enroll_authenticator(page: Page, base: str, email: str, clock: FakeClock, tmp_path: Path) -> str:
    register(page, base, email)
    open_setup(page, base)
    secret = scan_and_confirm(page, clock, tmp_path)
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
    expect(page.get_by_role("alert")).to_contain_text("The email address you typed is not this user's.")
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
    expect(first).to_contain_text("Video call")  # the identity check in words (portal/admin/details.py)
    expect(table).to_contain_text("Authenticator app set up")
    screenshot("03-audit")
    # Weeks later, support finds the case by its reference alone.
    page.locator("nav.admin-nav").get_by_role("link", name="Audit log", exact=True).click()
    page.get_by_label("Case reference", exact=True).fill(CASE)
    page.get_by_role("button", name="Filter", exact=True).click()
    found = page.locator("table.admin-table tbody tr")
    expect(found).to_have_count(1)
    expect(found).to_contain_text("Two-step verification turned off by support")
    expect(found).to_contain_text(USER)
    sign_out(page, base)

    # 4. The user signs in with the password alone, is told once and invited to set 2FA up again.
    sign_in(page, base, USER)
    expect(page).to_have_url(f"{base}/account")
    notice = page.locator(".flash").filter(has_text="Support turned off two-step verification")
    expect(notice).to_have_text(re.compile(r"Support turned off two-step verification for your account \(.+ UTC\), so "
                                           r"your password alone signs you in now\. If you did not ask for this, "
                                           r"contact support\. Set up two-step verification again"))
    expect(page.locator("dl.facts")).to_contain_text("Not set up")
    screenshot("04-user-invited")
    notice.get_by_role("link", name="Set up two-step verification again", exact=True).click()
    expect(heading(page, "Set up an authenticator app")).to_be_visible()


SECOND_ADMIN = "duty-manager@example.com"


def seed_with_authenticator(database: Database, email: str, clock: FakeClock, *, admin: bool = False) -> str:
    """An account with a confirmed authenticator app and recovery codes, made as if long ago; returns the key."""
    import portal
    from portal.crypto import passwords
    from portal.extensions import db
    from portal.factors import totp as totp_enrollment
    from portal.factors.recovery import generate_set
    from portal.models import User

    app = portal.create_app(app_settings(database.url))
    with app.app_context():
        at = clock()
        user = User(email=email, password_hash=passwords().hash(GOOD_PASSWORD), created_at=at, is_admin=admin)
        db.session.add(user)
        db.session.flush()
        secret = totp_enrollment.pending_secret(totp_enrollment.start(user, at))
        assert totp_enrollment.confirm(user, totp(secret, at), at, ip="127.0.0.1").ok
        generate_set(user, at)
        db.session.commit()
        db.engine.dispose()
    return secret


@pytest.mark.parametrize("browser_locale", ["zh-CN"])
@pytest.mark.parametrize("live_settings", [{"ADMIN_DISABLE_REQUIRES_SECOND_ADMIN": True}])
def test_in_chinese_one_admin_requests_and_a_second_admin_approves(
    live_server: str, live_clock: FakeClock, browser_page: Page, database: Database,
    screenshot: Callable[[str], Path], console_errors: list[ConsoleError], browser_locale: str,
) -> None:
    page, base, clock = browser_page, live_server, live_clock
    seed_with_authenticator(database, USER, clock)
    secrets = {email: seed_with_authenticator(database, email, clock, admin=True) for email in (ADMIN, SECOND_ADMIN)}
    clock.advance(30)  # the seeding used the current step of every app

    # 1. The first admin, reading Chinese, finds the user and records the identity check as a request.
    sign_in(page, base, ADMIN, t=ZH)
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    enter_code(page, totp(secrets[ADMIN], clock()), "Verify", t=ZH)
    page.locator(".site-header").get_by_role("link", name=ZH("Admin"), exact=True).click()
    expect(heading(page, ZH("Users"))).to_be_visible()
    page.get_by_label(ZH("Email address, or a part of it"), exact=True).fill("lost")
    page.get_by_role("button", name=ZH("Search"), exact=True).click()
    row = page.locator("tbody tr").filter(has_text=USER)
    expect(row).to_contain_text(ZH("Authenticator app"))
    row.get_by_role("link", name=USER, exact=True).click()
    page.get_by_role("link", name=ZH("Disable two-step verification…"), exact=True).click()
    expect(page.locator("main")).to_contain_text(ZH(
        "A different admin must approve this: your request and its identity check are recorded now, and nothing "
        "changes for the user until the approval."))
    page.get_by_label(ZH("How did you check the person's identity?"), exact=True).select_option("video_call")
    page.get_by_label(ZH("Case reference"), exact=True).fill(CASE)
    page.get_by_label(ZH("Notes"), exact=True).fill(NOTES)
    page.get_by_label(ZH("Type the user's email address to confirm"), exact=True).fill(USER)
    page.get_by_role("button", name=ZH("Request approval to disable two-step verification"), exact=True).click()
    expect(page.get_by_role("status")).to_have_text(ZH(
        "Your request is recorded. Two-step verification of %(email)s stays on until a different admin approves "
        "it.") % {"email": USER})
    expect(heading(page, ZH("Request to disable two-step verification of %(email)s") % {"email": USER})).to_be_visible()
    expect(page.locator("#request-status")).to_have_text(ZH("Waiting for a different admin's approval"))
    expect(page.locator("main")).to_contain_text(ZH(
        "You made this request: a different admin must approve it. You can withdraw it."))
    expect(page.get_by_role("button", name=ZH("Approve and disable two-step verification"))).to_have_count(0)
    screenshot("01-requested-zh")
    sign_out(page, base, t=ZH)

    # 2. A different admin reads the request and approves it.
    sign_in(page, base, SECOND_ADMIN, t=ZH)
    enter_code(page, totp(secrets[SECOND_ADMIN], clock()), "Verify", t=ZH)
    page.locator(".site-header").get_by_role("link", name=ZH("Admin"), exact=True).click()
    nav = page.locator("nav.admin-nav").get_by_role("link", name=re.compile("^" + re.escape(ZH("Approval requests"))))
    expect(nav).to_contain_text("1")
    nav.click()
    page.locator("tbody tr").filter(has_text=USER).get_by_role("link", name=USER, exact=True).click()
    facts = page.locator("dl.facts")
    for shown in (ADMIN, CASE, NOTES, ZH("Video call")):
        expect(facts).to_contain_text(shown)
    screenshot("02-approve-zh")
    page.get_by_role("button", name=ZH("Approve and disable two-step verification"), exact=True).click()
    expect(page.get_by_role("status")).to_have_text(ZH(
        "Two-step verification of %(email)s is off and all of its sessions are signed out. It is recorded under "
        "case %(case)s.") % {"email": USER, "case": CASE})

    # 3. The audit log tells both halves: the request by the first admin, the change by the second.
    page.get_by_role("link", name=ZH("All audit events of this user"), exact=True).click()
    rows = page.locator("table.admin-table tbody tr")
    done = rows.filter(has_text=ZH("Two-step verification turned off by support"))
    expect(done).to_contain_text(SECOND_ADMIN)
    expect(done).to_contain_text(CASE)
    asked = rows.filter(has_text=ZH("Support asked for approval to turn off two-step verification"))
    expect(asked).to_contain_text(ADMIN)
    expect(asked).to_contain_text(CASE)
    screenshot("03-audit-zh")
    assert unexpected_errors(console_errors) == []
