"""Issue 17, points 1, 3 and 10, in headless Chromium: the pages read and work on a phone (390 px, and 320 px
where said) and on a desktop (1280 px), in English and in Chinese. Each test measures what the issue measured:

- the recovery codes (also after "Generate new codes"): no two code boxes intersect, every box is inside the
  viewport, each code inside its own list item;
- the audit log: no horizontal scrolling and the filters within the screen on a phone, each row a card whose
  cells are never a column of single letters, a page of bounded height; on a desktop no email address breaks
  inside its domain; the details in words of the page's language, never raw keys or a Python dict;
- the sessions table: each IP address and browser name on one line, at both widths;
- the authenticator setup on a phone: the key in groups with a Copy button beside or below the QR code, and an
  "Open in authenticator app" link with the QR code's own otpauth:// URI.

The data the audit and sessions pages show is written straight into the live server's database (a second app
on the same database, as the operator's command would), so every kind of detail and a long IPv6 address are there.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import Database, app_settings
from tests.e2e.helpers import (
    EN,
    ZH,
    ConsoleError,
    Words,
    card,
    confirm_password,
    enter_code,
    heading,
    open_setup,
    page_without_javascript,
    read_setup_key,
    recovery_codes_shown,
    register,
    save_recovery_codes,
    sign_in,
    unexpected_errors,
)
from tests.otp import parse_otpauth, totp
from tests.support import GOOD_PASSWORD, FakeClock

pytestmark = pytest.mark.e2e

PHONE, NARROWEST, DESKTOP = 390, 320, 1280
HEIGHT = 800
LANGUAGES = ["en-US", "zh-CN"]

ADMIN = "support.desk@example.com"
SECOND_ADMIN = "second-admin@example.com"
# A long address with hyphens in the domain: where a browser would break it if it could.
TARGET = "lost-phone.person@support-department.example.com"
ADMIN_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
IPV6 = "2001:0db8:85a3:1234:5678:8a2e:0370:7334"  # 39 characters: the longest an address can be
CASE = "CASE-2026-7781"
NOTES = "Video call: face matched the passport photo.\nKnew the date the account was made."
AGENTS = {
    "Firefox": "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Safari": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
              "Version/17.5 Mobile/15E148 Safari/604.1",
}
# Python's dict and list syntax, as str(details) would show it.
PYTHON_SYNTAX = re.compile(r"[{}\[\]]|'\w+': ")


def words(browser_locale: str) -> Words:
    return ZH if browser_locale.startswith("zh") else EN


# --- measuring ---------------------------------------------------------------------------------------------


def boxes(page: Page, selector: str) -> list[dict[str, float]]:
    """The bounding box of each element matching selector, in viewport pixels."""
    return page.locator(selector).evaluate_all(
        "els => els.map(e => { const r = e.getBoundingClientRect();"
        " return {left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width, height: r.height}; })")


def intersect(a: dict[str, float], b: dict[str, float]) -> bool:
    return a["left"] < b["right"] - 0.5 and b["left"] < a["right"] - 0.5 and \
        a["top"] < b["bottom"] - 0.5 and b["top"] < a["bottom"] - 0.5


def viewport_width(page: Page) -> float:
    return page.evaluate("document.documentElement.clientWidth")


def assert_no_horizontal_scroll(page: Page) -> None:
    """Neither the page nor a table in its scroll box (.table-scroll) is wider than the screen shows."""
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"the page scrolls sideways at {widths[1]} px: {widths[0]} px wide"
    boxes = page.locator(".table-scroll").evaluate_all("els => els.map(e => [e.scrollWidth, e.clientWidth])")
    assert [b for b in boxes if b[0] > b[1]] == [], f"a table scrolls sideways at {widths[1]} px: {boxes}"


def lines_of(page: Page, selector: str) -> list[tuple[str, float]]:
    """Each element's text and its height in lines of its own line-height."""
    return [(text, lines) for text, lines in page.locator(selector).evaluate_all(
        "els => els.map(e => [e.textContent.trim(),"
        " e.getBoundingClientRect().height / parseFloat(getComputedStyle(e).lineHeight)])")]


def resize(page: Page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": HEIGHT})


# --- point 1: the recovery codes ---------------------------------------------------------------------------


def assert_codes_laid_out(page: Page, width: int) -> None:
    """No code's box overlaps another or leaves the viewport; each code fits its own list item."""
    resize(page, width)
    items, codes = boxes(page, "#recovery-codes li"), boxes(page, "#recovery-codes code")
    assert len(items) == len(codes) == 10
    right_edge = viewport_width(page)
    for group in (items, codes):
        for i, a in enumerate(group):
            assert a["left"] >= 0 and a["right"] <= right_edge, f"at {width} px box {i + 1} leaves the viewport: {a}"
            for j, b in enumerate(group[i + 1:], start=i + 1):
                assert not intersect(a, b), f"at {width} px boxes {i + 1} and {j + 1} overlap: {a} {b}"
    for i, (item, code) in enumerate(zip(items, codes, strict=True)):
        assert item["left"] - 0.5 <= code["left"] and code["right"] <= item["right"] + 0.5, \
            f"at {width} px code {i + 1} is wider than its column: {code} in {item}"
    columns = {round(c["left"]) for c in codes}
    if width >= DESKTOP:
        assert len(columns) == 2, f"two columns on a desktop, not {len(columns)}"


@pytest.mark.parametrize("browser_locale", LANGUAGES)
def test_recovery_codes_never_overlap_from_320_px_up(
    live_server: str, live_clock: FakeClock, browser_page: Page, screenshot: Callable[[str], Path],
    console_errors: list[ConsoleError], tmp_path: Path, browser_locale: str,
) -> None:
    page, base, clock, t = browser_page, live_server, live_clock, words(browser_locale)
    register(page, base, f"codes-{browser_locale.lower()}@example.com", t)
    open_setup(page, base, t)
    secret = read_setup_key(page, tmp_path)[1]["secret"]
    enter_code(page, totp(secret, clock()), "Confirm", t)
    first = recovery_codes_shown(page, t)
    for width in (PHONE, NARROWEST, DESKTOP):
        assert_codes_laid_out(page, width)
    resize(page, PHONE)
    screenshot("01-codes-390")
    save_recovery_codes(page, base, t)

    # "Generate new codes" shows the new set on the same page: the same layout.
    card(page, "Recovery codes", t).get_by_role("link", name=t("View or generate new codes"), exact=True).click()
    page.get_by_role("button", name=t("Generate new codes"), exact=True).click()
    if heading(page, t("Confirm your password")).is_visible():  # a password confirmation older than 5 minutes
        confirm_password(page, t)
        page.get_by_role("button", name=t("Generate new codes"), exact=True).click()
    second = recovery_codes_shown(page, t)
    assert not set(first) & set(second)
    for width in (PHONE, NARROWEST, DESKTOP):
        assert_codes_laid_out(page, width)
    resize(page, NARROWEST)
    screenshot("02-new-codes-320")
    assert unexpected_errors(console_errors) == []


# --- point 3: the audit log --------------------------------------------------------------------------------


def seed_audit_log(database: Database) -> int:
    """Two admins (the first with an authenticator app), a user, and an audit row of every kind of detail the
    portal writes, each with the details as the code writes them (portal/admin/details.py names them all)."""
    import portal
    from portal import audit
    from portal.clock import now
    from portal.crypto import passwords, secret_box
    from portal.events import Event
    from portal.extensions import db
    from portal.models import TotpFactor, User

    app = portal.create_app(app_settings(database.url))
    with app.app_context():
        at = now()
        admin, second, target = (User(email=email, password_hash=passwords().hash(GOOD_PASSWORD), created_at=at,
                                      is_admin=email != TARGET) for email in (ADMIN, SECOND_ADMIN, TARGET))
        db.session.add_all([admin, second, target])
        db.session.flush()
        db.session.add(TotpFactor(user_id=admin.id, secret_encrypted=secret_box().seal(ADMIN_SECRET),
                                  created_at=at, confirmed_at=at))
        masked = "+86•••••8000"
        rows: list[tuple[Event, User | None, str, dict[str, Any]]] = [
            (Event.TOTP_ENROLLED, target, "203.0.113.77", {}),
            (Event.RECOVERY_GENERATED, target, "203.0.113.77", {"count": 10}),
            (Event.SMS_SENT, None, IPV6, {"purpose": "enroll", "phone": masked}),
            (Event.SMS_ENROLLED, target, IPV6, {"phone": masked}),
            (Event.SIGNIN_PASSWORD_FAILED, None, IPV6, {"email_key": "0f3a9c2b7d5e1f48"}),
            (Event.SIGNIN_SECOND_FACTOR_FAILED, None, IPV6, {"method": "totp", "reason": "invalid"}),
            (Event.SIGNIN_SECOND_FACTOR_FAILED, None, IPV6, {"method": "sms", "reason": "clock_skew"}),
            (Event.SIGNIN_LOCKED, None, IPV6, {"failures": 50}),
            (Event.SMS_SENT, None, IPV6, {"purpose": "sign_in", "phone": masked}),
            (Event.SIGNIN_SECOND_FACTOR, target, IPV6, {"method": "totp", "recovery_codes_left": 10}),
            (Event.RECOVERY_USED, target, IPV6, {"method": "recovery", "recovery_codes_left": 9}),
            (Event.ADMIN_DISABLE_REQUESTED, second, "198.51.100.4",
             {"request_id": 7, "identity_check": "video_call", "case_reference": CASE, "notes": NOTES}),
            (Event.ADMIN_DISABLE_REJECTED, admin, "198.51.100.5", {"request_id": 7, "case_reference": CASE}),
            (Event.ADMIN_TWO_FACTOR_DISABLED, admin, "198.51.100.5",
             {"identity_check": "video_call", "case_reference": CASE, "notes": NOTES,
              "removed": {"totp": 1, "sms": 1, "recovery_codes": 9}, "sessions_revoked": 2, "failures_cleared": 50,
              "request_id": 8, "requested_by": second.id}),
            (Event.ADMIN_TWO_FACTOR_DISABLED, None, "",
             {"identity_check": "call_back", "case_reference": "CASE-1", "notes": NOTES,
              "removed": {"totp": 0, "sms": 0, "recovery_codes": 3}, "sessions_revoked": 0, "failures_cleared": 0,
              "via": "cli", "os_user": "root"}),
            (Event.SMS_REMOVED, target, IPV6, {"phone": masked}),
        ]
        for event, actor, ip, details in rows:
            audit.record(event, actor=actor, subject=target, ip=ip or None, **details)
        db.session.commit()
        db.engine.dispose()
    return len(rows)


def sign_in_as_admin(page: Page, base: str, clock: FakeClock, t: Words) -> None:
    sign_in(page, base, ADMIN, t)
    enter_code(page, totp(ADMIN_SECRET, clock()), "Verify", t)
    expect(page).to_have_url(f"{base}/account")


def assert_audit_in_words(page: Page, t: Words) -> None:
    """The details are labels and values in the page's language: no raw key, coded value or Python syntax."""
    details = page.locator("table.audit-log td.details")
    expect(details.first).to_be_visible()
    text = " ".join(details.all_inner_texts())
    assert not PYTHON_SYNTAX.search(text), text
    raw = ("recovery_codes_left", "identity_check", "case_reference", "sessions_revoked", "failures_cleared",
           "request_id", "requested_by", "email_key", "os_user", "video_call", "call_back", "clock_skew",
           "sign_in", "recovery_codes", "totp", "sms")
    assert [word for word in raw if re.search(rf"\b{word}\b", text)] == [], text
    for label in ("Identity check", "Case reference", "Notes", "Removed", "Sessions signed out", "Requested by",
                  "Method", "Reason", "Recovery codes left", "Purpose", "Phone number", "Codes made",
                  "Wrong codes in a row", "Email address key (hashed)", "Approval request", "Made with"):
        assert t(label) in text, (label, t(label))
    for value in ("Video call", "Call-back to the phone number on file", "Authenticator app", "Text message (SMS)",
                  "Recovery code", "Wrong code", "The phone's clock is off", "Signing in", "Setting up the phone",
                  "Command line"):
        assert t(value) in text, (value, t(value))
    removed = page.locator("table.audit-log tr").filter(has_text=CASE).locator("td.details dd").all_inner_texts()
    expected = t("%(what)s: %(value)s", what=t("Recovery codes"), value="9")
    assert any(expected in dd for dd in removed), (expected, removed)
    # The admin who asked for the approval is named by address, linked to the account.
    expect(page.locator("td.details dd a").filter(has_text=SECOND_ADMIN)).to_have_count(1)


@pytest.mark.parametrize("browser_locale", LANGUAGES)
def test_the_audit_log_reads_on_a_phone_and_a_desktop(
    live_server: str, live_clock: FakeClock, browser_page: Page, database: Database,
    screenshot: Callable[[str], Path], console_errors: list[ConsoleError], browser_locale: str,
) -> None:
    page, base, t = browser_page, live_server, words(browser_locale)
    seeded = seed_audit_log(database)
    sign_in_as_admin(page, base, live_clock, t)
    page.goto(f"{base}/admin/audit")
    expect(heading(page, t("Audit log"))).to_be_visible()
    rows = page.locator("table.audit-log > tbody > tr")
    expect(rows).to_have_count(seeded + 1)  # and the admin's own sign-in
    assert_audit_in_words(page, t)

    # A phone: no sideways scrolling, every filter within the screen, each row a card of readable lines.
    resize(page, PHONE)
    screenshot("01-audit-390")
    assert_no_horizontal_scroll(page)
    right_edge = viewport_width(page)
    for box in boxes(page, "form.filters label, form.filters input, form.filters button"):
        assert box["left"] >= 0 and box["right"] <= right_edge, box
    table = boxes(page, "table.audit-log")[0]
    for row in boxes(page, "table.audit-log > tbody > tr"):
        assert row["width"] >= 0.95 * table["width"], f"a row is not a card across the table: {row} in {table}"
        assert row["height"] < 900, f"a card {row['height']} px tall"
    values = "table.audit-log td:not(.details) > .cell, table.audit-log td.details dd"
    for cell in boxes(page, values):
        assert cell["width"] >= 90, f"a value {cell['width']} px wide: its text goes letter by letter"
    for text, lines in lines_of(page, values):
        assert lines <= (4.2 if "\n" in text else 3.2), f"{text!r} takes {lines:.1f} lines at {PHONE} px"
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < (seeded + 1) * 500 + 1200, f"the page is {height} px tall for {seeded + 1} rows"
    assert_audit_in_words(page, t)

    # A desktop: a table, and no email address broken inside its domain (or an IP address at all).
    resize(page, DESKTOP)
    screenshot("02-audit-1280")
    expect(page.locator("table.audit-log thead")).to_be_visible()
    domains = page.locator("table.audit-log .email .domain")
    assert domains.count() >= seeded
    fragments = domains.evaluate_all("els => els.map(e => [e.textContent, e.getClientRects().length])")
    assert [f for f in fragments if f[1] != 1] == [], "a domain broken over lines"
    for text, lines in lines_of(page, "table.audit-log .ip"):  # an IPv6 address may break after a colon
        assert lines < 1.5 or ":" in text, f"{text!r} takes {lines:.1f} lines"
    for text, lines in lines_of(page, "table.audit-log td:not(.details) > .cell"):
        assert lines <= 4.2, f"{text!r} takes {lines:.1f} lines at {DESKTOP} px"
    assert_no_horizontal_scroll(page)
    assert_audit_in_words(page, t)
    assert unexpected_errors(console_errors) == []


# --- point 10: the sessions table and the authenticator setup on the phone ------------------------------------


def add_sessions(database: Database, email: str, clock: FakeClock) -> None:
    """Two more signed-in browsers of email's account: Firefox on Windows from a long IPv6 address, Safari on iOS."""
    import portal
    from portal.extensions import db
    from portal.models import User, UserSession

    app = portal.create_app(app_settings(database.url))
    with app.app_context():
        user = db.session.query(User).filter_by(email=email).one()
        at = clock()
        for ip, agent in ((IPV6, AGENTS["Firefox"]), ("203.0.113.250", AGENTS["Safari"])):
            db.session.add(UserSession(token_hash=secrets.token_hex(32), user_id=user.id, stage="active",
                                       created_at=at - timedelta(hours=2), last_seen_at=at - timedelta(minutes=5),
                                       expires_at=at + timedelta(hours=10), password_confirmed_at=at, ip=ip,
                                       user_agent=agent))
        db.session.commit()
        db.engine.dispose()


@pytest.mark.parametrize("browser_locale", LANGUAGES)
def test_the_sessions_table_keeps_each_address_and_browser_on_one_line(
    live_server: str, live_clock: FakeClock, browser_page: Page, database: Database,
    screenshot: Callable[[str], Path], console_errors: list[ConsoleError], browser_locale: str,
) -> None:
    page, base, t = browser_page, live_server, words(browser_locale)
    email = f"sessions-{browser_locale.lower()}@example.com"
    register(page, base, email, t)
    add_sessions(database, email, live_clock)
    page.reload()
    table = page.locator("table.sessions")
    expect(table.locator("tbody > tr")).to_have_count(3)
    for width in (PHONE, DESKTOP):
        resize(page, width)
        measured = lines_of(page, "table.sessions .agent") + lines_of(page, "table.sessions .ip")
        assert {text for text, _ in measured} >= {IPV6, "203.0.113.250", "127.0.0.1"}, measured
        assert [(text, lines) for text, lines in measured if lines >= 1.5] == [], f"wrapped at {width} px"
        assert_no_horizontal_scroll(page)
        right_edge = viewport_width(page)
        for box in boxes(page, "table.sessions .agent, table.sessions .ip, table.sessions button"):
            assert box["right"] <= right_edge, f"at {width} px: {box}"
        screenshot(f"sessions-{width}")
    assert unexpected_errors(console_errors) == []


@pytest.mark.parametrize("browser_locale", LANGUAGES)
def test_setting_up_on_the_phone_itself(
    live_server: str, live_clock: FakeClock, browser_page: Page, screenshot: Callable[[str], Path],
    console_errors: list[ConsoleError], tmp_path: Path, browser_locale: str,
) -> None:
    page, base, clock, t = browser_page, live_server, live_clock, words(browser_locale)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    resize(page, PHONE)
    register(page, base, f"phone-{browser_locale.lower()}@example.com", t)
    open_setup(page, base, t)
    uri, fields = read_setup_key(page, tmp_path)

    # The key, in groups of four, unfolded beside or below the QR code, with its Copy button, all on screen.
    key = page.locator("#totp-key")
    copy = page.get_by_role("button", name=t("Copy"), exact=True)
    expect(key).to_be_visible()
    expect(key).to_have_text(re.compile(r"^([A-Z2-7]{4} ){7}[A-Z2-7]{4}$"))
    assert key.inner_text().replace(" ", "") == fields["secret"]
    expect(copy).to_be_visible()
    [qr] = boxes(page, "#totp-qr")
    right_edge = viewport_width(page)
    for name, selector in (("key", "#totp-key"), ("Copy", "#totp-key-copy"), ("link", "#totp-open")):
        [box] = boxes(page, selector)
        assert not intersect(box, qr), f"the {name} covers the QR code: {box} {qr}"
        assert box["top"] >= qr["top"] and box["left"] >= 0 and box["right"] <= right_edge, (name, box, qr)
    # The link opens the authenticator app on this phone with the QR code's own URI.
    link = page.get_by_role("link", name=t("Open in authenticator app"), exact=True)
    expect(link).to_be_visible()
    assert link.get_attribute("href") == uri and parse_otpauth(uri) == fields
    copy.click()
    expect(page.locator("#totp-key-status")).to_have_text(t("Copied"))
    assert page.evaluate("navigator.clipboard.readText()") == fields["secret"]
    screenshot("01-setup-390")

    # On a desktop the QR code is for the phone: the link is hidden, the key stays where it is.
    resize(page, DESKTOP)
    expect(link).to_be_hidden()
    expect(page.locator("#totp-qr")).to_be_visible()

    # The code from the app still confirms the setup.
    enter_code(page, totp(fields["secret"], clock()), "Confirm", t)
    recovery_codes_shown(page, t)
    assert unexpected_errors(console_errors) == []


def test_the_key_is_selectable_text_on_a_phone_without_javascript(
    live_server: str, live_clock: FakeClock, browser_page: Page, tmp_path: Path,
) -> None:
    base = live_server
    with page_without_javascript(browser_page) as (page, errors):
        resize(page, PHONE)
        register(page, base, "phone-nojs@example.com")
        open_setup(page, base)
        expect(page.get_by_role("link", name="Open in authenticator app", exact=True)).to_be_visible()
        expect(page.locator("#totp-key-copy")).to_be_hidden()  # only the script can copy
        page.get_by_text("Can't scan? Enter the key by hand", exact=True).click()
        key = page.locator("#totp-key")
        expect(key).to_be_visible()
        key.click()  # user-select: all: one tap selects the whole key
        selected = page.evaluate("window.getSelection().toString()")
        assert selected.replace(" ", "") == read_setup_key(page, tmp_path)[1]["secret"]
    assert errors == []
