"""End to end in headless Chromium: a wait before the next password is said in minutes and counted down by
static/js/countdown.js (a file: the CSP allows no inline script), in seconds for its last minute, and at zero
says that the next try can go. The page's clock is Playwright's, moved on by hand; the server's is a FakeClock."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import update

from portal.auth.throttle import throttle_key
from portal.extensions import db
from portal.models import LoginThrottle
from tests.e2e.helpers import answered, fill_sign_in, unexpected_errors

pytestmark = pytest.mark.e2e

EMAIL = "wait-e2e@example.com"


def test_a_long_wait_counts_down_in_minutes_then_seconds(live_server, live_clock, make_user, app, browser_page,
                                                         console_errors, screenshot):
    base, page = live_server, browser_page
    make_user(EMAIL)
    page.clock.install()  # the page's Date and timers, moved on below instead of waited for
    page.goto(f"{base}/login")
    with answered(page, 400, console_errors, "/login") as wrong:
        fill_sign_in(page, EMAIL, "not the password")
    with app.app_context():  # as after many wrong passwords: the next try may come in 62 seconds
        db.session.execute(update(LoginThrottle).where(LoginThrottle.key == throttle_key(EMAIL))
                           .values(retry_at=live_clock() + timedelta(seconds=62)))
        db.session.commit()
    with answered(page, 429, console_errors, "/login") as waiting:
        fill_sign_in(page, EMAIL)
    # From here on the page's time moves only by hand.
    page.clock.pause_at(datetime.fromtimestamp(page.evaluate("Date.now()") / 1000, UTC) + timedelta(milliseconds=200))
    label = page.locator("main [data-countdown] .countdown-label")
    expect(label).to_have_text("Too many attempts. Wait 2 minutes, then try again.")
    expect(label).not_to_have_attribute("role", "alert")  # a ticking sentence is not read out every second
    screenshot("01-minutes")
    page.clock.run_for(3_000)
    expect(label).to_have_text(re.compile(r"Too many attempts\. Wait 5[89] seconds, then try again\."))
    page.clock.run_for(57_500)
    expect(label).to_have_text(re.compile(r"Too many attempts\. Wait [12] seconds?, then try again\."))
    page.clock.run_for(3_000)
    expect(label).to_have_text("You can try again now.")
    expect(page.locator("[data-countdown-status]")).to_have_text("You can try again now.")
    screenshot("02-ready")
    assert unexpected_errors(console_errors, [wrong["error"], waiting["error"]]) == []
