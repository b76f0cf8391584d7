"""The loopback Twilio double: driven by the real twilio SDK (via make_client) and by raw HTTP requests."""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from portal.sms.twilio_client import make_client
from tests.support import FakeClock
from tests.twilio_double import ERRORS, ScriptedFailure, TwilioDouble, error_payload
from tests.twilio_double.fixtures import require_spec
from tests.twilio_double.spec import Spec, SpecMissing, check_form_value, check_json_value, load_spec, spec_paths

ADA = "+15551230001"
BOB = "+15551230002"
FORM = "application/x-www-form-urlencoded"
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture(autouse=True)
def documents() -> Spec:
    """Every test here needs Twilio's documents: without them it fails saying to run `make twilio-oai`."""
    return require_spec()


@pytest.fixture
def double() -> Iterator[TwilioDouble]:
    with TwilioDouble(friendly_name="Acme") as running:
        yield running


@pytest.fixture
def connect(double: TwilioDouble) -> Iterator[Callable[..., Client]]:
    """Real SDK clients pointed at the double; their connection pools are closed afterwards."""
    made: list[Client] = []

    def connect(api_key: bool = False, timeout: float = 5, **overrides: str) -> Client:
        client = make_client({**double.settings(api_key=api_key), "TWILIO_TIMEOUT": timeout, **overrides})
        made.append(client)
        return client

    yield connect
    for client in made:
        client.http_client.session.close()  # type: ignore[attr-defined]


@pytest.fixture
def twilio(connect: Callable[..., Client]) -> Client:
    return connect()


def service(client: Client, double: TwilioDouble) -> Any:
    return client.verify.v2.services(double.verify_service_sid)


def send(client: Client, double: TwilioDouble, to: str = ADA, **extra: Any) -> Any:
    return service(client, double).verifications.create(to=to, channel="sms", **extra)


def check(client: Client, double: TwilioDouble, code: str, to: str = ADA) -> Any:
    return service(client, double).verification_checks.create(to=to, code=code)


def raw(double: TwilioDouble, method: str, path: str, form: dict[str, Any] | None = None, *,
        auth: tuple[str, str] | bool | None = True, content_type: str | None = FORM,
        body: bytes | None = None) -> tuple[int, Any]:
    """One request with urllib (no SDK): (status, parsed JSON body or None)."""
    data = urlencode(form, doseq=True).encode() if form is not None else body
    request = urllib.request.Request(double.base_url + path, data=data, method=method)  # noqa: S310 - http only
    if auth is True:
        auth = (double.account_sid, double.auth_token)
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(":".join(auth).encode()).decode())
    if data is not None and content_type:
        request.add_header("Content-Type", content_type)
    try:
        with NO_PROXY.open(request, timeout=5) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read() or b"null")


def verifications_path(double: TwilioDouble, service_sid: str | None = None) -> str:
    return f"/v2/Services/{service_sid or double.verify_service_sid}/Verifications"


def messages_path(double: TwilioDouble, account_sid: str | None = None) -> str:
    return f"/2010-04-01/Accounts/{account_sid or double.account_sid}/Messages.json"


# -- the happy paths ----------------------------------------------------------------------------------------


def test_settings_point_the_portal_at_the_double(double: TwilioDouble) -> None:
    settings = double.settings()
    assert settings == {
        "TWILIO_BASE_URL": double.base_url, "TWILIO_ACCOUNT_SID": double.account_sid,
        "TWILIO_AUTH_TOKEN": double.auth_token, "TWILIO_VERIFY_SERVICE_SID": double.verify_service_sid,
        "TWILIO_MESSAGING_SERVICE_SID": double.messaging_service_sid, "TWILIO_API_KEY_SID": "",
        "TWILIO_API_KEY_SECRET": ""}
    assert double.base_url.startswith("http://127.0.0.1:")
    assert double.account_sid.startswith("AC") and len(double.account_sid) == 34
    assert double.verify_service_sid.startswith("VA") and double.messaging_service_sid.startswith("MG")
    key_sid, key_secret = next(iter(double.api_keys.items()))
    assert double.settings(api_key=True)["TWILIO_API_KEY_SID"] == key_sid and key_sid[:2] == "SK"
    assert double.settings(api_key=True)["TWILIO_API_KEY_SECRET"] == key_secret


def test_send_then_check_the_right_code_approves_and_deletes_the_verification(
        double: TwilioDouble, twilio: Client) -> None:
    started = send(twilio, double)
    assert started.status == "pending" and started.valid is False and started.channel == "sms"
    assert started.sid.startswith("VE") and started.service_sid == double.verify_service_sid
    assert started.account_sid == double.account_sid and started.to == ADA
    assert len(started.send_code_attempts) == 1 and started.send_code_attempts[0]["channel"] == "SMS"
    assert started.url.endswith(f"/Verifications/{started.sid}")
    [text] = double.inbox(ADA)
    code = double.last_code(ADA)
    assert text.body == f"Your Acme verification code is: {code}"
    assert (text.via, text.sid) == ("verify", started.sid)

    checked = check(twilio, double, code)
    assert (checked.status, checked.valid, checked.sid) == ("approved", True, started.sid)
    with pytest.raises(TwilioRestException) as gone:
        check(twilio, double, code)
    assert (gone.value.status, gone.value.code) == (404, 20404)
    assert double.violations == [] and double.auth_failures == []
    assert [(r.method, r.status, r.auth_user) for r in double.requests] == [
        ("POST", 201, double.account_sid), ("POST", 200, double.account_sid), ("POST", 404, double.account_sid)]
    assert double.requests[0].form == {"To": [ADA], "Channel": ["sms"]}


def test_api_key_auth_is_accepted_and_recorded(double: TwilioDouble, connect: Callable[..., Client]) -> None:
    client = connect(api_key=True)
    send(client, double)
    message = client.messages.create(to=BOB, body="hello", from_=double.from_number)
    assert message.account_sid == double.account_sid
    key_sid = next(iter(double.api_keys))
    assert [r.auth_user for r in double.requests] == [key_sid, key_sid]
    assert double.violations == [] and double.auth_failures == []


def test_wrong_codes_stay_pending_until_the_sixth_check_hits_60202(double: TwilioDouble, twilio: Client) -> None:
    send(twilio, double)
    code = double.last_code(ADA)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        result = check(twilio, double, wrong)
        assert (result.status, result.valid) == ("pending", False)
    with pytest.raises(TwilioRestException) as locked:
        check(twilio, double, code)  # even the right code: the verification is used up
    assert (locked.value.status, locked.value.code) == (429, 60202)
    assert "Max check attempts reached" in locked.value.msg
    with pytest.raises(TwilioRestException) as gone:
        check(twilio, double, code)
    assert (gone.value.status, gone.value.code) == (404, 20404)
    assert double.violations == []


def test_check_without_a_pending_verification_is_404(double: TwilioDouble, twilio: Client) -> None:
    with pytest.raises(TwilioRestException) as missing:
        check(twilio, double, "123456")
    assert (missing.value.status, missing.value.code) == (404, 20404)
    assert double.violations == []


def test_the_same_code_is_resent_while_pending_and_the_sixth_send_is_60203(
        double: TwilioDouble, twilio: Client) -> None:
    sids = {send(twilio, double).sid for _ in range(5)}
    texts = double.inbox(ADA)
    assert len(texts) == 5 and len(sids) == 1
    assert len({text.body for text in texts}) == 1  # the same code every time
    with pytest.raises(TwilioRestException) as too_many:
        send(twilio, double)
    assert (too_many.value.status, too_many.value.code) == (429, 60203)
    assert "Max send attempts reached" in too_many.value.msg
    assert len(double.inbox(ADA)) == 5
    fetched = service(twilio, double).verifications(sids.pop()).fetch()
    assert len(fetched.send_code_attempts) == 5
    assert double.violations == []


def test_verifications_expire_ten_minutes_after_creation(double: TwilioDouble, twilio: Client) -> None:
    clock = FakeClock()
    double.clock = clock
    first = send(twilio, double)
    send(twilio, double, to=BOB)
    code, bob_code = double.last_code(ADA), double.last_code(BOB)
    clock.advance(9 * 60 + 59)
    assert check(twilio, double, bob_code, to=BOB).status == "approved"  # 9:59 later: still valid
    clock.advance(1)
    with pytest.raises(TwilioRestException) as expired:
        check(twilio, double, code)
    assert (expired.value.status, expired.value.code) == (404, 20404)
    second = send(twilio, double)
    assert second.sid != first.sid and len(double.inbox(ADA)) == 2
    assert double.inbox(ADA)[1].at == clock.current
    assert double.violations == []


def test_check_by_verification_sid_and_cancel(double: TwilioDouble, twilio: Client) -> None:
    first = send(twilio, double)
    wrong = service(twilio, double).verification_checks.create(verification_sid=first.sid, code="99999999")
    assert wrong.status == "pending"
    canceled = service(twilio, double).verifications(first.sid).update(status="canceled")
    assert canceled.status == "canceled"
    with pytest.raises(TwilioRestException) as gone:
        service(twilio, double).verifications(first.sid).fetch()
    assert gone.value.status == 404
    assert double.violations == []


def test_texts_follow_the_locale(double: TwilioDouble, twilio: Client) -> None:
    send(twilio, double, locale="zh-CN")
    send(twilio, double, to=BOB, locale="zh")
    assert double.inbox(ADA)[0].body == f"您的Acme验证码是：{double.last_code(ADA)}"
    assert double.inbox(BOB)[0].body.startswith("您的Acme验证码是：")
    send(twilio, double, to="+15551230003", custom_friendly_name="Shop")
    assert double.inbox("+15551230003")[0].body.startswith("Your Shop verification code is: ")


def test_messages_with_a_messaging_service_and_with_from(double: TwilioDouble, twilio: Client) -> None:
    via_service = twilio.messages.create(to=ADA, body="Your code is 246810",
                                         messaging_service_sid=double.messaging_service_sid)
    assert via_service.sid.startswith("SM") and via_service.status == "accepted"
    assert via_service.from_ is None and via_service.messaging_service_sid == double.messaging_service_sid
    via_number = twilio.messages.create(to=ADA, body="界" * 71, from_=double.from_number)
    assert (via_number.status, via_number.from_, via_number.num_segments) == ("queued", double.from_number, "2")
    assert [(sms.body, sms.sid, sms.via) for sms in double.inbox(ADA)] == [
        ("Your code is 246810", via_service.sid, "messaging"), ("界" * 71, via_number.sid, "messaging")]
    assert twilio.messages(via_service.sid).fetch().status == "delivered"
    assert double.violations == []


def test_message_wire_format_uses_rfc_2822_dates(double: TwilioDouble) -> None:
    status, body = raw(double, "POST", messages_path(double), {"To": ADA, "Body": "hi", "From": double.from_number})
    assert status == 201
    assert body["date_created"].endswith(" +0000") and parsedate_to_datetime(body["date_created"])
    assert body["uri"] == f"/2010-04-01/Accounts/{double.account_sid}/Messages/{body['sid']}.json"
    assert (body["direction"], body["api_version"], body["num_segments"]) == ("outbound-api", "2010-04-01", "1")
    assert double.violations == []


def test_last_code_needs_a_text(double: TwilioDouble, twilio: Client) -> None:
    with pytest.raises(AssertionError, match="no text"):
        double.last_code(ADA)
    twilio.messages.create(to=ADA, body="no code here", from_=double.from_number)
    with pytest.raises(AssertionError, match="6-digit"):
        double.last_code(ADA)


# -- scripted failures ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "status"), [
    (20003, 401), (20429, 429), (21211, 400), (21408, 400), (21610, 400), (60200, 400), (60202, 429),
    (60203, 429), (60212, 429), (60410, 403),
])
def test_scripted_twilio_errors_reach_the_sdk(double: TwilioDouble, twilio: Client, code: int,
                                               status: int) -> None:
    double.fail_next(ScriptedFailure(code=code))
    with pytest.raises(TwilioRestException) as failed:
        send(twilio, double)
    assert (failed.value.status, failed.value.code) == (status, code)
    assert ERRORS[code][1].split("{")[0].strip() in failed.value.msg
    assert double.inbox(ADA) == []  # the failure replaced the send
    assert double.requests[0].scripted == "twilio" and double.requests[0].status == status
    assert send(twilio, double).status == "pending"  # consumed: the next request is served normally
    assert double.violations == []


def test_scripted_error_body_is_twilio_json(double: TwilioDouble) -> None:
    double.fail_next(ScriptedFailure(code=21211, path_contains="Messages"))
    status, body = raw(double, "POST", messages_path(double), {"To": ADA, "Body": "x", "From": double.from_number})
    assert status == 400
    assert body == {"code": 21211, "message": f"Invalid 'To' Phone Number: {ADA}",
                    "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}


def test_failures_target_paths_and_repeat(double: TwilioDouble, twilio: Client) -> None:
    double.fail_next(ScriptedFailure(code=60202, path_contains="VerificationCheck", times=2),
                     ScriptedFailure(code=21610, path_contains="Messages"))
    send(twilio, double)  # not targeted
    code = double.last_code(ADA)
    for _ in range(2):
        with pytest.raises(TwilioRestException) as failed:
            check(twilio, double, code)
        assert failed.value.code == 60202
    assert check(twilio, double, code).status == "approved"
    with pytest.raises(TwilioRestException) as unsubscribed:
        twilio.messages.create(to=ADA, body="hi", from_=double.from_number)
    assert (unsubscribed.value.status, unsubscribed.value.code) == (400, 21610)


@pytest.mark.parametrize("status", [500, 502, 503])
@pytest.mark.parametrize("body", [None, ""])
def test_plain_5xx_reaches_the_sdk_as_that_status(double: TwilioDouble, twilio: Client, status: int,
                                                  body: str | None) -> None:
    double.fail_next(ScriptedFailure(kind="http", status=status, body=body))
    with pytest.raises(TwilioRestException) as failed:
        send(twilio, double)
    assert (failed.value.status, failed.value.code) == (status, status)
    assert double.inbox(ADA) == [] and double.violations == []


def test_a_hang_times_the_client_out_and_does_not_hold_up_shutdown() -> None:
    with TwilioDouble() as hanging:
        client = make_client({**hanging.settings(), "TWILIO_TIMEOUT": 1})
        hanging.fail_next(ScriptedFailure(kind="hang", seconds=2))
        started = time.monotonic()
        with pytest.raises(requests.exceptions.Timeout):
            send(client, hanging)
        assert time.monotonic() - started >= 0.9  # the client's own 1 s timeout, not an early failure
        client.http_client.session.close()  # type: ignore[attr-defined]
        stopping = time.monotonic()
    assert time.monotonic() - stopping < 1.5  # the hanging request was woken, not waited out (2 s)
    assert hanging.requests[0].scripted == "hang" and hanging.violations == []


def test_a_short_hang_then_answers_normally(double: TwilioDouble, twilio: Client) -> None:
    double.fail_next(ScriptedFailure(kind="hang", seconds=0.3))
    started = time.monotonic()
    assert send(twilio, double).status == "pending"
    assert time.monotonic() - started >= 0.3
    assert len(double.inbox(ADA)) == 1


def test_a_reset_is_a_connection_error(double: TwilioDouble, twilio: Client) -> None:
    double.fail_next(ScriptedFailure(kind="reset", path_contains="Messages"))
    with pytest.raises(requests.exceptions.ConnectionError):
        twilio.messages.create(to=ADA, body="hi", from_=double.from_number)
    assert double.requests[0].status is None and double.inbox(ADA) == []
    assert twilio.messages.create(to=ADA, body="hi", from_=double.from_number).status == "queued"


@pytest.mark.parametrize("bad", [
    {"kind": "twilio"}, {"code": 12345}, {"kind": "http", "status": 200}, {"kind": "hang", "seconds": 0},
    {"kind": "explode"}, {"code": 20429, "times": 0},
])
def test_scripted_failures_are_validated(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        ScriptedFailure(**bad)


# -- spec and house-rule violations ---------------------------------------------------------------------------


VIOLATIONS: list[tuple[str, Callable[[TwilioDouble], tuple[str, str, dict[str, Any] | None]], int, int, str]] = [
    ("missing To", lambda d: ("POST", verifications_path(d), {"Channel": "sms"}), 400, 60200,
     "required field To is missing"),
    ("unknown field", lambda d: ("POST", verifications_path(d), {"To": ADA, "Channel": "sms", "Colour": "red"}),
     400, 60200, "unknown field Colour"),
    ("bad Channel", lambda d: ("POST", verifications_path(d), {"To": ADA, "Channel": "pigeon"}), 400, 60200,
     "Channel='pigeon' is not one of"),
    ("non-E.164 verify To", lambda d: ("POST", verifications_path(d), {"To": "5551230001", "Channel": "sms"}),
     400, 60200, "is not E.164"),
    ("wrong ServiceSid", lambda d: ("POST", verifications_path(d, "VA" + "0" * 32), {"To": ADA, "Channel": "sms"}),
     404, 20404, "is not the Verify service"),
    ("malformed ServiceSid", lambda d: ("POST", verifications_path(d, "VAnope"), {"To": ADA, "Channel": "sms"}),
     404, 20404, "path parameter ServiceSid='VAnope' is shorter than 34"),
    ("wrong path", lambda d: ("POST", "/v2/Services/" + d.verify_service_sid + "/Verification", {"To": ADA}),
     404, 20404, "no such path"),
    ("GET where only POST exists", lambda d: ("GET", verifications_path(d), None), 405, 20004,
     "method not allowed"),
    ("RiskCheck=disable", lambda d: ("POST", verifications_path(d), {"To": ADA, "Channel": "sms",
                                                                     "RiskCheck": "disable"}),
     400, 60200, "RiskCheck=disable"),
    ("duplicate field", lambda d: ("POST", verifications_path(d), {"To": [ADA, BOB], "Channel": "sms"}), 400,
     60200, "sent 2 times"),
    ("check without Code", lambda d: ("POST", f"/v2/Services/{d.verify_service_sid}/VerificationCheck",
                                      {"To": ADA}), 400, 60200, "Code is missing"),
    ("non-E.164 message To", lambda d: ("POST", messages_path(d), {"To": "0044 20 7946", "Body": "x",
                                                                   "From": d.from_number}),
     400, 21211, "is not E.164"),
    ("message without From", lambda d: ("POST", messages_path(d), {"To": ADA, "Body": "x"}), 400, 21603,
     "neither From nor MessagingServiceSid"),
    ("message From not ours", lambda d: ("POST", messages_path(d), {"To": ADA, "Body": "x", "From": BOB}),
     400, 21606, "is not the account's number"),
    ("empty message Body", lambda d: ("POST", messages_path(d), {"To": ADA, "Body": "", "From": d.from_number}),
     400, 21602, "Body is empty"),
    ("Body over 1600", lambda d: ("POST", messages_path(d), {"To": ADA, "Body": "x" * 1601,
                                                             "From": d.from_number}),
     400, 21617, "max 1600"),
    ("message missing To", lambda d: ("POST", messages_path(d), {"Body": "x", "From": d.from_number}), 400,
     21604, "required field To is missing"),
    ("bad message enum", lambda d: ("POST", messages_path(d), {"To": ADA, "Body": "x", "From": d.from_number,
                                                               "ContentRetention": "forever"}),
     400, 20001, "ContentRetention='forever' is not one of"),
    ("bad message boolean", lambda d: ("POST", messages_path(d), {"To": ADA, "Body": "x", "From": d.from_number,
                                                                  "SendAsMms": "yes"}),
     400, 20001, "is not a boolean"),
    ("message RiskCheck=disable", lambda d: ("POST", messages_path(d), {"To": ADA, "Body": "x",
                                                                        "From": d.from_number,
                                                                        "RiskCheck": "disable"}),
     400, 20001, "RiskCheck=disable"),
    ("wrong AccountSid", lambda d: ("POST", messages_path(d, "AC" + "1" * 32), {"To": ADA, "Body": "x",
                                                                               "From": d.from_number}),
     404, 20404, "is not the account"),
    ("query on a POST", lambda d: ("POST", verifications_path(d) + "?To=" + ADA, {"To": ADA, "Channel": "sms"}),
     400, 60200, "unexpected query parameter To"),
]


@pytest.mark.parametrize(("make", "status", "code", "expected"), [v[1:] for v in VIOLATIONS],
                         ids=[v[0] for v in VIOLATIONS])
def test_violations_are_refused_and_recorded(double: TwilioDouble,
                                             make: Callable[[TwilioDouble], tuple[str, str, Any]],
                                             status: int, code: int, expected: str) -> None:
    method, path, form = make(double)
    answered, body = raw(double, method, path, form)
    assert (answered, body["code"], body["status"]) == (status, code, status)
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    assert any(expected in violation for violation in double.violations), double.violations
    assert double.requests[-1].violations and double.requests[-1].status == status
    assert double.inbox(ADA) == [] and double.auth_failures == []


def test_a_json_body_is_a_violation(double: TwilioDouble) -> None:
    status, body = raw(double, "POST", verifications_path(double), body=json.dumps({"To": ADA}).encode(),
                       content_type="application/json")
    assert (status, body["code"]) == (400, 60200)
    assert any("Content-Type must be application/x-www-form-urlencoded" in v for v in double.violations)


def test_the_sdk_sending_risk_check_disable_is_caught(double: TwilioDouble, twilio: Client) -> None:
    with pytest.raises(TwilioRestException) as refused:
        send(twilio, double, risk_check="disable")
    assert refused.value.status == 400
    assert [v for v in double.violations if "RiskCheck=disable" in v]


def test_a_valid_request_records_no_violation(double: TwilioDouble) -> None:
    status, body = raw(double, "POST", verifications_path(double), {"To": ADA, "Channel": "sms", "Locale": "en"})
    assert (status, body["status"]) == (201, "pending")
    assert double.violations == [] and double.requests[0].violations == []


def test_wrong_credentials_are_auth_failures_not_violations(double: TwilioDouble,
                                                            connect: Callable[..., Client]) -> None:
    for client in (connect(TWILIO_AUTH_TOKEN="not-the-token"),
                   connect(api_key=True, TWILIO_API_KEY_SID="SK" + "0" * 32, TWILIO_API_KEY_SECRET="x")):
        with pytest.raises(TwilioRestException) as refused:
            send(client, double)
        assert (refused.value.status, refused.value.code) == (401, 20003)
    assert len(double.auth_failures) == 2 and double.violations == []
    assert double.inbox(ADA) == []


def test_missing_credentials_are_a_violation(double: TwilioDouble) -> None:
    status, body = raw(double, "POST", verifications_path(double), {"To": ADA, "Channel": "sms"}, auth=None)
    assert (status, body["code"]) == (401, 20003)
    assert any("no HTTP Basic credentials" in v for v in double.violations)


def test_the_double_checks_its_own_answers_against_the_spec() -> None:
    spec = load_spec()
    create, _, _ = spec.route("POST", "/v2/Services/VA" + "a" * 32 + "/Verifications")
    assert create is not None and create.operation_id == "CreateVerification"
    assert spec.check_response(create, 201, {"sid": "VEa", "status": "pending"})  # sid too short
    assert spec.check_response(create, 201, {"sid": "VE" + "a" * 32, "surprise": 1})
    assert spec.check_response(create, 201, {"sid": "VE" + "a" * 32, "channel": "sms"}) == []
    message, _, _ = spec.route("POST", "/2010-04-01/Accounts/AC" + "a" * 32 + "/Messages.json")
    assert message is not None
    assert spec.check_response(message, 201, {"date_created": "2024-01-01T00:00:00Z"})  # must be RFC 2822


def test_every_error_answer_is_checked_against_twilios_error_body() -> None:
    spec = load_spec()
    create, _, _ = spec.route("POST", "/v2/Services/VA" + "a" * 32 + "/Verifications")
    assert create is not None
    assert spec.check_response(create, 429, error_payload(60203)) == []
    assert spec.check_response(None, 404, error_payload(20404, path="/nowhere")) == []  # no route: still checked
    assert spec.check_response(None, 404, {"code": 20404, "message": "gone", "more_info": "https://x.test/",
                                           "status": 400}) == ["error.status=400 is not the HTTP status 404"]
    assert spec.check_response(create, 429, {"detail": "slow down"})  # not Twilio's shape
    assert spec.check_response(None, 200, {})  # without an operation only an error can be the answer


def test_an_answer_after_a_scripted_hang_is_checked(double: TwilioDouble, twilio: Client,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    real = double._verification_json
    monkeypatch.setattr(double, "_verification_json", lambda v: {**real(v), "surprise": 1})
    double.fail_next(ScriptedFailure(kind="hang", seconds=0.05))
    send(twilio, double)
    assert any(v.startswith("double bug:") and "surprise is not in the schema" in v for v in double.violations)


def test_scripted_and_refused_answers_leave_no_double_bug(double: TwilioDouble, twilio: Client) -> None:
    double.fail_next(ScriptedFailure(code=12345, status=418, message="I'm a teapot"))
    with pytest.raises(TwilioRestException):
        send(twilio, double)
    raw(double, "GET", "/nowhere")
    raw(double, "GET", verifications_path(double))
    raw(double, "POST", verifications_path(double), {"To": ADA}, auth=None)
    assert [r.status for r in double.requests] == [418, 404, 405, 401]
    assert not [v for v in double.violations if v.startswith("double bug")], double.violations


# -- Twilio's complete documents -------------------------------------------------------------------------------


def test_the_complete_documents_are_parsed_once_per_process() -> None:
    spec = load_spec()
    assert spec is load_spec()
    assert len(spec.operations) > 200  # all of Verify v2 and API 2010-04-01, not an excerpt
    assert {"CreateVerification", "CreateMessage", "FetchService", "CreateCall"} <= set(spec.by_id)
    assert 0 < spec.load_seconds < 10


def test_missing_documents_say_what_to_run(tmp_path: Any) -> None:
    with pytest.raises(SpecMissing, match="make twilio-oai"):
        load_spec(str(tmp_path))
    (tmp_path / "twilio_verify_v2.json").write_text("{}")
    with pytest.raises(SpecMissing, match=r"\(twilio_api_v2010.json\) are not in"):
        spec_paths(tmp_path)


def test_the_most_specific_path_template_wins() -> None:
    spec = load_spec()
    summary, params, _ = spec.route("GET", "/v2/Attempts/Summary")
    assert summary is not None and summary.operation_id == "FetchVerificationAttemptsSummary" and params == {}
    attempt, params, _ = spec.route("GET", "/v2/Attempts/VL" + "a" * 32)
    assert attempt is not None and attempt.operation_id == "FetchVerificationAttempt"
    assert params == {"Sid": "VL" + "a" * 32}
    account = "/2010-04-01/Accounts/AC" + "a" * 32
    local, _, _ = spec.route("GET", account + "/IncomingPhoneNumbers/Local.json")
    assert local is not None and local.operation_id == "ListIncomingPhoneNumberLocal"
    number, params, _ = spec.route("GET", account + "/IncomingPhoneNumbers/PN" + "b" * 32 + ".json")
    assert number is not None and number.operation_id == "FetchIncomingPhoneNumber"
    assert spec.route("DELETE", account + "/IncomingPhoneNumbers/Local.json") == (None, {}, ["GET", "POST"])


def test_an_operation_the_double_does_not_model_is_a_violation(double: TwilioDouble) -> None:
    status, body = raw(double, "GET", f"/v2/Services/{double.verify_service_sid}")
    assert (status, body["code"], body["status"]) == (501, 20500, 501)
    assert double.violations == [f"GET /v2/Services/{double.verify_service_sid}: FetchService is in Twilio's API "
                                  "but the double does not implement it"]


def test_query_parameters_are_checked_against_the_full_documents(double: TwilioDouble) -> None:
    status, body = raw(double, "GET", messages_path(double) + "?PageSize=0")
    assert (status, body["code"]) == (400, 20001)
    assert any("query parameter PageSize='0' is below 1" in v for v in double.violations), double.violations


def test_formats_and_ranges_of_the_full_documents() -> None:
    country = {"type": "string", "format": "iso-country-code"}
    assert check_form_value({}, country, "US") is None
    assert check_form_value({}, country, "usa") == "is not an ISO 3166-1 alpha-2 country code"
    assert check_form_value({}, {"type": "string", "format": "http-method"}, "FETCH") == "is not an HTTP method"
    assert check_form_value({}, {"type": "integer", "format": "int64"}, str(2**63)) == "does not fit int64"
    assert check_form_value({}, {"type": "string", "format": "twiml"}, "<Response/>") is None
    assert check_json_value({}, {"type": "integer", "maximum": 3}, 4, "n") == ["n=4 is above 3"]
    assert check_json_value({}, {"type": "object", "properties": {"a": {}}, "required": ["a"]}, {}, "o") == [
        "o.a is missing"]


# -- concurrency and reset -----------------------------------------------------------------------------------


def test_concurrent_sends_are_all_recorded(double: TwilioDouble, twilio: Client) -> None:
    numbers = [f"+1555123{n:04d}" for n in range(20)]
    errors: list[Exception] = []

    def work(number: str) -> None:
        try:
            send(twilio, double, to=number)
            twilio.messages.create(to=number, body="welcome", messaging_service_sid=double.messaging_service_sid)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(number,)) for number in numbers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len(double.requests) == 40 and all(r.status == 201 for r in double.requests)
    assert all([sms.via for sms in double.inbox(number)] == ["verify", "messaging"] for number in numbers)
    assert sorted(r.form["To"][0] for r in double.requests) == sorted(numbers * 2)
    assert double.violations == []


def test_reset_forgets_everything(double: TwilioDouble, twilio: Client) -> None:
    send(twilio, double)
    code = double.last_code(ADA)
    raw(double, "GET", "/nowhere")
    double.fail_next(ScriptedFailure(code=20429))
    double.reset()
    assert (double.requests, double.violations, double.inbox(ADA)) == ([], [], [])
    with pytest.raises(TwilioRestException) as gone:
        check(twilio, double, code)  # the pending verification is forgotten too, and no failure is queued
    assert gone.value.code == 20404


def test_stopped_double_has_no_base_url() -> None:
    double = TwilioDouble()
    with pytest.raises(RuntimeError):
        _ = double.base_url
    with double:
        assert double.base_url
    with pytest.raises(RuntimeError):
        _ = double.base_url


def test_clock_is_overridable(double: TwilioDouble, twilio: Client) -> None:
    clock = FakeClock()
    double.clock = clock
    started = send(twilio, double)
    assert started.date_created == clock.current
    clock.advance(60)
    assert double.requests[0].at == clock.current - timedelta(seconds=60)
