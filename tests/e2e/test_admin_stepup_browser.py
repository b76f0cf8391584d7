"""End to end in headless Chromium (issue 17, point 2): the admin's typed form survives the step-up.

At 390 px and 1280 px, in English and in Simplified Chinese: an admin fills the disable form after their
confirmation lapsed; the confirmation page says why it asks and offers a way back; cancelling and confirming
both bring the form back with every field as typed; nothing typed ever appears in a URL. Before that, an empty
submit lists every missing field at once, and the select and the notes box are laid out like the text inputs.
The sign-in page says in one line what the site is, above the form (point 12).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.conftest import Database
from tests.e2e.helpers import (
    EN,
    ZH,
    ConsoleError,
    Words,
    enter_code,
    expect_refused,
    fill_sign_in,
    heading,
    main,
    unexpected_errors,
)
from tests.e2e.test_admin_browser import seed_with_authenticator
from tests.otp import totp
from tests.support import GOOD_PASSWORD, FakeClock

pytestmark = pytest.mark.e2e

ADMIN, USER = "support@example.com", "lost-phone@example.com"
CASE = "CASE-2026-7781"
NOTES = "Video call: face matched the passport photo.\nKnew the date the account was made (NOTE-MARKER)."
MARKERS = ("7781", "NOTE-MARKER", "passport", "Video%20call", "Video+call")
HEIGHTS = {390: 844, 1280: 800}
LABELS = {"identity_check": "How did you check the person's identity?", "case_reference": "Case reference",
          "notes": "Notes", "confirm_email": "Type the user's email address to confirm"}


def layout(field: Locator) -> dict[str, Any]:
    """Where a field sits and how it is drawn."""
    return field.evaluate("""el => {
        const r = el.getBoundingClientRect(), s = getComputedStyle(el);
        return {left: r.left, width: r.width, height: r.height, border: s.borderTopWidth + " " + s.borderTopStyle
                + " " + s.borderTopColor, radius: s.borderTopLeftRadius, padding: s.paddingLeft + " " + s.paddingTop,
                font: s.fontSize + " " + s.fontFamily, background: s.backgroundColor};
    }""")


def expect_fields_alike(page: Page, t: Words) -> None:
    """The select and the notes box line up with the text inputs and are drawn like them."""
    text_input = layout(page.get_by_label(t(LABELS["case_reference"]), exact=True))
    select = layout(page.get_by_label(t(LABELS["identity_check"]), exact=True))
    notes = layout(page.get_by_label(t(LABELS["notes"]), exact=True))
    for name, other in (("select", select), ("notes", notes)):
        for key in ("border", "radius", "padding", "font", "background"):
            assert other[key] == text_input[key], (name, key, other[key], text_input[key])
        assert abs(other["left"] - text_input["left"]) < 0.5, (name, other, text_input)
        assert abs(other["width"] - text_input["width"]) < 0.5, (name, other, text_input)
    assert abs(select["height"] - text_input["height"]) <= 1, (select, text_input)
    assert notes["height"] >= 2 * text_input["height"], (notes, text_input)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def fill(page: Page, t: Words) -> None:
    page.get_by_label(t(LABELS["identity_check"]), exact=True).select_option("video_call")
    page.get_by_label(t(LABELS["case_reference"]), exact=True).fill(CASE)
    page.get_by_label(t(LABELS["notes"]), exact=True).fill(NOTES)
    page.get_by_label(t(LABELS["confirm_email"]), exact=True).fill(USER)


def expect_as_typed(page: Page, t: Words) -> None:
    expect(page.get_by_label(t(LABELS["identity_check"]), exact=True)).to_have_value("video_call")
    expect(page.get_by_label(t(LABELS["case_reference"]), exact=True)).to_have_value(CASE)
    expect(page.get_by_label(t(LABELS["notes"]), exact=True)).to_have_value(NOTES)
    expect(page.get_by_label(t(LABELS["confirm_email"]), exact=True)).to_have_value(USER)


def submit_button(page: Page, t: Words) -> Locator:
    return main(page).get_by_role("button", name=t("Disable two-step verification"), exact=True)


@pytest.mark.parametrize("width", [390, 1280])
@pytest.mark.parametrize("browser_locale", ["en-US", "zh-CN"])
def test_the_admin_gets_their_typed_form_back_after_the_step_up(
    live_server: str, live_clock: FakeClock, browser_page: Page, database: Database, browser_locale: str,
    width: int, screenshot: Callable[[str], Path], console_errors: list[ConsoleError],
) -> None:
    page, base, clock = browser_page, live_server, live_clock
    t = ZH if browser_locale == "zh-CN" else EN
    page.set_viewport_size({"width": width, "height": HEIGHTS[width]})
    seed_with_authenticator(database, USER, clock)
    admin_secret = seed_with_authenticator(database, ADMIN, clock, admin=True)
    clock.advance(30)  # the seeding used the current step
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))

    # The sign-in page says what the site is, in one line above the form.
    page.goto(f"{base}/")
    intro = page.locator("main p.site-intro")
    expect(intro).to_have_text(t("Set up and manage two-step verification for your account."))
    intro_box, form_box = intro.bounding_box(), main(page).locator("form").first.bounding_box()
    assert intro_box is not None and form_box is not None and intro_box["y"] + intro_box["height"] <= form_box["y"]
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    fill_sign_in(page, ADMIN, t=t)
    enter_code(page, totp(admin_secret, clock()), "Verify", t=t)

    # 1. The disable form: the select and the notes box look like the other inputs; an empty submit lists all.
    page.goto(f"{base}/admin/users?q=lost")
    page.locator("tbody tr").get_by_role("link", name=USER, exact=True).click()
    page.get_by_role("link", name=t("Disable two-step verification…"), exact=True).click()
    form_url = page.url
    expect_fields_alike(page, t)
    refused = expect_refused(page, console_errors, lambda: submit_button(page, t).click())
    summary = page.get_by_role("alert")
    notes = t.plural(("Write at least %(num)d character of notes: what you checked and why.",
                      "Write at least %(num)d characters of notes: what you checked and why."), 20)
    for message in (t("Choose how you checked the person's identity."), t("Enter the case reference."), notes,
                    t("Type the user's email address.")):
        expect(summary.get_by_role("link", name=message, exact=True)).to_be_visible()
    for label in LABELS.values():
        field = page.get_by_label(t(label), exact=True)
        expect(field).to_have_attribute("aria-invalid", "true")
        expect(field).to_have_css("border-top-color", "rgb(180, 35, 24)")  # --err, like every field in error
    expect_fields_alike(page, t)  # marked in red, still aligned
    screenshot("01-empty-submit")

    # 2. The confirmation lapses while the admin types; the page says why and offers a way back.
    fill(page, t)
    clock.advance(301)  # FRESH_AUTH_SECONDS (300) later
    submit_button(page, t).click()
    expect(heading(page, t("Confirm it is you"))).to_be_visible()
    expect(page.locator("#stepup-reason")).to_have_text(t(
        "Your form is not sent yet: your last confirmation is more than %(duration)s old. After you confirm, you "
        "return to the form with everything you typed.", duration="5分钟" if t is ZH else "5 minutes"))
    cancel = main(page).get_by_role("link", name=t("Cancel"), exact=True)
    expect(cancel).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot("02-confirm")
    cancel.click()
    assert page.url == form_url
    expect_as_typed(page, t)  # the way back loses nothing

    # 3. Sent again, confirmed with the password and a code: back on the form, every field as typed.
    submit_button(page, t).click()
    expect(heading(page, t("Confirm it is you"))).to_be_visible()
    page.get_by_label(t("Password"), exact=True).fill(GOOD_PASSWORD)
    clock.advance(30)
    enter_code(page, totp(admin_secret, clock()), "Confirm", t=t)
    assert page.url == form_url
    expect(page.get_by_role("status")).to_have_text(t(
        "Confirmed. Nothing was sent yet: check the form and send it again."))
    expect_as_typed(page, t)
    expect_fields_alike(page, t)
    screenshot("03-back")
    submit_button(page, t).click()
    expect(page.get_by_role("status")).to_have_text(t(
        "Two-step verification of %(email)s is off and all of its sessions are signed out. It is recorded under "
        "case %(case)s.", email=USER, case=CASE))

    # Nothing typed ever sat in a URL.
    leaked = [url for url in urls if any(marker in url for marker in MARKERS)]
    assert leaked == [], leaked
    assert unexpected_errors(console_errors, [refused]) == []
