"""Recovery codes in Simplified Chinese (Accept-Language: zh-CN): the sign-in page, the codes shown once,
the recovery codes page and the notices after signing in. Visible text is Chinese, with no English left.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from tests.integration.test_recovery import CODES_PAGE, EMAIL, casual, flashes, pending, redeem, replaces_token
from tests.integration.totp_helpers import recovery_codes_on, send_totp
from tests.otp import totp
from tests.support import csrf_token

ZH = "zh-CN,zh;q=0.9,en;q=0.5"

# Text that is not English prose: recovery codes, the sample code, a URL, an address, the issuer, key names.
NOT_PROSE = re.compile(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}|https?://[^\s]+|[\w.+-]+@[\w.-]+|2FA Portal|UTC"
                       r"|Ctrl\+C|⌘C|Mac|\.txt")
SHOWN_ATTRIBUTES = {"data-done", "data-selected", "aria-label", "placeholder", "title", "alt"}


@pytest.fixture
def email() -> str:
    return EMAIL


@pytest.fixture
def zh_browser(signed_in, enrollment):
    signed_in.environ_base["HTTP_ACCEPT_LANGUAGE"] = ZH
    return signed_in


def zh_pending(app):
    browser = pending(app)
    browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = ZH
    return browser


class MainText(HTMLParser):
    """What a person sees (or hears) in <main>: its text, and attributes that are shown or read out."""

    def __init__(self, html):
        super().__init__()
        self.parts: list[str] = []
        self._main = 0
        self._skip = 0
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "main":
            self._main += 1
        if tag in ("script", "style"):
            self._skip += 1
        if self._main:
            self.parts.extend(value or "" for name, value in attrs if name in SHOWN_ATTRIBUTES)

    def handle_endtag(self, tag):
        if tag == "main":
            self._main -= 1
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if self._main and not self._skip:
            self.parts.append(data)


def english_left(html: str) -> list[str]:
    text = NOT_PROSE.sub(" ", " ".join(MainText(html).parts))
    return re.findall(r"[A-Za-z]{2,}(?:[ '’-]+[A-Za-z]+)*", text)


def assert_chinese(html: str, *expected: str) -> None:
    assert '<html lang="zh-Hans">' in html
    assert english_left(html) == []
    for text in expected:
        assert text in html, text


def test_the_sign_in_page_and_a_refused_code_in_chinese(app, enrollment):
    browser = zh_pending(app)
    page = browser.get("/2fa/recovery")
    assert page.status_code == 200
    assert_chinese(page.text, "使用恢复码", "手机丢失了？请输入您在设置两步验证时保存的任一恢复码。")
    wrong = browser.post("/2fa/recovery", data={"csrf_token": csrf_token(page), "code": "ABCD-EFGH-JKMN"})
    assert wrong.status_code == 400
    assert_chinese(wrong.text, "使用恢复码")
    malformed = browser.post("/2fa/recovery", data={"csrf_token": csrf_token(page), "code": "not a code"})
    assert malformed.status_code == 400
    assert_chinese(malformed.text, "请输入恢复码，例如 ABCD-EFGH-JKMN。")


def test_the_recovery_codes_page_and_a_new_set_in_chinese(app, zh_browser):
    overview = zh_browser.get(CODES_PAGE)
    assert overview.status_code == 200
    assert_chinese(overview.text, "剩余 10 个恢复码。", "生成新的恢复码后，所有旧恢复码都将失效。", "生成新的恢复码")
    form = {"csrf_token": csrf_token(overview), "replaces": replaces_token(overview.text)}
    shown = zh_browser.post(CODES_PAGE, data=form)
    assert shown.status_code == 200
    assert len(recovery_codes_on(shown.text)) == 10
    assert_chinese(shown.text, "保存恢复码", "下载（.txt）", "打印", "复制", "我已保存这些恢复码",
                   'data-done="已复制"', 'data-selected="已选中恢复码：请按 Ctrl+C（Mac 上按 ⌘C）复制。"',
                   f"{EMAIL} 的恢复码")
    again = zh_browser.post(CODES_PAGE, data=form)  # the same form again: no other set
    assert again.status_code == 302
    after = zh_browser.get(CODES_PAGE).text
    assert_chinese(after, "新的恢复码已生成并显示过一次，因此没有再生成另一组。")


def test_the_notices_after_signing_in_in_chinese(app, enrollment, clock):
    browser = zh_pending(app)
    assert redeem(browser, casual(enrollment.recovery_codes[0])).status_code == 302
    account = browser.get("/account").text
    assert '<html lang="zh-Hans">' in account
    # Chinese sentences follow one another without a space ("。" ends each); the English page keeps its spaces.
    assert "UTC。" in account and not re.search(r"UTC。\s+\S", account)
    [(text, links)] = flashes(account)
    assert text == "您已使用恢复码登录，还剩 9 个恢复码。如果手机丢失，请重新设置身份验证器应用。"
    assert links == [("/account/2fa/totp", "重新设置身份验证器应用")]
    for code in enrollment.recovery_codes[1:7]:
        assert redeem(zh_pending(app), code).status_code == 302
    browser = zh_pending(app)
    clock.advance(30)
    assert send_totp(browser, totp(enrollment.secret, clock())).status_code == 302
    assert flashes(browser.get("/account").text) == [("仅剩 3 个恢复码。生成新的恢复码",
                                                     [(CODES_PAGE, "生成新的恢复码")])]
    for code in enrollment.recovery_codes[7:]:
        assert redeem(zh_pending(app), code).status_code == 302
    browser = zh_pending(app)
    clock.advance(30)
    assert send_totp(browser, totp(enrollment.secret, clock())).status_code == 302
    assert flashes(browser.get("/account").text) == [("已没有剩余的恢复码。生成新的恢复码",
                                                     [(CODES_PAGE, "生成新的恢复码")])]


def test_the_english_check_sees_english(app, signed_in, enrollment):
    # The check above must be able to fail: the same page in English is full of it.
    assert "Recovery codes" in english_left(signed_in.get(CODES_PAGE).text)
