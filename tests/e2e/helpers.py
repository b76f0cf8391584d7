"""Every helper the browser tests share: the words a person reads, what they click and type, what they see.

Fixtures stay in conftest.py; this module holds the steps and checks the test files have in common:
the live server's clock, registering and signing in through the forms, entering a code, reading
field errors, setting up the authenticator app, the recovery codes page, the phone pages and their
resend countdown, forms the server refuses, and a page without JavaScript.

Every label is the English text a person reads, or its Simplified Chinese translation through t=ZH
(read from the catalogue the app uses). Every TOTP code comes from tests/otp.py; every texted code from
the Twilio or Tencent double's inbox, never from the portal.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po
from playwright.sync_api import BrowserContext, ConsoleMessage, Locator, Page, Response, expect

from tests.otp import decode_qr, parse_otpauth, totp
from tests.support import GOOD_PASSWORD, FakeClock
from tests.tencent_double.server import TencentDouble
from tests.twilio_double.server import TwilioDouble

ZH_PO = Path(__file__).resolve().parents[2] / "portal/translations/zh_Hans/LC_MESSAGES/messages.po"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"  # tests/artifacts/ (git-ignored): screenshots

# The authenticator app.
ISSUER = "2FA Portal"
STEP = 30
VERIFY_PROMPT = f"Open your authenticator app and enter the 6-digit code it shows for {ISSUER}."
VERIFY_URL = re.compile(r"/2fa/verify\?method=totp(&next=(/|%2F)account)?$")
# Recovery codes: recovery.py makes 12 Crockford base32 characters (no I, L, O, U), shown XXXX-XXXX-XXXX.
RECOVERY_URL = re.compile(r"/2fa/recovery(\?next=(/|%2F)account)?$")
RECOVERY_CODE = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}")
CODES_SAVED = "Keep your recovery codes somewhere safe, away from your phone."
# The phone.
PHONE = "+8613800138000"
PHONE_TYPED = "138 0013 8000"
PHONE_MASKED = "+86•••••8000"
PHONE_FULL = "+86 138 0013 8000"  # the confirmation step reads the number just typed back in full
# Every way the full number could leak into a page (the masked form keeps only +86 and the last four).
PHONE_LEAKS = (PHONE, "8613800138000", "13800138000", PHONE_TYPED, "138-0013-8000")
SMS_VERIFY_URL = r"/2fa/verify\?method=sms(&next=(/|%2F)account)?$"
WAITING = ("You can request a new code in %(num)d second.", "You can request a new code in %(num)d seconds.")
READY = "You can request a new code now."


# --- the page's language -------------------------------------------------------------------------------


@cache
def _zh_catalog() -> Any:
    with ZH_PO.open("rb") as f:
        return read_po(f)


@dataclass(frozen=True)
class Words:
    """The page's language: t("Send code") is the label a person reads; t.plural() its ngettext."""

    chinese: bool = False

    def __call__(self, msgid: str, **values: Any) -> str:
        text = msgid
        if self.chinese:
            message = _zh_catalog().get(msgid)
            assert message is not None and isinstance(message.string, str) and message.string, \
                f"no zh_Hans translation for {msgid!r}"
            text = message.string
        return text % values if values else text

    def plural(self, forms: tuple[str, str], num: int) -> str:
        if self.chinese:
            message = _zh_catalog().get(forms[0])
            assert message is not None and isinstance(message.string, tuple) and message.string[0], \
                f"no zh_Hans plural translation for {forms[0]!r}"
            return message.string[0] % {"num": num}
        return (forms[0] if num == 1 else forms[1]) % {"num": num}


EN = Words()
ZH = Words(chinese=True)


def waiting_pattern(t: Words) -> re.Pattern[str]:
    """The countdown while it counts: "You can request a new code in N second(s)." (or its Chinese)."""
    one, many = t.plural(WAITING, 1), t.plural(WAITING, 987654)
    alternatives = {re.escape(one).replace("1", r"\d+", 1), re.escape(many).replace("987654", r"\d+")}
    return re.compile("^(" + "|".join(sorted(alternatives)) + ")$")


# --- the live server's clock and the browser's console -----------------------------------------------------


def real_time_clock() -> FakeClock:
    """A FakeClock set to the real time now, so the page's countdown and the server roughly agree.

    Tests advance it by hand instead of sleeping for the next 30-second step.
    """
    clock = FakeClock()
    clock.current = datetime.now(UTC)
    return clock


@dataclass(frozen=True)
class ConsoleError:
    """A console message of type "error" (CSP violations, failed loads) or an uncaught page error."""

    text: str
    url: str

    def __str__(self) -> str:
        return f"{self.text} [{self.url}]"


def unexpected_errors(errors: list[ConsoleError], expected: Collection[ConsoleError] = ()) -> list[str]:
    """Every console error but the expected ones (a favicon 404 counts: the portal ships its icon)."""
    return [str(e) for e in errors if e not in expected]


def open_page(context: BrowserContext, errors: list[ConsoleError]) -> Page:
    """A new page of context (10 s timeouts) whose console errors and uncaught exceptions go to errors."""
    page = context.new_page()
    page.set_default_timeout(10_000)

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            errors.append(ConsoleError(msg.text, msg.location.get("url", "")))

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(ConsoleError(f"uncaught {exc}", page.url)))
    return page


@contextmanager
def page_without_javascript(page: Page) -> Iterator[tuple[Page, list[ConsoleError]]]:
    """A new page with scripts off (English, in page's browser) and the console errors it logs; closed after."""
    browser = page.context.browser
    assert browser is not None
    context = browser.new_context(java_script_enabled=False, locale="en-US")
    errors: list[ConsoleError] = []
    try:
        yield open_page(context, errors), errors
    finally:
        context.close()


# --- what a person looks at ----------------------------------------------------------------------------------


def heading(page: Page, name: str, level: int = 1) -> Locator:
    return page.get_by_role("heading", level=level, name=name, exact=True)


def header_button(page: Page, name: str) -> Locator:
    return page.locator("header.site-header").get_by_role("button", name=name, exact=True)


def main(page: Page) -> Locator:
    return page.locator("main")


def field_errors(page: Page) -> Locator:
    """The errors under a form's field (the code, the phone number)."""
    return page.locator("main ul.errors")


def form_alert(page: Page) -> Locator:
    """The error at the top of a form, about the whole form (a resend too early)."""
    return page.locator("main .form-error[role=alert]")


def card(page: Page, title: str, t: Words = EN) -> Locator:
    """The account page's section under the heading title: "Authenticator app", "Recovery codes" …"""
    return page.locator("section.card").filter(has=heading(page, t(title), level=2))


def resend_box(page: Page) -> Locator:
    """The countdown and its button (templates/signin/_sms_resend.html)."""
    return page.locator("main .sms-resend")


def countdown_label(page: Page) -> Locator:
    return resend_box(page).locator(".countdown-label")


def resend_button(page: Page, t: Words = EN, name: str = "Resend code") -> Locator:
    return resend_box(page).get_by_role("button", name=t(name), exact=True)


# --- signing up, in and out -----------------------------------------------------------------------------------


def register(page: Page, base: str, email: str, t: Words = EN) -> None:
    """Create an account through the form (labels in the page's language); lands on /account."""
    page.goto(f"{base}/register")
    expect(heading(page, t("Create your account"))).to_be_visible()
    page.get_by_label(t("Email"), exact=True).fill(email)
    page.get_by_label(t("Password"), exact=True).fill(GOOD_PASSWORD)
    page.get_by_label(t("Repeat the password"), exact=True).fill(GOOD_PASSWORD)
    main(page).get_by_role("button", name=t("Create account"), exact=True).click()
    expect(page).to_have_url(f"{base}/account")
    expect(page.locator(".flash")).to_have_text(t("Your account is ready. Next, set up two-step verification."))


def fill_sign_in(page: Page, email: str, password: str = GOOD_PASSWORD, t: Words = EN) -> None:
    """Fill the sign-in form of the page the browser is on, and press Continue."""
    page.get_by_label(t("Email"), exact=True).fill(email)
    page.get_by_label(t("Password"), exact=True).fill(password)
    page.get_by_role("button", name=t("Continue"), exact=True).click()


def sign_in(page: Page, base: str, email: str, t: Words = EN) -> None:
    """Open /login and sign in with the password; what comes next (a code, or /account) is the caller's."""
    page.goto(f"{base}/login")
    expect(heading(page, t("Sign in"))).to_be_visible()
    fill_sign_in(page, email, t=t)


def confirm_password(page: Page, t: Words = EN) -> None:
    """Fill the "Confirm your password" page."""
    expect(heading(page, t("Confirm your password"))).to_be_visible()
    page.get_by_label(t("Password"), exact=True).fill(GOOD_PASSWORD)
    page.get_by_role("button", name=t("Confirm"), exact=True).click()


def enter_code(page: Page, code: str, button: str, t: Words = EN, label: str = "Code") -> None:
    """Fill the code field (its label: "Code", or "Recovery code" on the recovery page) and press button
    (English, read through t) of the form that holds the field."""
    field = page.get_by_label(t(label), exact=True)
    field.fill(code)
    page.locator("main form").filter(has=field).get_by_role("button", name=t(button), exact=True).click()


def sign_out(page: Page, base: str, t: Words = EN) -> None:
    header_button(page, t("Sign out")).click()
    expect(page).to_have_url(f"{base}/login")
    expect(page.get_by_role("status")).to_have_text(t("You have signed out."))


def expect_signed_in(page: Page, base: str, t: Words = EN) -> None:
    """On /account with a second factor on, signed in."""
    expect(page).to_have_url(f"{base}/account")
    expect(heading(page, t("Account security"))).to_be_visible()
    expect(page.locator("dl.facts strong")).to_have_text(t("On"))
    expect(header_button(page, t("Sign out"))).to_be_visible()


def expect_verify_page(page: Page, base: str) -> None:
    """The sign-in's authenticator app step."""
    expect(page).to_have_url(re.compile("^" + re.escape(base) + VERIFY_URL.pattern))
    expect(heading(page, "Enter your code")).to_be_visible()
    expect(main(page)).to_contain_text(VERIFY_PROMPT)


def expect_recovery_page(page: Page, base: str) -> None:
    """The sign-in's recovery code step."""
    expect(page).to_have_url(re.compile("^" + re.escape(base) + RECOVERY_URL.pattern))
    expect(heading(page, "Use a recovery code")).to_be_visible()
    expect(page.get_by_label("Recovery code", exact=True)).to_be_visible()


def expect_sms_verify_page(page: Page, base: str, t: Words = EN, title: str = "Enter your code") -> None:
    """The sign-in's text message step (before any text its heading is "Get a code by text message")."""
    expect(page).to_have_url(re.compile("^" + re.escape(base) + SMS_VERIFY_URL))
    expect(heading(page, t(title))).to_be_visible()


# --- forms the server refuses -----------------------------------------------------------------------------


def _logged_status(status: int) -> Callable[[ConsoleMessage], bool]:
    """Chromium logs a page answered with an error status as a failed load: "... status of 400 ..."."""
    return lambda m: m.type == "error" and f"status of {status}" in m.text


def _the_one_logged(console_errors: list[ConsoleError], since: int, status: int) -> ConsoleError:
    logged = [e for e in console_errors[since:] if f"status of {status}" in e.text]
    assert len(logged) == 1, logged
    return logged[0]


def expect_refused(page: Page, console_errors: list[ConsoleError], submit: Callable[[], None]) -> ConsoleError:
    """Submit a form the server answers with 400; return the one console error Chromium logs for it."""
    before = len(console_errors)
    with page.expect_console_message(_logged_status(400)):
        submit()
    return _the_one_logged(console_errors, before, 400)


@contextmanager
def answered(page: Page, status: int, console_errors: list[ConsoleError], path: str,
             method: str = "POST") -> Iterator[dict[str, Any]]:
    """Wrap a submit the server answers with `status` (400, 429): check the status, and that Chromium
    logged exactly one console error for it. Yields a dict filled with "response" and "error"."""
    got: dict[str, Any] = {}
    before = len(console_errors)

    def wanted(r: Response) -> bool:
        return r.request.method == method and r.url.split("?")[0].endswith(path) and r.request.is_navigation_request()

    with page.expect_response(wanted) as response, page.expect_console_message(_logged_status(status)):
        yield got
    got["response"] = response.value
    assert response.value.status == status, (response.value.url, response.value.status)
    got["error"] = _the_one_logged(console_errors, before, status)


# --- the authenticator app and the recovery codes ------------------------------------------------------------


def open_setup(page: Page, base: str, t: Words = EN) -> str:
    """From /account, follow "Set up an authenticator app"; return "direct" or "reauth" (the path taken)."""
    card(page, "Authenticator app", t).get_by_role("link", name=t("Set up an authenticator app"), exact=True).click()
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


def read_setup_key(page: Page, tmp_path: Path) -> tuple[str, dict[str, str]]:
    """Read the QR code the browser drew (a screenshot of #totp-qr through zbarimg); return (URI, fields)."""
    qr = page.locator("#totp-qr")
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0"), "the QR image did not load"
    uri = decode_qr(qr.screenshot(), tmp_path)
    return uri, parse_otpauth(uri)


def scan_and_confirm(page: Page, clock: FakeClock, tmp_path: Path) -> str:
    """On the setup page: scan the QR code, confirm with the app's current code; return the key."""
    secret = read_setup_key(page, tmp_path)[1]["secret"]
    enter_code(page, totp(secret, clock()), "Confirm")
    return secret


def enroll_and_show_codes(page: Page, base: str, email: str, clock: FakeClock, tmp_path: Path) -> list[str]:
    """Register, set up the authenticator app, and return the codes of the page that follows."""
    register(page, base, email)
    assert open_setup(page, base) == "direct"
    scan_and_confirm(page, clock, tmp_path)
    return recovery_codes_shown(page)


def recovery_codes_shown(page: Page, t: Words = EN) -> list[str]:
    """The codes page ("Save your recovery codes", shown once): its 10 codes, checked for format."""
    expect(heading(page, t("Save your recovery codes"))).to_be_visible()
    codes = page.locator("#recovery-codes code")
    expect(codes).to_have_count(10)
    shown = [c.strip() for c in codes.all_inner_texts()]
    assert all(RECOVERY_CODE.fullmatch(c) for c in shown), shown
    assert len(set(shown)) == 10, shown
    return shown


def save_recovery_codes(page: Page, base: str, t: Words = EN) -> None:
    """On the codes page: tick "I have saved these codes", Continue; lands on /account with a reminder."""
    page.get_by_label(t("I have saved these codes"), exact=True).check()
    main(page).get_by_role("button", name=t("Continue"), exact=True).click()
    expect_signed_in(page, base, t)
    expect(page.get_by_role("status")).to_have_text(t(CODES_SAVED))


# --- the phone ------------------------------------------------------------------------------------------------


def open_phone_setup(page: Page, base: str, t: Words = EN) -> None:
    """From /account, follow "Add a phone number" (a fresh registration needs no password prompt)."""
    sms = card(page, "Text message (SMS)", t)
    expect(sms).to_contain_text(t("Get a 6-digit code by text message each time you sign in."))
    sms.get_by_role("link", name=t("Add a phone number"), exact=True).click()
    expect(page).to_have_url(f"{base}/account/2fa/sms")
    expect(heading(page, t("Get codes by text message"))).to_be_visible()


def enter_phone(page: Page, t: Words = EN, country: str = "China (+86)") -> None:
    """The phone page: the country select defaults to China (+86); type the number, "Send code"."""
    select = page.get_by_label(t("Country or region"), exact=True)
    expect(select).to_have_value("CN")
    expect(select.locator("option:checked")).to_have_text(country)
    page.get_by_label(t("Mobile number"), exact=True).fill(PHONE_TYPED)
    main(page).get_by_role("button", name=t("Send code"), exact=True).click()


def assert_no_full_number(page: Page) -> None:
    html = page.content()
    leaked = [form for form in PHONE_LEAKS if form in html]
    assert leaked == [], f"{page.url} shows the full phone number: {leaked}"
    assert PHONE_MASKED in html, f"{page.url} does not show the masked number {PHONE_MASKED}"


def assert_full_number(page: Page) -> None:
    """The confirmation step: the number just typed, in full and nowhere masked, so a typo can be caught."""
    html = page.content()
    assert PHONE_FULL in html, f"{page.url} does not show the number just typed, {PHONE_FULL}"
    assert PHONE_MASKED not in html, f"{page.url} masks the number just typed"


def expect_counting(page: Page, t: Words = EN, name: str = "Resend code") -> None:
    """The countdown is running: "You can request a new code in N seconds." and its button disabled."""
    expect(countdown_label(page)).to_have_text(waiting_pattern(t))
    expect(resend_button(page, t, name)).to_be_disabled()


def expect_ready(page: Page, t: Words = EN, name: str = "Resend code", timeout: float = 10_000) -> None:
    """The countdown has reached zero: "You can request a new code now." and its button enabled."""
    expect(countdown_label(page)).to_have_text(t(READY), timeout=timeout)
    expect(resend_button(page, t, name)).to_be_enabled()


class Inbox:
    """The texts the Twilio double (or the Tencent Cloud double) delivered to PHONE, counted from a mark."""

    def __init__(self, twilio: TwilioDouble | TencentDouble) -> None:
        self.twilio = twilio

    def count(self) -> int:
        return len(self.twilio.inbox(PHONE))

    def bodies(self) -> list[str]:
        return [sms.body for sms in self.twilio.inbox(PHONE)]

    def latest(self) -> str:
        return self.twilio.last_code(PHONE)


def wrong_code(*right: str) -> str:
    """A 6-digit code that is none of the right ones."""
    return next(c for c in (f"{n:06d}" for n in range(123456, 1_000_000, 111_111)) if c not in right)
