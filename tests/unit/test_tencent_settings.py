"""SMS_PROVIDER=tencent: each missing or malformed setting stops start-up with a message naming it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from portal.settings import ConfigError
from tests.unit.test_sms_settings import settle

GOOD: dict[str, Any] = {
    "SMS_PROVIDER": "tencent", "TENCENT_SECRET_ID": "AKID" + "a" * 32, "TENCENT_SECRET_KEY": "k" * 32,
    "TENCENT_SMS_SDK_APP_ID": "1400006666", "TENCENT_SMS_SIGN_NAME": "二步验证门户",
    "TENCENT_SMS_TEMPLATES": json.dumps({"sign_in": {"zh_Hans": "1234567", "en": "2345678"},
                                         "enroll": {"zh_Hans": 1234568}}),
}


def test_good_settings_are_read_and_normalised(tmp_path: Path) -> None:
    cfg = settle(tmp_path, **{**GOOD, "TENCENT_SMS_SIGN_NAME": " 二步验证门户 "})
    assert cfg["TENCENT_SMS_REGION"] == "ap-guangzhou"
    assert cfg["TENCENT_SMS_ENDPOINT"] == "https://sms.tencentcloudapi.com"
    assert cfg["TENCENT_SMS_SIGN_NAME"] == "二步验证门户"
    assert cfg["TENCENT_SMS_TEMPLATES"] == {"sign_in": {"zh_Hans": "1234567", "en": "2345678"},
                                            "enroll": {"zh_Hans": "1234568"}}
    assert cfg["TENCENT_SMS_INTERNATIONAL_TEMPLATES"] is None  # numbers abroad get no texts until it is set
    both = settle(tmp_path, **GOOD, TENCENT_SMS_INTERNATIONAL_TEMPLATES=json.dumps(
        {"sign_in": {"en": "3456789"}, "enroll": {"en": 3456790}}))
    assert both["TENCENT_SMS_INTERNATIONAL_TEMPLATES"] == {"sign_in": {"en": "3456789"}, "enroll": {"en": "3456790"}}


@pytest.mark.parametrize(("overrides", "says"), [
    ({"TENCENT_SECRET_ID": ""}, "TENCENT_SECRET_ID: required with SMS_PROVIDER='tencent'"),
    ({"TENCENT_SECRET_KEY": ""}, "TENCENT_SECRET_KEY: required with SMS_PROVIDER='tencent'"),
    ({"TENCENT_SECRET_ID": "AKID 123"}, "TENCENT_SECRET_ID: contains spaces"),
    ({"TENCENT_SECRET_ID": "AKID/x,Signature=y"}, "TENCENT_SECRET_ID: contains characters no Tencent Cloud key has"),
    ({"TENCENT_SECRET_KEY": "密钥" + "k" * 30}, "TENCENT_SECRET_KEY: contains characters no Tencent Cloud key has"),
    ({"TENCENT_SMS_SIGN_NAME": "门\n户"}, "TENCENT_SMS_SIGN_NAME="),
    ({"TENCENT_SMS_ENDPOINT": "https://:pw@sms.tencentcloudapi.com"}, "expected an origin"),
    ({"TENCENT_SMS_ENDPOINT": "https://sms.tencentcloudapi.com#x"}, "expected an origin"),
    ({"TENCENT_SMS_INTERNATIONAL_TEMPLATES": json.dumps({"sign_in": {"en": "1"}})},
     "TENCENT_SMS_INTERNATIONAL_TEMPLATES: needs a template for 'enroll'"),
    ({"TENCENT_SMS_INTERNATIONAL_TEMPLATES": "{"}, "TENCENT_SMS_INTERNATIONAL_TEMPLATES: not valid JSON"),
    ({"TENCENT_SMS_SDK_APP_ID": ""}, "TENCENT_SMS_SDK_APP_ID: required"),
    ({"TENCENT_SMS_SDK_APP_ID": "app-1"}, "TENCENT_SMS_SDK_APP_ID='app-1': expected the numeric SdkAppId"),
    ({"TENCENT_SMS_SIGN_NAME": ""}, "TENCENT_SMS_SIGN_NAME: required"),
    ({"TENCENT_SMS_SIGN_NAME": "【门户】"}, "without 【】"),
    ({"TENCENT_SMS_REGION": "guangzhou"}, "TENCENT_SMS_REGION='guangzhou': expected a Tencent Cloud region"),
    ({"TENCENT_SMS_ENDPOINT": "sms.tencentcloudapi.com"}, "TENCENT_SMS_ENDPOINT='sms.tencentcloudapi.com': expected "
                                                          "an origin"),
    ({"TENCENT_SMS_ENDPOINT": "https://sms.tencentcloudapi.com/v3"}, "expected an origin"),
    ({"TENCENT_SMS_ENDPOINT": "http://127.0.0.1:99999"}, "expected an origin"),
    ({"TENCENT_SMS_TEMPLATES": ""}, "TENCENT_SMS_TEMPLATES: required with SMS_PROVIDER='tencent'"),
    ({"TENCENT_SMS_TEMPLATES": "{nope"}, "TENCENT_SMS_TEMPLATES: not valid JSON"),
    ({"TENCENT_SMS_TEMPLATES": "[1]"}, "TENCENT_SMS_TEMPLATES: expected a JSON object"),
    ({"TENCENT_SMS_TEMPLATES": json.dumps({"sign_in": {"en": "1"}})}, "needs a template for 'enroll'"),
    ({"TENCENT_SMS_TEMPLATES": json.dumps({"sign_in": {"en": "1"}, "enroll": {"en": "2"}, "promo": {"en": "3"}})},
     "unknown purpose 'promo'"),
    ({"TENCENT_SMS_TEMPLATES": json.dumps({"sign_in": {"fr": "1"}, "enroll": {"en": "2"}})},
     "TENCENT_SMS_TEMPLATES['sign_in']: unknown language 'fr'"),
    ({"TENCENT_SMS_TEMPLATES": json.dumps({"sign_in": {"en": "您的验证码"}, "enroll": {"en": "2"}})},
     "TENCENT_SMS_TEMPLATES['sign_in']['en']='您的验证码': expected the template's numeric id"),
    ({"TENCENT_SMS_TEMPLATES": json.dumps({"sign_in": {}, "enroll": {"en": "2"}})},
     "TENCENT_SMS_TEMPLATES['sign_in']: expected an object"),
])
def test_bad_tencent_settings_stop_start_up(tmp_path: Path, overrides: dict[str, Any], says: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(says)):
        settle(tmp_path, **{**GOOD, **overrides})


def test_the_secret_key_is_never_echoed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        settle(tmp_path, **{**GOOD, "TENCENT_SECRET_KEY": "sekrit key 1234"})
    assert "sekrit" not in str(error.value)
    assert "TENCENT_SECRET_KEY" in str(error.value)


def test_production_talks_to_tencent_over_https_only(tmp_path: Path) -> None:
    from tests.support import PRODUCTION_SERVICES

    prod = {"PORTAL_ENV": "production", "SECRET_KEY": "Zq8-vT2xR9mL4pW7nK1cY6bH3sJ0dF5gA",
            "ALLOW_SQLITE_IN_PRODUCTION": True, "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
            "TOTP_ENCRYPTION_KEYS": ("x" * 43 + "=",)}
    services = {k: v for k, v in PRODUCTION_SERVICES.items() if not k.startswith(("SMS_", "TWILIO_"))}
    with pytest.raises(ConfigError, match=re.escape("production talks to Tencent Cloud over https only")):
        settle(tmp_path, **prod, **services, **GOOD, TENCENT_SMS_ENDPOINT="http://proxy.internal:8080")
    assert settle(tmp_path, **prod, **services, **GOOD)["SMS_PROVIDER"] == "tencent"
