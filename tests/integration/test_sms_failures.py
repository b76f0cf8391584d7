"""Twilio failing: every error is a clear message with 429 (Retry-After) or 503, never a 500, and nothing
half-written stays behind. The failures are scripted in the loopback double (or nothing listens at all)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pytest

from tests.integration.sms_helpers import (
    BUSY,
    OPTED_OUT,
    PHONE,
    TOO_MANY_SENDS,
    TWILIO_PROVIDERS,
    TYPED,
    UNAVAILABLE,
    UNREACHABLE,
    add_phone,
    assert_masked_only,
    assert_refused,
    closed_port,
    confirm_phone,
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
from tests.twilio_double import ScriptedFailure

EMAIL = "wang.fang@example.com"

BLOCKED = "Our text message provider is blocking messages to this number to prevent fraud."
TOO_MANY_CHECKS = "That code was tried too many times and no longer works. Wait a minute, then send a new code."


@dataclass(frozen=True)
class Scenario:
    name: str
    failure: dict[str, Any] | None  # ScriptedFailure fields; None: nothing listens at TWILIO_BASE_URL
    status: int
    retry_after: int | None
    message: str
    logged: str  # what the one log line says about it


SCENARIOS = [
    Scenario("20003", {"code": 20003}, 503, None, UNAVAILABLE, "twilio_code=20003 http_status=401"),
    Scenario("20429", {"code": 20429}, 429, 30, BUSY, "twilio_code=20429 http_status=429"),
    Scenario("21211", {"code": 21211}, 503, None, UNREACHABLE, "twilio_code=21211 http_status=400"),
    Scenario("21408", {"code": 21408}, 503, None, UNREACHABLE, "twilio_code=21408 http_status=400"),
    Scenario("21610", {"code": 21610}, 503, None, OPTED_OUT, "twilio_code=21610 http_status=400"),
    Scenario("60200", {"code": 60200}, 503, None, UNREACHABLE, "twilio_code=60200 http_status=400"),
    Scenario("60202", {"code": 60202}, 429, 60, TOO_MANY_CHECKS, "twilio_code=60202 http_status=429"),
    Scenario("60203", {"code": 60203}, 429, 600, TOO_MANY_SENDS, "twilio_code=60203 http_status=429"),
    Scenario("60212", {"code": 60212}, 429, 30, BUSY, "twilio_code=60212 http_status=429"),
    Scenario("60410", {"code": 60410}, 503, None, BLOCKED, "twilio_code=60410 http_status=403"),
    Scenario("http-500", {"kind": "http", "status": 500}, 503, None, UNAVAILABLE, "http_status=500"),
    Scenario("http-503", {"kind": "http", "status": 503, "body": ""}, 503, None, UNAVAILABLE, "http_status=503"),
    Scenario("hang", {"kind": "hang", "seconds": 2}, 503, None, UNAVAILABLE, "error=ReadTimeout"),
    Scenario("reset", {"kind": "reset"}, 503, None, UNAVAILABLE, "error=ConnectionError"),
    Scenario("refused", None, 503, None, UNAVAILABLE, "error=ConnectionError"),
]
# Enrollment sends through the same code: a sample of each kind of answer (the hang is covered above).
ENROLLMENT = [s for s in SCENARIOS if s.name in ("20003", "20429", "21610", "60203", "60410", "http-500", "reset",
                                                 "refused")]


@pytest.fixture(params=TWILIO_PROVIDERS)
def sms_provider(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def scenario() -> Scenario | None:
    return None


@pytest.fixture
def settings(sms_settings, scenario):
    values = {**sms_settings, "TWILIO_TIMEOUT": 1}
    if scenario is not None and scenario.failure is None:
        values["TWILIO_BASE_URL"] = f"http://127.0.0.1:{closed_port()}"
    return values


@pytest.fixture
def email() -> str:
    return EMAIL


def arm(twilio, scenario: Scenario) -> None:
    if scenario.failure is not None:
        twilio.fail_next(ScriptedFailure(method="POST", **scenario.failure))


def assert_logged_once(caplog, scenario: Scenario, twilio) -> None:
    lines = sms_failures_logged(caplog)
    assert len(lines) == 1, lines
    assert scenario.logged in lines[0]
    assert not any(r.levelno >= logging.ERROR for r in caplog.records), logged(caplog)
    text = logged(caplog)
    assert twilio.auth_token not in text
    assert_masked_only(text, PHONE)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_a_failed_sign_in_text_keeps_the_sign_in_and_writes_nothing(app, make_user, clock, twilio, sms_inbox,
                                                                    caplog, scenario):
    caplog.set_level(logging.DEBUG)
    browser, extras, _ = refused_sign_in_text(app, make_user(EMAIL), clock, scenario, lambda: arm(twilio, scenario))
    assert sms_inbox.count() == 0
    assert_logged_once(caplog, scenario, twilio)
    signs_in_another_way(browser, clock, extras)


@pytest.mark.parametrize("scenario", ENROLLMENT, ids=[s.name for s in ENROLLMENT])
def test_a_failed_enrollment_text_leaves_no_pending_phone(app, signed_in, twilio, sms_inbox, caplog, scenario):
    caplog.set_level(logging.DEBUG)
    arm(twilio, scenario)
    response = add_phone(signed_in, TYPED)
    assert_refused(response, scenario)
    assert "Get codes by text message" in response.text  # still the number form, to try again or another
    assert sms_state(app).phones == ()
    assert sms_state(app).sends == 0
    assert sms_state(app).codes == ()
    assert sms_inbox.count() == 0
    assert_logged_once(caplog, scenario, twilio)
    assert signed_in.get("/account/2fa/sms/confirm").headers["Location"] == "/account/2fa/sms"


@pytest.mark.parametrize("sms_provider", ["twilio_verify"])  # only Verify asks Twilio to check a code
@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if s.name in ("20429", "http-503")],
                         ids=["20429", "http-503"])
def test_a_failed_check_while_confirming_keeps_the_pending_phone(app, signed_in, twilio, sms_inbox, caplog,
                                                                 scenario):
    assert add_phone(signed_in, TYPED).status_code == 302
    code = sms_inbox.last_code(PHONE)
    caplog.set_level(logging.DEBUG)
    arm(twilio, scenario)
    response = confirm_phone(signed_in, code)
    assert_refused(response, scenario)
    assert [(row.phone, row.confirmed) for row in sms_state(app).phones] == [(PHONE, False)]
    assert_logged_once(caplog, scenario, twilio)
    assert confirm_phone(signed_in, code).status_code == 200  # the same code, once Twilio answers again


@pytest.mark.parametrize("sms_provider", ["twilio_verify"])
@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if s.name == "http-503"], ids=["http-503"])
def test_a_failed_check_at_sign_in_is_explained(app, make_user, clock, twilio, sms_inbox, scenario):
    give_phone(app, make_user(EMAIL), PHONE, clock, totp=True)
    browser = pending(app, EMAIL)
    page = sms_page(browser)
    assert browser.post("/2fa/sms/send", data={"csrf_token": csrf_token(page)}).status_code == 303
    code = sms_inbox.last_code(PHONE)
    arm(twilio, scenario)
    page = sms_page(browser)
    response = browser.post("/2fa/verify?method=sms", data={"csrf_token": csrf_token(page), "code": code})
    assert_refused(response, scenario)
    assert browser.get("/2fa/verify?method=totp").status_code == 200
