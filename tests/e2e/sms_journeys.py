"""Steps the SMS browser journeys share: add a phone, sign in with a texted code, watch the resend countdown.

Every label is the text a person reads, in English or through its Simplified Chinese translation
(ZH reads the catalogue the app uses). Codes come from the Twilio double's inbox, never from the portal.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

from babel.messages.pofile import read_po
from playwright.sync_api import Page, Response, expect

from tests.e2e.journeys import header_button, heading
from tests.e2e.support import ZH_PO, ConsoleError
from tests.support import GOOD_PASSWORD
from tests.tencent_double.server import TencentDouble
from tests.twilio_double.server import TwilioDouble

PHONE = "+8613800138000"
PHONE_TYPED = "138 0013 8000"
PHONE_MASKED = "+86•••••8000"
# Every way the full number could leak into a page (the masked form keeps only +86 and the last four).
PHONE_LEAKS = (PHONE, "8613800138000", "13800138000", PHONE_TYPED, "138-0013-8000")
SMS_VERIFY_URL = r"/2fa/verify\?method=sms(&next=(/|%2F)account)?$"
WAITING = ("You can request a new code in %(num)d second.", "You can request a new code in %(num)d seconds.")
READY = "You can request a new code now."


@cache
def _zh_catalog() -> Any:
    with ZH_PO.open("rb") as f:
        return read_po(f)


@dataclass(frozen=True)
class Words:
    """The page's language: words("Send code") is the label a person reads; plural() its ngettext."""

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


def waiting_pattern(words: Words) -> re.Pattern[str]:
    """The countdown while it counts: "You can request a new code in N second(s)." (or its Chinese)."""
    one, many = words.plural(WAITING, 1), words.plural(WAITING, 987654)
    alternatives = {re.escape(one).replace("1", r"\d+", 1), re.escape(many).replace("987654", r"\d+")}
    return re.compile("^(" + "|".join(sorted(alternatives)) + ")$")


def main(page: Page) -> Any:
    return page.locator("main")


def sms_card(page: Page, words: Words = EN) -> Any:
    """The account page's "Text message (SMS)" section."""
    return page.locator("section.card").filter(has=heading(page, words("Text message (SMS)"), level=2))


def resend_box(page: Page) -> Any:
    """The countdown and its button (templates/signin/_sms_resend.html)."""
    return page.locator("main .sms-resend")


def countdown_label(page: Page) -> Any:
    return resend_box(page).locator(".countdown-label")


def resend_button(page: Page, words: Words = EN, name: str = "Resend code") -> Any:
    return resend_box(page).get_by_role("button", name=words(name), exact=True)


def form_alert(page: Page) -> Any:
    return page.locator("main .form-error[role=alert]")


def field_errors(page: Page) -> Any:
    return page.locator("main ul.errors")


def assert_no_full_number(page: Page) -> None:
    html = page.content()
    leaked = [form for form in PHONE_LEAKS if form in html]
    assert leaked == [], f"{page.url} shows the full phone number: {leaked}"
    assert PHONE_MASKED in html, f"{page.url} does not show the masked number {PHONE_MASKED}"


def open_phone_setup(page: Page, base: str, words: Words = EN) -> None:
    """From /account, follow "Add a phone number" (a fresh registration needs no password prompt)."""
    card = sms_card(page, words)
    expect(card).to_contain_text(words("Get a 6-digit code by text message each time you sign in."))
    card.get_by_role("link", name=words("Add a phone number"), exact=True).click()
    expect(page).to_have_url(f"{base}/account/2fa/sms")
    expect(heading(page, words("Get codes by text message"))).to_be_visible()


def enter_phone(page: Page, words: Words = EN, country: str = "China (+86)") -> None:
    """The phone page: the country select defaults to China (+86); type the number, "Send code"."""
    select = page.get_by_label(words("Country or region"), exact=True)
    expect(select).to_have_value("CN")
    expect(select.locator("option:checked")).to_have_text(country)
    page.get_by_label(words("Mobile number"), exact=True).fill(PHONE_TYPED)
    main(page).get_by_role("button", name=words("Send code"), exact=True).click()


def enter_code(page: Page, code: str, button: str, words: Words = EN) -> None:
    page.get_by_label(words("Code"), exact=True).fill(code)
    page.locator("main form").filter(has=page.get_by_label(words("Code"), exact=True)).get_by_role(
        "button", name=words(button), exact=True).click()


def sign_in(page: Page, base: str, email: str, words: Words = EN) -> None:
    page.goto(f"{base}/login")
    expect(heading(page, words("Sign in"))).to_be_visible()
    page.get_by_label(words("Email"), exact=True).fill(email)
    page.get_by_label(words("Password"), exact=True).fill(GOOD_PASSWORD)
    page.get_by_role("button", name=words("Continue"), exact=True).click()


def sign_out(page: Page, base: str, words: Words = EN) -> None:
    header_button(page, words("Sign out")).click()
    expect(page).to_have_url(f"{base}/login")
    expect(page.get_by_role("status")).to_have_text(words("You have signed out."))


def expect_sms_verify_page(page: Page, base: str, words: Words = EN) -> None:
    expect(page).to_have_url(re.compile("^" + re.escape(base) + SMS_VERIFY_URL))
    expect(heading(page, words("Enter your code"))).to_be_visible()


def expect_signed_in(page: Page, base: str, words: Words = EN) -> None:
    expect(page).to_have_url(f"{base}/account")
    expect(heading(page, words("Account security"))).to_be_visible()
    expect(page.locator("dl.facts strong")).to_have_text(words("On"))
    expect(header_button(page, words("Sign out"))).to_be_visible()


def expect_counting(page: Page, words: Words = EN, name: str = "Resend code") -> None:
    """The countdown is running: "You can request a new code in N seconds." and its button disabled."""
    expect(countdown_label(page)).to_have_text(waiting_pattern(words))
    expect(resend_button(page, words, name)).to_be_disabled()


def expect_ready(page: Page, words: Words = EN, name: str = "Resend code", timeout: float = 10_000) -> None:
    """The countdown has reached zero: "You can request a new code now." and its button enabled."""
    expect(countdown_label(page)).to_have_text(words(READY), timeout=timeout)
    expect(resend_button(page, words, name)).to_be_enabled()


@contextmanager
def answered(page: Page, status: int, console_errors: list[ConsoleError], path: str,
             method: str = "POST") -> Iterator[dict[str, Any]]:
    """Wrap a submit the server answers with `status` (400, 429): check the status, and that Chromium
    logged exactly one console error for it. Yields a dict filled with "response" and "error"."""
    got: dict[str, Any] = {}
    before = len(console_errors)

    def wanted(r: Response) -> bool:
        return r.request.method == method and r.url.split("?")[0].endswith(path) and r.request.is_navigation_request()

    logged_error = page.expect_console_message(lambda m: m.type == "error" and f"status of {status}" in m.text)
    with page.expect_response(wanted) as response, logged_error:
        yield got
    got["response"] = response.value
    assert response.value.status == status, (response.value.url, response.value.status)
    logged = [e for e in console_errors[before:] if f"status of {status}" in e.text]
    assert len(logged) == 1, logged
    got["error"] = logged[0]


class Inbox:
    """The texts the Twilio double (or the Tencent Cloud double) delivered to PHONE, counted from a mark."""

    def __init__(self, twilio: TwilioDouble | TencentDouble) -> None:
        self.twilio = twilio

    def count(self) -> int:
        return len(self.twilio.inbox(PHONE))

    def bodies(self) -> list[str]:
        return [sms.body for sms in self.twilio.inbox(PHONE)]

    def code(self, index: int = -1) -> str:
        texts = self.twilio.inbox(PHONE)
        found = re.findall(r"(?<!\d)\d{6}(?!\d)", texts[index].body)
        assert len(set(found)) == 1, texts[index].body
        return found[0]

    def latest(self) -> str:
        return self.twilio.last_code(PHONE)


def wrong_code(*right: str) -> str:
    """A 6-digit code that is none of the right ones."""
    return next(c for c in (f"{n:06d}" for n in range(123456, 1_000_000, 111_111)) if c not in right)
