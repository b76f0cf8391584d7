"""The contract every SmsProvider keeps: twilio_verify, twilio_messaging, tencent and console, on SQLite and
PostgreSQL.

The Twilio providers use the real twilio SDK against the loopback double (which fails the test on any
request Twilio's OpenAPI spec would refuse); tencent uses Tencent Cloud's SDK against its loopback double
(which recomputes each request's signature); the console provider writes its outbox file. Each call runs
in its own app context and commits, as a request does.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask

from portal.extensions import db
from portal.factors import Reason, Verdict
from portal.models import User
from portal.sms import provider
from portal.sms.base import Fault, Message, Purpose, SmsError
from tests.support import FakeClock
from tests.twilio_double import ScriptedFailure, TwilioDouble
from tests.twilio_double.fixtures import LOCAL_PROVIDERS, PROVIDERS, TWILIO_PROVIDERS

PHONE = "+8613800138000"
OTHER_PHONE = "+8613900139000"
VERIFY_TTL = timedelta(minutes=10)  # Twilio Verify: a verification lives 10 minutes


@pytest.fixture(params=PROVIDERS)
def sms_provider(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def settings(sms_settings):
    return dict(sms_settings)


def message(user: User, phone: str = PHONE, purpose: Purpose = Purpose.SIGN_IN, language: str = "en") -> Message:
    return Message(user_id=user.id, phone=phone, purpose=purpose, language=language)


def send(app: Flask, clock: FakeClock, what: Message) -> None:
    with app.app_context():
        provider().send_code(what, now=clock())
        db.session.commit()


def check(app: Flask, clock: FakeClock, what: Message, code: str) -> Verdict:
    with app.app_context():
        verdict = provider().check_code(what, code, now=clock())
        db.session.commit()
    assert isinstance(verdict, Verdict), verdict
    return verdict


def other_than(*codes: str) -> str:
    return next(c for c in (f"{n:06d}" for n in range(271828, 10**6, 7919)) if c not in codes)


def test_the_provider_is_the_one_configured(app, sms_provider):
    with app.app_context():
        assert provider().name == sms_provider


def test_a_send_delivers_exactly_one_text_with_a_code(app, clock, alice, sms_inbox, twilio, sms_provider):
    send(app, clock, message(alice))
    assert sms_inbox.count() == 1
    assert sms_inbox.count(PHONE) == 1
    assert len(sms_inbox.last_code(PHONE)) == 6
    if sms_provider in TWILIO_PROVIDERS:
        [request] = twilio.requests
        assert request.status == 201
        assert request.operation == ("CreateVerification" if sms_provider == "twilio_verify" else "CreateMessage")
        assert request.form["To"] == [PHONE]
        assert "RiskCheck" not in request.form  # Twilio's fraud guard stays on
    else:
        assert twilio.requests == []


def test_the_right_code_works_once(app, clock, alice, sms_inbox):
    send(app, clock, message(alice))
    code = sms_inbox.last_code(PHONE)
    assert check(app, clock, message(alice), code).ok is True
    again = check(app, clock, message(alice), code)
    assert again.ok is False
    assert again.reason is Reason.REPLAYED


def test_a_wrong_code_is_invalid_and_spends_nothing(app, clock, alice, sms_inbox):
    send(app, clock, message(alice))
    code = sms_inbox.last_code(PHONE)
    refused = check(app, clock, message(alice), other_than(code))
    assert refused.ok is False
    assert refused.reason is Reason.INVALID
    assert check(app, clock, message(alice), code).ok is True


def test_a_code_opens_nothing_for_another_user_purpose_or_phone(app, clock, alice, bob, sms_inbox):
    send(app, clock, message(alice))
    code = sms_inbox.last_code(PHONE)
    for other in (message(bob),  # same phone (a shared family phone), other account
                  message(alice, purpose=Purpose.ENROLL),
                  message(alice, phone=OTHER_PHONE)):
        verdict = check(app, clock, other, code)
        assert verdict.ok is False, other
        assert isinstance(verdict.reason, Reason)
    assert check(app, clock, message(alice), code).ok is True


def test_a_code_expires(app, clock, alice, sms_inbox, twilio, sms_provider):
    twilio.clock = clock  # Verify's own 10 minutes run on the test's clock
    ttl = VERIFY_TTL if sms_provider == "twilio_verify" else timedelta(seconds=app.config["SMS_CODE_TTL"])
    send(app, clock, message(alice))
    code = sms_inbox.last_code(PHONE)
    clock.advance(ttl.total_seconds() - 1)
    assert check(app, clock, message(alice), other_than(code)).reason is Reason.INVALID  # still alive
    clock.advance(1)
    expired = check(app, clock, message(alice), code)
    assert expired.ok is False
    assert expired.reason is Reason.EXPIRED


def test_too_many_wrong_checks_kill_the_code(app, clock, alice, sms_inbox):
    send(app, clock, message(alice))
    code = sms_inbox.last_code(PHONE)
    for _ in range(app.config["SMS_MAX_CHECKS"]):
        assert check(app, clock, message(alice), other_than(code)).reason is Reason.INVALID
    dead = check(app, clock, message(alice), code)
    assert dead.ok is False
    assert dead.reason is Reason.THROTTLED


def test_a_new_send_replaces_the_code(app, clock, alice, sms_inbox, sms_provider):
    send(app, clock, message(alice))
    first = sms_inbox.last_code(PHONE)
    send(app, clock, message(alice))
    second = sms_inbox.last_code(PHONE)
    assert sms_inbox.count(PHONE) == 2
    if sms_provider == "twilio_verify":
        assert second == first  # Verify texts the pending verification's code again
    elif first != second:
        assert check(app, clock, message(alice), first).ok is False
    assert check(app, clock, message(alice), second).ok is True


@pytest.mark.parametrize(("language", "words", "locale"), [("en", "code", "en"), ("zh_Hans", "验证码", "zh-CN")])
def test_the_text_is_in_the_users_language(app, clock, alice, sms_inbox, twilio, sms_provider, language, words,
                                           locale):
    send(app, clock, message(alice, language=language))
    [text] = sms_inbox.texts(PHONE)
    assert words in text
    if sms_provider == "twilio_verify":
        assert twilio.requests[0].form["Locale"] == [locale]
    if sms_provider == "tencent":
        sign = f"【{app.config['TENCENT_SMS_SIGN_NAME']}】"  # Tencent puts the approved signature first
        assert text.startswith(sign)
        text = text.removeprefix(sign)
    if language == "en":
        assert all(ord(ch) < 128 for ch in text)


@pytest.mark.parametrize("sms_provider", LOCAL_PROVIDERS)  # Twilio Verify writes its own text
def test_the_purpose_names_itself_in_texts_we_write(app, clock, alice, sms_inbox):
    send(app, clock, message(alice, purpose=Purpose.ENROLL))
    assert "confirm this phone" in sms_inbox.texts(PHONE)[-1]
    send(app, clock, message(alice))
    assert "sign-in code" in sms_inbox.texts(PHONE)[-1]


@pytest.mark.parametrize("sms_provider", TWILIO_PROVIDERS)
@pytest.mark.parametrize(("failure", "fault"), [
    ({"code": 60203}, Fault.TOO_MANY_SENDS),
    ({"code": 21610}, Fault.OPTED_OUT),
    ({"kind": "http", "status": 503}, Fault.UNAVAILABLE),
    ({"kind": "reset"}, Fault.UNAVAILABLE),
], ids=["60203", "21610", "http-503", "reset"])
def test_a_failed_send_raises_and_keeps_the_previous_code(app, clock, alice, sms_inbox, twilio: TwilioDouble,
                                                         failure: dict, fault: Fault):
    send(app, clock, message(alice))
    code = sms_inbox.last_code(PHONE)
    twilio.fail_next(ScriptedFailure(**failure))
    with pytest.raises(SmsError) as raised:
        send(app, clock, message(alice))
    assert raised.value.fault is fault
    assert sms_inbox.count() == 1
    assert check(app, clock, message(alice), code).ok is True
