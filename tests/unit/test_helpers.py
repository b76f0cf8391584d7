"""Small pure helpers: redirect targets, typed codes, emails, the password policy, agents, languages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from portal import create_app
from portal.account.agents import describe_agent
from portal.auth.passwords import canonical_email, common_passwords, password_problems
from portal.factors.base import canonical_digits
from portal.i18n import match_language
from portal.security import safe_next
from tests.conftest import app_settings
from tests.support import GOOD_PASSWORD


def build_app(tmp_path: Path, **settings: object) -> Flask:
    return create_app(app_settings("sqlite:///" + str(tmp_path / "x.db"), **settings))


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    return build_app(tmp_path)


@pytest.fixture
def request_context(app: Flask) -> Iterator[None]:
    with app.test_request_context():
        yield


# --- safe_next -----------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["/account", "/account?x=1", "/", "/account/sessions#top"])
def test_safe_next_accepts_local_paths(target: str) -> None:
    assert safe_next(target) == target


@pytest.mark.parametrize("target", [
    pytest.param(None, id="none"),
    pytest.param("", id="empty"),
    pytest.param("https://evil.example", id="absolute"),
    pytest.param("http:/evil.example", id="scheme-one-slash"),
    pytest.param("//evil.example", id="protocol-relative"),
    pytest.param("///evil.example", id="triple-slash"),
    pytest.param("/\\evil.example", id="slash-backslash"),
    pytest.param("\\\\evil", id="double-backslash"),
    pytest.param("javascript:alert(1)", id="javascript"),
    pytest.param("/\x00x", id="nul"),
    pytest.param("/\t/evil.example", id="tab"),  # browsers drop tabs: would become //evil.example
    pytest.param("/\n/evil.example", id="newline"),
    pytest.param(" /account", id="leading-space"),  # not a path: refused rather than trimmed
    pytest.param("account", id="relative"),
    pytest.param("/" + "a" * 3000, id="3000-chars"),
    pytest.param("/\u2028/evil.example", id="line-separator"),
    pytest.param("/\u3000/evil.example", id="ideographic-space"),
])
def test_safe_next_refuses_other_targets(target: str | None) -> None:
    assert safe_next(target) == "/account"


def test_safe_next_length_limit() -> None:
    assert safe_next("/" + "a" * 2047) == "/" + "a" * 2047
    assert safe_next("/" + "a" * 2048) == "/account"


def test_safe_next_returns_the_given_default() -> None:
    assert safe_next("//evil.example", default="/") == "/"
    assert safe_next(None, default="/login") == "/login"
    assert safe_next("/account", default="/") == "/account"


# --- canonical_digits ----------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [
    "123456",
    " 123 456 ",
    "123-456",
    "１２３４５６",  # full-width, as typed with Chinese input methods
    "123\u3000456",  # ideographic space
    "123\u00a0456",  # no-break space
    "123\t456",
])
def test_canonical_digits_accepts(raw: str) -> None:
    assert canonical_digits(raw) == "123456"


@pytest.mark.parametrize("raw", [
    "12345",
    "1234567",
    "12a456",
    "١٢٣٤٥٦",  # Arabic-Indic digits: NFKC leaves them non-ASCII
    "",
    "      ",
    "123456\n",  # a newline is not one of the separators
    "123.456",
    "+123456",
])
def test_canonical_digits_refuses(raw: str) -> None:
    assert canonical_digits(raw) is None


@pytest.mark.parametrize("raw", ["¹²³⁴⁵⁶", "₁₂₃₄₅₆", "①②③④⑤⑥"])
def test_canonical_digits_folds_compatibility_digits(raw: str) -> None:
    # NFKC maps superscript, subscript and circled digits to ASCII digits, so these are accepted.
    # Acceptable: the result is still exactly six ASCII digits (no extra guesses are gained), and a
    # person who pasted such a code meant those digits.
    assert canonical_digits(raw) == "123456"


# --- canonical_email -----------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [
    ("  Ada@Example.COM ", "ada@example.com"),
    ("ADA.LOVELACE@EXAMPLE.ORG", "ada.lovelace@example.org"),
    ("\tada@example.com\n", "ada@example.com"),
])
def test_canonical_email_lowercases_and_trims(raw: str, expected: str) -> None:
    assert canonical_email(raw) == expected


@pytest.mark.parametrize("raw", [
    "no-at-sign",
    "a@b",  # email_validator requires a dot in the domain
    "a@localhost",
    "a@@b.com",
    "@example.com",
    "ada@",
    "",
    "ada @example.com",
])
def test_canonical_email_refuses(raw: str) -> None:
    assert canonical_email(raw) is None


def test_canonical_email_accepts_internationalised_addresses() -> None:
    # email_validator accepts UTF-8 local parts and IDN domains (kept in Unicode, not punycode).
    assert canonical_email("用户@例子.广告") == "用户@例子.广告"
    assert canonical_email("Äda@München.DE") == "äda@münchen.de"


# --- password_problems ---------------------------------------------------------------------------
# The messages go through gettext; most tests run them in a request context, as the routes do.


@pytest.mark.usefixtures("request_context")
def test_password_too_short() -> None:
    assert password_problems("violet7", None) == ["Use at least 8 characters."]


@pytest.mark.usefixtures("request_context")
def test_password_too_long() -> None:
    assert password_problems("v" * 128 + "!", None) == ["Use at most 128 characters."]
    assert password_problems("v" * 127 + "!", None) == []


def test_password_limits_come_from_config(tmp_path: Path) -> None:
    app = build_app(tmp_path, PASSWORD_MIN_LENGTH=12, PASSWORD_MAX_LENGTH=16)
    with app.test_request_context():
        assert password_problems("violet-eleph", None) == []  # 12 characters
        assert password_problems("violet-elep", None) == ["Use at least 12 characters."]
        assert password_problems("violet-elephant-4", None) == ["Use at most 16 characters."]


def test_password_problems_outside_a_request(app: Flask) -> None:
    # flask portal create-admin calls it with an app context only; the messages fall back to English.
    with app.app_context():
        assert password_problems("violet7", None) == ["Use at least 8 characters."]


@pytest.mark.usefixtures("request_context")
@pytest.mark.parametrize("password", ["password1", "PASSWORD1", "PaSsWoRd1"])
def test_common_passwords_are_refused_in_any_case(password: str) -> None:
    assert "password1" in common_passwords()
    assert password_problems(password, None) == [
        "This password is too common. Choose one that is harder to guess."
    ]


@pytest.mark.usefixtures("request_context")
@pytest.mark.parametrize(("password", "email"), [
    ("ada.lovelace@example.com", "ada.lovelace@example.com"),
    ("ADA.LOVELACE@EXAMPLE.COM", "ada.lovelace@example.com"),
    ("adalovelace", "adalovelace@example.com"),
    ("AdaLovelace", "adalovelace@example.com"),
])
def test_password_equal_to_the_email_is_refused(password: str, email: str) -> None:
    assert password_problems(password, email) == ["Do not use your email address as your password."]


@pytest.mark.usefixtures("request_context")
def test_a_good_password_has_no_problems() -> None:
    assert password_problems(GOOD_PASSWORD, "ada@example.com") == []
    assert password_problems(GOOD_PASSWORD, None) == []
    assert password_problems("adalovelace1", "adalovelace@example.com") == []  # contains, not equals


# --- describe_agent ------------------------------------------------------------------------------

AGENTS = {
    "Chrome on Windows": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                         "Chrome/131.0.0.0 Safari/537.36",
    "Firefox on Linux": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Safari on iOS": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
                     "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Edge on Windows": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                       "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    # Headless Chrome is reported as plain Chrome.
    "Chrome on Linux": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                       "HeadlessChrome/131.0.0.0 Safari/537.36",
    "Chrome on Android": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                         "Chrome/131.0.0.0 Mobile Safari/537.36",
    "Safari on macOS": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                       "Version/18.1 Safari/605.1.15",
    "curl": "curl/8.5.0",
    "Unknown browser": "",
}


@pytest.mark.usefixtures("request_context")
@pytest.mark.parametrize(("expected", "agent"), AGENTS.items(), ids=list(AGENTS))
def test_describe_agent(expected: str, agent: str) -> None:
    assert describe_agent(agent) == expected


def test_describe_agent_is_translated(app: Flask) -> None:
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert describe_agent("") == "未知浏览器"
        assert describe_agent("curl/8.5.0") == "curl"


# --- match_language ------------------------------------------------------------------------------

OFFERED = ("en", "zh_Hans")


@pytest.mark.parametrize(("header", "expected"), [
    (["zh-CN"], "zh_Hans"),
    (["zh-Hans-CN"], "zh_Hans"),
    (["zh"], "zh_Hans"),
    (["ZH-cn"], "zh_Hans"),
    (["zh_CN"], "zh_Hans"),
    (["zh-TW"], None),
    (["zha"], None),  # Zhuang is not Chinese
    (["zhx-Hans"], None),
    (["zh-HK"], None),
    (["zh-Hant"], None),
    (["zh-TW", "en"], "en"),
    (["fr", "en-GB"], "en"),
    (["en-GB", "zh-CN"], "en"),
    (["fr"], None),
    ([], None),
])
def test_match_language(header: list[str], expected: str | None) -> None:
    assert match_language(header, OFFERED) == expected


def test_match_language_without_chinese_on_offer() -> None:
    assert match_language(["zh-CN"], ("en",)) is None
    assert match_language(["zh-CN", "en-US"], ("en",)) == "en"
