"""SMS_PROVIDER=tencent through HTTP: Tencent Cloud's SDK against the loopback double of its API 3.0.

What Tencent receives (signed headers, the template and its parameters, nothing personal in SessionContext),
and every failure it can answer (an Error response, a per-number failure inside a 200, a bad gateway, a
timeout, a reset, a refused connection, a wrong key, a clock off by more than five minutes): a clear
message with 429 (Retry-After) or 503, never a 500; the pending sign-in kept; one log line with Tencent's
code and RequestId, never the secret key or the code.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from portal.i18n import LANG_COOKIE
from tests.integration.sms_helpers import (
    BUSY,
    OPTED_OUT,
    PHONE,
    TOO_MANY_SENDS,
    TYPED,
    UNAVAILABLE,
    UNREACHABLE,
    add_phone,
    assert_masked_only,
    assert_refused,
    closed_port,
    give_phone,
    logged,
    pending,
    refused_sign_in_text,
    signs_in_another_way,
    sms_failures_logged,
    sms_page,
    sms_state,
)
from tests.support import csrf_token
from tests.tencent_double import EMPTY, ScriptedFailure, tc3_signature

EMAIL = "li.na@example.com"


@dataclass(frozen=True)
class Scenario:
    name: str
    failure: dict[str, Any] | None  # ScriptedFailure fields; None: something else (see settings below)
    status: int
    retry_after: int | None
    message: str
    code: str  # Tencent's (or the SDK's) code in the one log line
    request_id: bool = True  # whether Tencent answered at all, so there is a RequestId to log
    ours: bool = False  # our account or settings: every send fails until someone acts, so an ERROR line


SCENARIOS = [
    Scenario("SignatureFailure", {"code": "AuthFailure.SignatureFailure"}, 503, None, UNAVAILABLE,
             "AuthFailure.SignatureFailure", ours=True),
    Scenario("TemplateIncorrectOrUnapproved", {"code": "FailedOperation.TemplateIncorrectOrUnapproved"}, 503, None,
             UNAVAILABLE, "FailedOperation.TemplateIncorrectOrUnapproved", ours=True),
    Scenario("PhoneNumberDailyLimit", {"code": "LimitExceeded.PhoneNumberDailyLimit"}, 429, 600, TOO_MANY_SENDS,
             "LimitExceeded.PhoneNumberDailyLimit"),
    Scenario("PhoneNumberThirtySecondLimit", {"code": "LimitExceeded.PhoneNumberThirtySecondLimit"}, 429, 30, BUSY,
             "LimitExceeded.PhoneNumberThirtySecondLimit"),
    Scenario("AppDailyLimit", {"code": "LimitExceeded.AppDailyLimit"}, 503, None, UNAVAILABLE,
             "LimitExceeded.AppDailyLimit", ours=True),  # the whole application's quota, not this number's
    Scenario("IncorrectPhoneNumber", {"code": "InvalidParameterValue.IncorrectPhoneNumber"}, 503, None, UNREACHABLE,
             "InvalidParameterValue.IncorrectPhoneNumber"),
    Scenario("ContainDomesticAndInternational",
             {"code": "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber"}, 503, None, UNREACHABLE,
             "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber"),
    Scenario("status-DailyLimit", {"kind": "status", "code": "LimitExceeded.PhoneNumberDailyLimit"}, 429, 600,
             TOO_MANY_SENDS, "LimitExceeded.PhoneNumberDailyLimit"),
    Scenario("status-Blacklist", {"kind": "status", "code": "FailedOperation.PhoneNumberInBlacklist"}, 503, None,
             OPTED_OUT, "FailedOperation.PhoneNumberInBlacklist"),
    Scenario("status-empty", {"kind": "status", "code": EMPTY}, 503, None, UNAVAILABLE, "NoSendStatus", ours=True),
    Scenario("http-502", {"kind": "http", "status": 502}, 503, None, UNAVAILABLE, "ServerNetworkError", False),
    Scenario("hang", {"kind": "hang", "seconds": 3}, 503, None, UNAVAILABLE, "ClientNetworkError", False),
    Scenario("reset", {"kind": "reset"}, 503, None, UNAVAILABLE, "ClientNetworkError", False),
    Scenario("refused", None, 503, None, UNAVAILABLE, "ClientNetworkError", False),
    # Not scripted: the double itself refuses what the SDK signed with the wrong key, or at a time it rejects.
    Scenario("wrong-key", None, 503, None, UNAVAILABLE, "AuthFailure.SignatureFailure", ours=True),
    Scenario("clock-skew", None, 503, None, UNAVAILABLE, "AuthFailure.SignatureExpire", ours=True),
]
ENROLLMENT = [s for s in SCENARIOS if s.name in ("SignatureFailure", "PhoneNumberThirtySecondLimit",
                                                 "status-Blacklist", "IncorrectPhoneNumber", "reset", "wrong-key")]


@pytest.fixture
def sms_provider() -> str:
    return "tencent"


@pytest.fixture
def scenario() -> Scenario | None:
    return None


@pytest.fixture
def overrides() -> dict[str, Any]:
    return {}


@pytest.fixture
def settings(sms_settings, scenario, overrides):
    values = {**sms_settings, "TENCENT_SMS_TIMEOUT": 1, **overrides}
    if scenario is not None and scenario.name == "refused":
        values["TENCENT_SMS_ENDPOINT"] = f"http://127.0.0.1:{closed_port()}"
    if scenario is not None and scenario.name == "wrong-key":
        values["TENCENT_SECRET_KEY"] = values["TENCENT_SECRET_KEY"][::-1]
    return values


@pytest.fixture
def email() -> str:
    return EMAIL


def arm(tencent, scenario: Scenario) -> None:
    if scenario.failure is not None:
        tencent.fail_next(ScriptedFailure(**scenario.failure))
    if scenario.name == "clock-skew":
        tencent.clock = lambda: tencent_now() + timedelta(minutes=6)  # the portal's clock is 6 minutes slow


def tencent_now() -> datetime:
    return datetime.now(UTC)


def assert_logged_once(caplog, scenario: Scenario, tencent, sent_code: str | None = None) -> None:
    lines = sms_failures_logged(caplog)
    assert len(lines) == 1, lines
    assert f"tencent_code={scenario.code} " in lines[0]
    answered = [r.request_id for r in tencent.requests if r.request_id]
    if scenario.request_id:  # the RequestId Tencent gave, to quote to Tencent's support
        assert lines[0].endswith(f"request_id={answered[-1]}"), (lines[0], answered)
    else:
        assert lines[0].endswith("request_id=None"), lines[0]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.name for r in errors] == (["portal.sms"] if scenario.ours else []), logged(caplog)
    text = logged(caplog)
    assert tencent.secret_key not in text and tencent.secret_key[::-1] not in text
    assert_masked_only(text, PHONE)
    if sent_code is not None:
        assert sent_code not in text


def test_a_text_is_one_signed_send_sms_with_the_template_and_no_personal_data(app, make_user, clock, tencent,
                                                                               sms_inbox):
    extras = give_phone(app, make_user(EMAIL), PHONE, clock, totp=True)
    browser = pending(app, EMAIL)
    page = sms_page(browser)
    assert browser.post("/2fa/sms/send", data={"csrf_token": csrf_token(page)},
                        headers={"Accept-Language": "zh-CN"}).status_code in (200, 302, 303)
    [request] = tencent.requests
    assert request.answer == "Ok"
    headers, body = request.headers, request.body
    assert (headers["x-tc-action"], headers["x-tc-version"], headers["x-tc-region"]) == \
        ("SendSms", "2021-01-11", "ap-guangzhou")
    # The signature is Tencent's TC3-HMAC-SHA256 over what arrived, under the double's key (the SDK computed it).
    signature = headers["authorization"].rsplit("Signature=", 1)[1]
    raw = json.dumps(body).encode()  # the SDK's own serialisation: default separators, ASCII escapes
    assert signature == tc3_signature(tencent.secret_key, "sms", int(headers["x-tc-timestamp"]), headers,
                                      ["content-type", "host"], raw)
    assert body["PhoneNumberSet"] == [PHONE]
    assert body["SmsSdkAppId"] == tencent.app_id and body["SignName"] == tencent.sign_name
    code = sms_inbox.last_code(PHONE)
    assert body["TemplateParamSet"] == [code, "5"]  # {1} the code, {2} its minutes (SMS_CODE_TTL 300 s)
    assert body["SessionContext"] == "sign_in"
    assert body["TemplateId"] == "2100001"  # sign_in, Chinese: the browser asked for zh-CN
    assert tencent.secret_key not in json.dumps(headers)
    assert extras.recovery_codes  # the account has other ways in, as in every test here


@pytest.mark.parametrize(("language", "template", "words"), [("en", "2100004", "code to confirm this phone"),
                                                            ("zh_Hans", "2100003", "手机验证码")])
def test_the_template_follows_the_purpose_and_language(app, signed_in, tencent, sms_inbox, language, template,
                                                       words):
    signed_in.set_cookie(LANG_COOKIE, language)
    response = add_phone(signed_in, TYPED)
    assert response.status_code in (200, 302, 303), response.status_code
    [request] = tencent.requests
    assert request.body["TemplateId"] == template  # the enroll template in the page's language
    assert request.body["SessionContext"] == "enroll"
    assert words in sms_inbox.texts(PHONE)[-1]


def test_a_wrong_key_and_a_skewed_clock_are_what_the_double_refuses(app, make_user, clock, tencent, settings):
    """The double's own checks can fail: the same request signed with another key, or stamped 6 minutes off."""
    user = make_user(EMAIL)
    give_phone(app, user, PHONE, clock)
    browser = pending(app, EMAIL)
    page = sms_page(browser)
    tencent.clock = lambda: tencent_now() - timedelta(minutes=6)
    refused = browser.post("/2fa/sms/send", data={"csrf_token": csrf_token(page)})
    assert refused.status_code == 503
    assert tencent.auth_failures and tencent.auth_failures[-1].startswith("AuthFailure.SignatureExpire")
    tencent.clock = tencent_now
    sent = browser.post("/2fa/sms/send", data={"csrf_token": csrf_token(sms_page(browser))})
    assert sent.status_code in (200, 302, 303)
    assert tencent.requests[-1].answer == "Ok"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_a_failed_sign_in_text_keeps_the_sign_in_and_writes_nothing(app, make_user, clock, tencent, sms_inbox,
                                                                    caplog, scenario):
    caplog.set_level(logging.DEBUG)  # even at DEBUG, the SDK's request log (with the code) stays out
    browser, extras, _ = refused_sign_in_text(app, make_user(EMAIL), clock, scenario, lambda: arm(tencent, scenario))
    if scenario.name != "hang":  # Tencent got a hung request and may text it late: its code is not stored
        assert sms_inbox.count() == 0
    sent = [r.body["TemplateParamSet"][0] for r in tencent.requests if r.body and r.body.get("TemplateParamSet")]
    assert_logged_once(caplog, scenario, tencent, sent[0] if sent else None)
    assert not any("TemplateParamSet" in r.getMessage() for r in caplog.records)  # the SDK's DEBUG lines
    signs_in_another_way(browser, clock, extras)


@pytest.mark.parametrize("scenario", ENROLLMENT, ids=[s.name for s in ENROLLMENT])
def test_a_failed_enrollment_text_leaves_no_pending_phone(app, signed_in, tencent, sms_inbox, caplog, scenario):
    caplog.set_level(logging.DEBUG)
    arm(tencent, scenario)
    response = add_phone(signed_in, TYPED)
    assert_refused(response, scenario)
    assert "Get codes by text message" in response.text
    assert sms_state(app).phones == ()
    assert sms_state(app).sends == 0
    assert sms_inbox.count() == 0
    assert_logged_once(caplog, scenario, tencent)


@pytest.mark.parametrize(("phone", "language", "template"), [
    ("+85291234567", "zh_Hans", "2200001"),  # Hong Kong: the international set, in Chinese
    ("+14155550123", "en", "2200002"),
    ("+8613800138000", "en", "2100002"),  # English on a mainland number: the mainland set
])
def test_the_numbers_region_picks_the_template_set(app, make_user, clock, tencent, sms_inbox, phone, language,
                                                    template):
    give_phone(app, make_user(EMAIL), phone, clock)
    browser = pending(app, EMAIL)
    browser.set_cookie(LANG_COOKIE, language)
    sent = browser.post("/2fa/sms/send", data={"csrf_token": csrf_token(sms_page(browser))})
    assert sent.status_code in (200, 302, 303), sent.get_data(as_text=True)[:2000]
    [request] = tencent.requests
    assert (request.body["TemplateId"], request.answer) == (template, "Ok")
    assert len(sms_inbox.texts(phone)) == 1


@pytest.mark.parametrize("overrides", [{"TENCENT_SMS_INTERNATIONAL_TEMPLATES": ""}])
def test_without_international_templates_a_number_abroad_is_not_texted(app, make_user, clock, tencent, caplog):
    give_phone(app, make_user(EMAIL), "+85291234567", clock)
    browser = pending(app, EMAIL)
    caplog.set_level(logging.INFO)
    refused = browser.post("/2fa/sms/send", data={"csrf_token": csrf_token(sms_page(browser))})
    assert refused.status_code == 503
    assert UNREACHABLE in refused.text.replace("&#39;", "'")
    assert tencent.requests == []  # Tencent would refuse a mainland template for it: not even asked
    assert sms_failures_logged(caplog) == ["tencent SendSms failed: fault=unreachable_number "
                                           "tencent_code=NoInternationalTemplate request_id=None"]
