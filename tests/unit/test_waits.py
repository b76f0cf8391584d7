"""portal.waits: a wait is said in seconds up to a minute, in whole minutes above, with the plural it needs; and
format_list joins items as the page's language does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from portal.i18n import format_list
from portal.waits import countdown
from tests.unit.test_helpers import build_app


@pytest.mark.parametrize(("seconds", "said"), [
    (0, "Too many attempts. Wait 1 second, then try again."),  # never less than a second
    (1, "Too many attempts. Wait 1 second, then try again."),
    (2, "Too many attempts. Wait 2 seconds, then try again."),
    (60, "Too many attempts. Wait 60 seconds, then try again."),
    (61, "Too many attempts. Wait 2 minutes, then try again."),  # rounded up: waiting that long is enough
    (900, "Too many attempts. Wait 15 minutes, then try again."),
])
def test_a_password_wait(tmp_path: Path, seconds: int, said: str) -> None:
    with build_app(tmp_path).test_request_context():
        wait = countdown(seconds)
        assert wait == said
        assert wait.seconds == max(1, seconds)


def test_a_code_wait_and_what_the_script_counts_down_with(tmp_path: Path) -> None:
    with build_app(tmp_path).test_request_context():
        wait = countdown(1, codes=True)
        assert wait == "Too many wrong codes. You can enter a code in 1 second."
        forms = "Too many wrong codes. You can enter a code in %(num)d {}."
        assert json.loads(wait.second_forms) == {"one": forms.format("second"), "other": forms.format("seconds")}
        assert json.loads(wait.minute_forms) == {"one": forms.format("minute"), "other": forms.format("minutes")}
        assert wait.ready == "You can enter a code now."
        assert countdown(300, codes=True) == "Too many wrong codes. You can enter a code in 5 minutes."


def test_chinese_waits(tmp_path: Path) -> None:
    with build_app(tmp_path).test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert countdown(1) == "尝试次数过多，请等待 1 秒后重试。"
        assert countdown(90, codes=True) == "验证码错误次数过多。2 分钟后可以再次输入验证码。"
        assert json.loads(countdown(1).minute_forms) == {"one": "尝试次数过多，请等待 %(num)d 分钟后重试。",
                                                         "other": "尝试次数过多，请等待 %(num)d 分钟后重试。"}


@pytest.mark.parametrize(("language", "two", "three"), [
    ("en", "a and b", "a, b, and c"),
    ("zh-CN", "a和b", "a、b和c"),
])
def test_format_list_uses_the_languages_own_separators(tmp_path: Path, language: str, two: str, three: str) -> None:
    with build_app(tmp_path).test_request_context(headers={"Accept-Language": language}):
        assert format_list(["a"]) == "a"
        assert format_list(["a", "b"]) == two
        assert format_list(["a", "b", "c"]) == three
