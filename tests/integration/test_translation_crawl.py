"""Every page a person can reach is in Chinese when Chinese is chosen: a crawl as an anonymous visitor, a user in
the middle of signing in, a signed-in user (authenticator app, recovery codes and a phone) and an admin who has
just confirmed with a code. It follows every link and submits every GET form with its default values, and also
answers a few forms wrongly (refusals carry their own sentences). A page fails when it shows an English message
of the catalogue that has a Chinese translation: that sentence should have been shown in Chinese.

Not counted as English: addresses (URLs, email addresses) and the product name (the brand, also the issuer).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlsplit

import pytest
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient

from tests.integration.sms_helpers import PHONE, give_phone
from tests.otp import totp
from tests.support import GOOD_PASSWORD, FakeClock, csrf_token, login

CATALOGUE = Path(__file__).resolve().parents[2] / "portal" / "translations" / "zh_Hans" / "LC_MESSAGES" / "messages.po"
PRODUCT_NAME = "2FA Portal"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
ADDRESS = re.compile(r"\b(?:https?://\S+|[\w.+-]+\s?@\s?[\w-]+(?:\.[\w-]+)+)")  # a page may break before "@"
# Attributes a person reads or hears (a script reads data-* to say them): the rest are names, addresses, tokens.
READ_ATTRIBUTES = {"aria-label", "title", "placeholder", "alt"}
# Pages that are not HTML or that change something on a GET if there were any; /static has no sentences.
NOT_CRAWLED = ("/static/", "/admin/audit.csv", "/logout", "/healthz")
MOST_PAGES = 150  # a pager gone wild would show here, not hang the run
USER, ADMIN = "crawl-user@example.com", "crawl-admin@example.com"


@pytest.fixture
def settings():
    # The approval pages exist only with the second admin's approval on.
    return {"ADMIN_DISABLE_REQUIRES_SECOND_ADMIN": True}


def english_messages() -> dict[str, re.Pattern[str]]:
    """Each English msgid (singular and plural) that Chinese translates differently, as a pattern for a page's
    text: placeholders match anything short, and a message must not be part of a longer word."""
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle)
    patterns = {}
    for message in catalogue:
        if not message.id or message.fuzzy:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not any(strings) or set(strings) <= set(ids):
            continue  # untranslated (the catalogue test says so) or the same in both languages
        for english in ids:
            literal = " ".join(PLACEHOLDER.sub(" ", english).split())
            if english == PRODUCT_NAME or not re.search(r"[A-Za-z]{2}", literal):
                continue  # the brand; or nothing English in it but placeholders and punctuation
            # A placeholder at either end adds nothing to look for: the message's own words are in between.
            parts = [re.escape(" ".join(p.split())) for p in PLACEHOLDER.split(english.strip())]
            while parts and not parts[0]:
                parts.pop(0)
            while parts and not parts[-1]:
                parts.pop()
            body = r".{0,200}?".join(parts).replace(r"\ ", r"\s+")
            patterns[english] = re.compile(r"(?<![A-Za-z])" + body + r"(?![A-Za-z])", re.S)
    return patterns


class Page(HTMLParser):
    """What a page shows a person (its text and read attributes), its links and its GET forms."""

    def __init__(self, url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.url = url
        self.text: list[str] = []
        self.links: list[str] = []
        self.get_forms: list[tuple[str, dict[str, str]]] = []
        self._form: tuple[str, dict[str, str]] | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.text.extend(v for k, v in a.items() if k in READ_ATTRIBUTES or k.startswith("data-"))
        if tag == "a" and "href" in a:
            self.links.append(urljoin(self.url, a["href"]))
        elif tag == "form" and a.get("method", "get").lower() == "get":
            self._form = (urljoin(self.url, a.get("action") or self.url), {})
        elif tag == "input" and a.get("type") in ("submit", "button", "reset"):
            self.text.append(a.get("value", ""))
        if self._form is None:
            return
        if tag == "input" and a.get("name") and a.get("type") not in ("submit", "checkbox", "radio"):
            self._form[1][a["name"]] = a.get("value", "")
        elif tag == "select" and a.get("name"):
            self._select = a["name"]
        elif tag == "option" and self._select and self._select not in self._form[1]:
            self._form[1][self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._form is not None:
            self.get_forms.append(self._form)
            self._form = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def shown(self) -> str:
        text = " ".join(" ".join(self.text).split())
        return ADDRESS.sub(" ", text).replace(PRODUCT_NAME, " ")


def local(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost") or parts.scheme not in ("", "http"):
        return None
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return None if path.startswith(NOT_CRAWLED) else path


def crawl(browser: FlaskClient, starts: Iterable[str], *, avoid: tuple[str, ...] = ()) -> dict[str, str]:
    """GET every page reachable from starts by links and GET forms; return each HTML page's shown text."""
    seen: set[str] = set()
    queue = deque(starts)
    shown: dict[str, str] = {}
    while queue and len(seen) < MOST_PAGES:
        path = queue.popleft()
        if path in seen or path.startswith(avoid):
            continue
        seen.add(path)
        response = browser.get(path)
        if response.status_code in (301, 302, 303, 307, 308):
            target = local(urljoin("http://localhost" + path, response.headers["Location"]))
            if target:
                queue.append(target)
            continue
        if not response.content_type.startswith("text/html"):
            continue
        page = Page("http://localhost" + path)
        page.feed(response.get_data(as_text=True))
        shown[f"GET {path} ({response.status_code})"] = page.shown()
        for link in page.links:
            if (target := local(link)) is not None:
                queue.append(target)
        for action, fields in page.get_forms:
            if (target := local(action)) is not None:
                queue.append(target.split("?", 1)[0] + (f"?{urlencode(fields)}" if fields else ""))
    return shown


def answer(browser: FlaskClient, form_url: str, data: dict[str, str], action: str | None = None) -> tuple[str, str]:
    """POST a form as a browser would (its CSRF token first); the page or redirect target it leads to, shown."""
    response = browser.post(action or form_url, data={"csrf_token": csrf_token(browser.get(form_url)), **data},
                            follow_redirects=True)
    page = Page("http://localhost" + form_url)
    page.feed(response.get_data(as_text=True))
    return f"POST {action or form_url} {data} ({response.status_code})", page.shown()


def assert_no_english(shown: dict[str, str]) -> None:
    """Fail listing each page, the English message found on it and where in the page's text."""
    patterns = english_messages()
    found = []
    for where, text in sorted(shown.items()):
        for english, pattern in patterns.items():
            if match := pattern.search(text):
                found.append(f"{where}: {english!r}\n    …{text[max(0, match.start() - 40):match.end() + 40]}…")
    assert not found, f"English on {len(found)} occasions:\n" + "\n".join(found)


def chinese(app: Flask) -> FlaskClient:
    browser = app.test_client()
    browser.set_cookie("lang", "zh_Hans")
    return browser


def signed_in_with_everything(app: Flask, make_user, clock: FakeClock, email: str,
                              **fields) -> tuple[FlaskClient, dict[str, str], str]:
    """A Chinese browser of a user with an authenticator app, recovery codes and a phone: the pages of the
    second step crawled on the way, then signed in with a code."""
    user = make_user(email, **fields)
    extras = give_phone(app, user, PHONE, clock, totp=True)
    browser = chinese(app)
    assert login(browser, email).status_code == 302
    shown = crawl(browser, ["/2fa", "/2fa/verify?method=totp", "/2fa/verify?method=sms", "/2fa/recovery"],
                  avoid=("/account", "/admin", "/login", "/register"))
    shown.update([answer(browser, "/2fa/verify?method=totp", {"code": "000000"}),
                  answer(browser, "/2fa/recovery", {"code": "AAAA-AAAA-AAAA"})])
    clock.advance(30)
    assert extras.totp_secret is not None
    page = browser.get("/2fa/verify?method=totp")
    done = browser.post("/2fa/verify?method=totp", data={"csrf_token": csrf_token(page),
                                                         "code": totp(extras.totp_secret, clock())})
    assert done.status_code == 302, done.get_data(as_text=True)[:1000]
    return browser, {f"second step: {where}": text for where, text in shown.items()}, extras.totp_secret


def test_an_anonymous_visitor_sees_no_english(app):
    browser = chinese(app)
    shown = crawl(browser, ["/", "/login", "/register", "/account", "/admin", "/2fa", "/no-such-page"])
    shown.update([
        answer(browser, "/login", {"email": "nobody@example.com", "password": "not the password"}),
        answer(browser, "/login", {"email": "", "password": ""}),
        answer(browser, "/register", {"email": "new@example.com", "password": "short", "password_confirm": "other"}),
        answer(browser, "/register", {"email": "not an address", "password": "", "password_confirm": ""}),
    ])
    for attempt in range(1, 7):  # wrong passwords: the warning before the delays (4th), then a wait (6th)
        where, text = answer(browser, "/login", {"email": "guess@example.com", "password": f"guess number {attempt}"})
        shown[f"{where} #{attempt}"] = text
    assert any("(429)" in where for where in shown), sorted(shown)
    assert len(shown) >= 8, sorted(shown)
    assert_no_english(shown)


def test_a_user_with_every_method_sees_no_english(app, make_user, clock):
    browser, shown, _secret = signed_in_with_everything(app, make_user, clock, USER)
    shown.update(crawl(browser, ["/", "/account", "/admin", "/login", "/register"]))
    shown.update([answer(browser, "/reauth", {"password": "not the password"})])
    assert any("/account/2fa/sms" in where for where in shown), sorted(shown)
    assert any("/account/2fa/recovery-codes" in where for where in shown), sorted(shown)
    assert_no_english(shown)


def test_an_admin_after_confirming_sees_no_english(app, make_user, clock):
    give_phone(app, make_user("someone-else@example.com"), "+8613900139000", clock, totp=True)
    browser, shown, secret = signed_in_with_everything(app, make_user, clock, ADMIN, is_admin=True)
    shown.update([answer(browser, "/admin/confirm", {"password": GOOD_PASSWORD, "code": "000000"})])
    clock.advance(30)
    confirmed = answer(browser, "/admin/confirm", {"password": GOOD_PASSWORD, "code": totp(secret, clock())})
    shown.update([confirmed])
    shown.update(crawl(browser, ["/admin", "/admin/users", "/admin/audit", "/admin/requests", "/account"]))
    assert any(where.startswith("GET /admin/users/") and "/disable-2fa" in where for where in shown), sorted(shown)
    assert_no_english(shown)


@pytest.mark.parametrize(("language", "methods"), [("en", "Authenticator app and Text message (SMS)"),
                                                   ("zh_Hans", "身份验证器应用和短信 (SMS)")])
def test_the_admins_user_list_names_the_methods_as_the_language_lists_things(app, make_user, clock, language,
                                                                             methods):
    give_phone(app, make_user("someone-else@example.com"), "+8613900139000", clock, totp=True)
    browser, _shown, secret = signed_in_with_everything(app, make_user, clock, ADMIN, is_admin=True)
    clock.advance(30)
    answer(browser, "/admin/confirm", {"password": GOOD_PASSWORD, "code": totp(secret, clock())})
    browser.set_cookie("lang", language)
    page = browser.get("/admin/users?q=someone-else")
    assert page.status_code == 200
    assert f"<td>{methods}</td>" in page.get_data(as_text=True)
