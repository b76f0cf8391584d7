"""Start-up checks of the SMS settings: a bad value stops the portal with a message naming the key."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from portal.settings import ConfigError, finalise, read_settings
from portal.settings.sms import default_templates
from tests.support import PRODUCTION_SERVICES

SID = "AC" + "1" * 32


def settle(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    values = read_settings({}, {"PORTAL_ENV": "testing", "SECRET_KEY": "k" * 40,
                                "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", **overrides})
    return finalise(values, tmp_path)


def test_defaults_are_the_console_provider_china_and_built_in_texts(tmp_path: Path) -> None:
    cfg = settle(tmp_path)
    assert cfg["SMS_PROVIDER"] == "console"
    assert cfg["SMS_DEFAULT_REGION"] == "CN"
    assert set(cfg["SMS_TEMPLATES"]) == {"sign_in", "enroll", "generic"}
    for texts in cfg["SMS_TEMPLATES"].values():
        assert set(texts) == {"en", "zh_Hans"}
        assert all("{{code}}" in text and "{{" not in text.replace("{{code}}", "") for text in texts.values())


def test_the_built_in_texts_name_the_site_and_the_minutes_in_both_languages(tmp_path: Path) -> None:
    texts = settle(tmp_path)["SMS_TEMPLATES"]  # SMS_CODE_TTL 300: 5 minutes
    assert texts["sign_in"]["en"] == ("Your 2FA Portal sign-in code is {{code}}. It expires in 5 minutes. "
                                      "Never share it.")
    assert texts["sign_in"]["zh_Hans"] == "您的两步验证门户登录验证码是 {{code}}，5分钟内有效。请勿告诉任何人。"
    assert texts["enroll"]["en"] == ("Your 2FA Portal code to confirm this phone is {{code}}. It expires in 5 minutes. "
                                     "Never share it.")
    assert texts["enroll"]["zh_Hans"] == "您的两步验证门户手机验证码是 {{code}}，5分钟内有效。请勿告诉任何人。"
    assert all("5分钟内有效" in text for text in (t["zh_Hans"] for t in texts.values()))


@pytest.mark.parametrize(("ttl", "english", "chinese"), [
    (60, "It expires in 1 minute.", "1分钟内有效"), (119, "It expires in 1 minute.", "1分钟内有效"),
    (900, "It expires in 15 minutes.", "15分钟内有效"),
])
def test_the_minutes_follow_sms_code_ttl_and_never_overstate_it(tmp_path: Path, ttl: int, english: str,
                                                               chinese: str) -> None:
    texts = settle(tmp_path, SMS_CODE_TTL=str(ttl))["SMS_TEMPLATES"]["sign_in"]
    assert english in texts["en"]
    assert chinese in texts["zh_Hans"]


def test_an_operator_s_site_name_is_used_as_given_in_both_languages(tmp_path: Path) -> None:
    texts = settle(tmp_path, SITE_NAME="Acme")["SMS_TEMPLATES"]["sign_in"]
    assert texts["en"].startswith("Your Acme sign-in code is {{code}}.")
    assert texts["zh_Hans"].startswith("您的 Acme 登录验证码是 {{code}}，")  # a Latin name is spaced off
    both = json.dumps({"en": "Acme Sign-in", "zh_Hans": "极客登录"})
    texts = settle(tmp_path, SITE_NAME=both)["SMS_TEMPLATES"]["enroll"]
    assert texts["en"].startswith("Your Acme Sign-in code to confirm")
    assert texts["zh_Hans"].startswith("您的极客登录手机验证码是")


def test_an_operator_s_texts_may_name_the_site_and_the_minutes(tmp_path: Path) -> None:
    raw = json.dumps({"generic": {"en": "{{site}}: {{code}} ({{minutes}} min)"},
                      "sign_in": {"zh_Hans": "【{{site}}】验证码{{code}}，{{minutes}}分钟有效"}})
    texts = settle(tmp_path, SMS_TEMPLATES=raw, SMS_CODE_TTL="600")["SMS_TEMPLATES"]
    assert texts["generic"]["en"] == "2FA Portal: {{code}} (10 min)"
    assert texts["sign_in"]["zh_Hans"] == "【两步验证门户】验证码{{code}}，10分钟有效"


def test_templates_from_json_are_read(tmp_path: Path) -> None:
    raw = json.dumps({"sign_in": {"en": "Sign-in code {{code}}", "zh_Hans": "登录验证码 {{code}}"},
                      "generic": {"en": "Code {{code}}"}})
    assert settle(tmp_path, SMS_TEMPLATES=raw)["SMS_TEMPLATES"]["sign_in"]["zh_Hans"] == "登录验证码 {{code}}"


@pytest.mark.parametrize(("raw", "says"), [
    ("{not json", "SMS_TEMPLATES: not valid JSON"),
    ("[1, 2]", "SMS_TEMPLATES: expected a JSON object"),
    (json.dumps({"generic": {"en": "no placeholder"}}), "SMS_TEMPLATES['generic']['en']: the text must contain"),
    (json.dumps({"sign_in": {"en": "{{code}}"}}), "SMS_TEMPLATES: needs generic.en"),
    (json.dumps({"marketing": {"en": "{{code}}"}}), "SMS_TEMPLATES: unknown purpose 'marketing'"),
    (json.dumps({"generic": {"en": "{{code}} " + "x" * 300}}), "longer than 300 characters"),
    (json.dumps({"generic": {"en": 5}}), "the text must contain"),
])
def test_bad_templates_stop_start_up(tmp_path: Path, raw: str, says: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(says)):
        settle(tmp_path, SMS_TEMPLATES=raw)


@pytest.mark.parametrize(("overrides", "says"), [
    ({"SMS_DEFAULT_REGION": "XX"}, "SMS_DEFAULT_REGION='XX': not a country code"),
    ({"SMS_ALLOWED_COUNTRIES": ("CN", "Narnia")}, "SMS_ALLOWED_COUNTRIES='NARNIA'"),
    ({"SMS_PROVIDER": "twilio_verify"}, "TWILIO_ACCOUNT_SID: required with SMS_PROVIDER='twilio_verify'"),
    ({"SMS_PROVIDER": "twilio_verify", "TWILIO_ACCOUNT_SID": SID},
     "TWILIO_AUTH_TOKEN: required with SMS_PROVIDER='twilio_verify'"),
    ({"SMS_PROVIDER": "twilio_verify", "TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": "t" * 32},
     "TWILIO_VERIFY_SERVICE_SID: required"),
    ({"SMS_PROVIDER": "twilio_messaging", "TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": "t" * 32},
     "TWILIO_MESSAGING_SERVICE_SID: required with SMS_PROVIDER='twilio_messaging' (or set TWILIO_FROM_NUMBER)"),
    ({"SMS_PROVIDER": "twilio_messaging", "TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": "t" * 32,
      "TWILIO_FROM_NUMBER": "0800 123"}, "TWILIO_FROM_NUMBER='0800 123': expected E.164"),
    ({"SMS_PROVIDER": "twilio_verify", "TWILIO_ACCOUNT_SID": "AC123"}, "TWILIO_ACCOUNT_SID='AC123': expected AC"),
    ({"SMS_PROVIDER": "twilio_verify", "TWILIO_ACCOUNT_SID": SID, "TWILIO_API_KEY_SID": "SK" + "2" * 32},
     "TWILIO_API_KEY_SECRET: required with TWILIO_API_KEY_SID"),
    ({"TWILIO_BASE_URL": "ftp://proxy"}, "TWILIO_BASE_URL='ftp://proxy': expected an origin"),
    ({"TWILIO_BASE_URL": "https://proxy.example/v2"}, "expected an origin"),
])
def test_bad_sms_settings_stop_start_up(tmp_path: Path, overrides: dict[str, Any], says: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(says)):
        settle(tmp_path, **overrides)


def test_an_auth_token_is_never_echoed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        settle(tmp_path, SMS_PROVIDER="twilio_verify", TWILIO_ACCOUNT_SID=SID, TWILIO_AUTH_TOKEN="sekrit-token-1234")
    assert "sekrit" not in str(error.value)


def test_api_key_pair_replaces_the_auth_token(tmp_path: Path) -> None:
    cfg = settle(tmp_path, SMS_PROVIDER="twilio_verify", TWILIO_ACCOUNT_SID=SID,
                 TWILIO_API_KEY_SID="SK" + "2" * 32, TWILIO_API_KEY_SECRET="s" * 32,
                 TWILIO_VERIFY_SERVICE_SID="VA" + "3" * 32)
    assert cfg["TWILIO_AUTH_TOKEN"] == ""


def test_production_refuses_the_console_provider_and_plain_http(tmp_path: Path) -> None:
    prod = {"PORTAL_ENV": "production", "SECRET_KEY": "Zq8-vT2xR9mL4pW7nK1cY6bH3sJ0dF5gA",
            "ALLOW_SQLITE_IN_PRODUCTION": True, "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
            "TOTP_ENCRYPTION_KEYS": ("x" * 43 + "=",)}
    with pytest.raises(ConfigError, match=re.escape("SMS_PROVIDER='console': production sends real texts")):
        settle(tmp_path, **prod)
    with pytest.raises(ConfigError, match=re.escape("production talks to Twilio over https only")):
        settle(tmp_path, **prod, **PRODUCTION_SERVICES, TWILIO_BASE_URL="http://proxy.internal:8080")


@pytest.mark.parametrize("variable", ["SMS_RESEND_COOLDOWN", "TWILIO_TIMEOUT", "SMS_CODE_TTL"])
def test_numbers_out_of_range_are_refused(tmp_path: Path, variable: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(variable)):
        settle(tmp_path, **{variable: "100000"})


def _deliver_many(outbox: str, worker: int) -> None:
    from portal.sms.console import ConsoleProvider

    box = ConsoleProvider({"SMS_TEMPLATES": default_templates(5), "SMS_CONSOLE_OUTBOX": outbox}, Path(outbox).parent)
    for n in range(10):
        box.deliver("+8613800138000", f"worker {worker} text {n}")


def test_the_console_outbox_keeps_every_text_from_several_processes(tmp_path: Path) -> None:
    # gunicorn runs several workers: each writes to the same outbox file at the same time.
    import multiprocessing

    from portal.sms.console import ConsoleProvider

    outbox = str(tmp_path / "outbox.jsonl")
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_deliver_many, args=(outbox, w)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=60)
        assert process.exitcode == 0
    texts = {t["text"] for t in ConsoleProvider({"SMS_TEMPLATES": default_templates(5), "SMS_CONSOLE_OUTBOX": outbox},
                                                tmp_path).recent()}
    assert texts == {f"worker {w} text {n}" for w in range(4) for n in range(10)}
