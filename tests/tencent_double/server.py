"""A loopback Tencent Cloud API 3.0 for tests: SMS SendSms (version 2021-01-11) over real HTTP.

The real SDK (tencentcloud-sdk-python-sms) talks to it through TENCENT_SMS_ENDPOINT=double.base_url. Each
request is checked the way Tencent checks it: the X-TC-* headers, the TC3-HMAC-SHA256 Authorization
recomputed from the double's secret key over the received Host header and the raw body (a wrong key is
AuthFailure.SignatureFailure; a timestamp more than 5 minutes off the double's clock is
AuthFailure.SignatureExpire), then the JSON fields (E.164 numbers, the application, signature and template,
its parameter count). Answers use Tencent's response format, exactly as the SDK parses it. What the portal
should never send (a malformed request, personal data in SessionContext) is also recorded in `violations`,
which the fixture asserts to be empty after each test. Approved templates are rendered into the inbox, so a
test reads the code from the text a phone would get.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from tests.loopback_double import LoopbackDouble, Reply

ACTION, VERSION, SERVICE = "SendSms", "2021-01-11", "sms"
REGIONS = ("ap-guangzhou", "ap-beijing", "ap-nanjing")
MAX_SKEW = 300  # seconds: Tencent refuses a signature whose timestamp is further off
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
AUTHORIZATION = re.compile(r"TC3-HMAC-SHA256 Credential=([^/]+)/(\d{4}-\d{2}-\d{2})/([a-z]+)/tc3_request, "
                           r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})")
FIELDS = {"PhoneNumberSet", "SmsSdkAppId", "TemplateId", "SignName", "TemplateParamSet", "SessionContext",
          "ExtendCode", "SenderId"}
MESSAGES = {  # Tencent's own texts for the errors the double answers
    "AuthFailure.InvalidAuthorization": "Authorization in the request header is invalid.",
    "AuthFailure.SecretIdNotFound": "The SecretId is not found, please ensure that your SecretId is correct.",
    "AuthFailure.SignatureExpire": "The signature is expired, please request again.",
    "AuthFailure.SignatureFailure": "The provided credentials could not be validated. Please check your signature "
                                    "is correct.",
    "InvalidAction": "The requested action does not exist.",
    "InvalidParameter": "The parameter is invalid.",
    "InvalidParameterValue.IncorrectPhoneNumber": "The format of the mobile number is incorrect.",
    "InvalidParameterValue.TemplateParameterFormatError": "Only 0-6 digits can be passed in as the template "
                                                          "variable of a verification code template.",
    "FailedOperation.SignatureIncorrectOrUnapproved": "The signature is not approved or does not exist.",
    "FailedOperation.TemplateIncorrectOrUnapproved": "The template content has not been approved or does not "
                                                     "match the content of the approved template.",
    "FailedOperation.TemplateParamSetNotMatchApprovedTemplate": "request content does not match the template "
                                                                "content",
    "InvalidParameterValue.SdkAppIdNotExist": "The SdkAppId does not exist.",
    "LimitExceeded.PhoneNumberDailyLimit": "the number of sms messages sent from a single mobile number every day "
                                           "exceeds the upper limit",
    "LimitExceeded.PhoneNumberThirtySecondLimit": "the number of SMS messages sent from a single mobile number "
                                                  "within 30 seconds exceeds the upper limit",
    "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber": "The bulk SMS request contains both "
                                                                       "Mainland China and global mobile numbers.",
    "UnsupportedOperation.ChineseMainlandTemplateToGlobalPhone": "A Mainland China template cannot be sent to a "
                                                                 "global mobile number.",
    "UnsupportedOperation.GlobalTemplateToChineseMainlandPhone": "A global template cannot be sent to a Mainland "
                                                                 "China mobile number.",
}
FailureKind = Literal["error", "status", "http", "hang", "reset"]
EMPTY = "(empty)"  # ScriptedFailure(kind="status", code=EMPTY): a 200 whose SendStatusSet is empty


def tc3_signature(secret_key: str, service: str, timestamp: int, headers: Mapping[str, str], signed: list[str],
                  payload: bytes) -> str:
    """Tencent Cloud API 3.0's TC3-HMAC-SHA256 signature of a POST to "/" (the documented algorithm)."""
    canonical_headers = "".join(f"{name}:{headers.get(name, '').strip().lower()}\n" for name in signed)
    canonical_request = "\n".join(["POST", "/", "", canonical_headers, ";".join(signed),
                                   hashlib.sha256(payload).hexdigest()])
    date = datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d")
    string_to_sign = "\n".join(["TC3-HMAC-SHA256", str(timestamp), f"{date}/{service}/tc3_request",
                                hashlib.sha256(canonical_request.encode()).hexdigest()])

    def step(key: bytes, message: str) -> bytes:
        return hmac.new(key, message.encode(), hashlib.sha256).digest()

    signing_key = step(step(step(("TC3" + secret_key).encode(), date), service), "tc3_request")
    return hmac.new(signing_key, string_to_sign.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Template:
    """An approved template: its text with {1}, {2} … and whether it may go to numbers outside mainland China."""

    text: str
    international: bool

    @property
    def parameters(self) -> int:
        return len(set(re.findall(r"\{(\d+)\}", self.text)))


@dataclass(frozen=True)
class Sms:
    """A text as the phone shows it (the signature in 【】 first), with what made it."""

    to: str
    body: str
    template_id: str
    params: tuple[str, ...]


@dataclass
class Recorded:
    headers: dict[str, str]
    body: dict[str, Any] | None
    answer: str  # "Ok", a per-number code, an Error code, or "http 503" / "hang" / "reset"
    request_id: str | None = None  # the RequestId answered, if any


@dataclass
class ScriptedFailure:
    """What the next request(s) get instead of the normal answer.

    "error": an Error response with Tencent's `code` (HTTP 200, as Tencent answers); "status": a 200 answer
    whose SendStatusSet entry for the number carries `code`; "http": a bare HTTP `status` (default 502);
    "hang": wait `seconds`, then answer normally (the SDK's timeout fires first); "reset": close the
    connection without an answer. Used `times` times.
    """

    kind: FailureKind = "error"
    code: str | None = None
    status: int = 502
    seconds: float = 3.0
    times: int = 1

    def __post_init__(self) -> None:
        if self.kind not in ("error", "status", "http", "hang", "reset"):
            raise ValueError(f"unknown failure kind {self.kind!r}")
        if self.kind in ("error", "status") and not self.code:
            raise ValueError(f"a {self.kind!r} failure needs Tencent's code")
        if self.times < 1:
            raise ValueError("times must be at least 1")


def _json(payload: Mapping[str, Any], status: int = 200) -> Reply:
    # Exactly application/json: with a charset the SDK reads no error at all from the body.
    return Reply(status, raw=json.dumps(payload, ensure_ascii=False).encode(), content_type="application/json")


class TencentDouble(LoopbackDouble[Sms, Recorded, ScriptedFailure]):
    """Tencent Cloud's SMS API on 127.0.0.1, with one account, one application, its signature and templates."""

    name = "tencent-double"

    def __init__(self, *, sign_name: str = "二步验证门户", templates: Mapping[str, Template] | None = None) -> None:
        self.secret_id = "AKID" + secrets.token_hex(16)
        self.secret_key = secrets.token_urlsafe(24)
        self.app_id = "1400" + str(secrets.randbelow(10**6)).zfill(6)
        self.sign_name = sign_name
        self.templates: dict[str, Template] = dict(templates or DEFAULT_TEMPLATES)
        self.region = "ap-guangzhou"
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        super().__init__()

    def settings(self, purposes: Mapping[str, Mapping[str, str]] | None = None) -> dict[str, Any]:
        """Portal settings for SMS_PROVIDER=tencent pointed at this double."""
        return {"SMS_PROVIDER": "tencent", "TENCENT_SECRET_ID": self.secret_id, "TENCENT_SECRET_KEY": self.secret_key,
                "TENCENT_SMS_SDK_APP_ID": self.app_id, "TENCENT_SMS_SIGN_NAME": self.sign_name,
                "TENCENT_SMS_REGION": self.region, "TENCENT_SMS_ENDPOINT": self.base_url,
                "TENCENT_SMS_TEMPLATES": json.dumps(purposes or DEFAULT_PURPOSES),
                "TENCENT_SMS_INTERNATIONAL_TEMPLATES": json.dumps(INTERNATIONAL_PURPOSES), "TENCENT_SMS_TIMEOUT": 2}

    # -- what happened -----------------------------------------------------------------------------------------
    def inbox(self, to: str | None = None) -> list[Sms]:
        with self._lock:
            return [sms for sms in self._inbox if to is None or sms.to == to]

    def last_code(self, to: str) -> str:
        """The code ({1}) of the newest text to `to`."""
        texts = self.inbox(to)
        assert texts, f"no text was sent to {to}"
        return texts[-1].params[0]

    # -- serving -----------------------------------------------------------------------------------------------
    def serve(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply | None:
        """Answer one HTTP request (called by the handler thread); None closes the connection unanswered."""
        lowered = {name.lower(): value for name, value in headers.items()}
        record = Recorded(headers=lowered, body=None, answer="")
        with self._lock:
            self._requests.append(record)
        refusal = self._authenticate(method, target, lowered, body)
        if refusal is not None:
            return self._error(record, refusal)
        try:
            params = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return self._error(record, "InvalidParameter", violation="the body is not JSON")
        record.body = params if isinstance(params, dict) else None
        failure = self._take_failure()
        if failure is not None and failure.kind == "reset":
            record.answer = "reset"
            return None
        if failure is not None and failure.kind == "http":
            record.answer = f"http {failure.status}"
            return Reply(failure.status, raw=b"<html><body>Bad Gateway</body></html>", content_type="text/html")
        if failure is not None and failure.kind == "error":
            return self._error(record, failure.code or "InternalError")
        if failure is not None and failure.kind == "hang":
            record.answer = "hang"
            self._stopping.wait(failure.seconds)
        return self._send(record, params, failure.code if failure is not None else None)

    def _authenticate(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> str | None:
        """The Error code Tencent would answer before reading the body, or None."""
        if method != "POST" or target != "/":
            self._violate(f"{method} {target}: the SDK posts to /")
        if headers.get("content-type") != "application/json":
            self._violate(f"Content-Type {headers.get('content-type')!r}")
        if headers.get("x-tc-action") != ACTION:
            return "InvalidAction"
        if headers.get("x-tc-version") != VERSION:
            self._violate(f"X-TC-Version {headers.get('x-tc-version')!r}")
            return "InvalidParameter"
        if headers.get("x-tc-region") not in REGIONS:
            self._violate(f"X-TC-Region {headers.get('x-tc-region')!r}")
            return "InvalidParameter"
        stamp = headers.get("x-tc-timestamp", "")
        found = AUTHORIZATION.fullmatch(headers.get("authorization", ""))
        if not stamp.isdigit() or found is None:
            self._violate("no X-TC-Timestamp or a malformed Authorization")
            return "AuthFailure.InvalidAuthorization"
        secret_id, date, service, signed_list, signature = found.groups()
        signed = signed_list.split(";")
        if secret_id != self.secret_id:
            return self._auth_failure("AuthFailure.SecretIdNotFound", f"unknown SecretId {secret_id}")
        timestamp = int(stamp)
        if abs(self.clock().timestamp() - timestamp) > MAX_SKEW:
            return self._auth_failure("AuthFailure.SignatureExpire", f"timestamp {timestamp} is over 5 min off")
        if (service != SERVICE or date != datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d")
                or not {"content-type", "host"} <= set(signed) or signed != sorted(signed)):
            return self._auth_failure("AuthFailure.SignatureFailure", "credential scope or signed headers")
        expected = tc3_signature(self.secret_key, SERVICE, timestamp, headers, signed, body)
        if not hmac.compare_digest(expected, signature):
            return self._auth_failure("AuthFailure.SignatureFailure", "the signature does not match")
        return None

    def _send(self, record: Recorded, params: Any, scripted_code: str | None) -> Reply:
        problem = self._field_problem(params)
        if problem is not None:
            code, text = problem
            return self._error(record, code, violation=text)
        phones: list[str] = params["PhoneNumberSet"]
        domestic = {phone.startswith("+86") for phone in phones}
        if len(domestic) > 1:
            return self._error(record, "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber")
        if params["SmsSdkAppId"] != self.app_id:
            return self._error(record, "InvalidParameterValue.SdkAppIdNotExist")
        template = self.templates.get(params["TemplateId"])
        if template is None:
            return self._error(record, "FailedOperation.TemplateIncorrectOrUnapproved")
        if not template.international and domestic != {True}:
            return self._error(record, "UnsupportedOperation.ChineseMainlandTemplateToGlobalPhone")
        if template.international and domestic == {True}:
            return self._error(record, "UnsupportedOperation.GlobalTemplateToChineseMainlandPhone")
        if domestic == {True} and params.get("SignName") != self.sign_name:
            return self._error(record, "FailedOperation.SignatureIncorrectOrUnapproved")
        values: list[str] = params.get("TemplateParamSet") or []
        if len(values) != template.parameters:
            return self._error(record, "FailedOperation.TemplateParamSetNotMatchApprovedTemplate")
        if not all(re.fullmatch(r"[0-9]{0,6}", value) for value in values):
            return self._error(record, "InvalidParameterValue.TemplateParameterFormatError")
        context = params.get("SessionContext", "")
        if any(phone.lstrip("+") in context or phone[-8:] in context for phone in phones) or any(
                len(value) >= 4 and value in context for value in values):
            self._violate(f"SessionContext {context!r} carries the number or the code")
        statuses = []
        for phone in phones:
            code = scripted_code or "Ok"
            statuses.append({"SerialNo": f"2640:{secrets.randbelow(10**20)}" if code == "Ok" else "",
                             "PhoneNumber": phone, "Fee": 1 if code == "Ok" else 0, "SessionContext": context,
                             "Code": code, "Message": "send success" if code == "Ok" else MESSAGES.get(code, code),
                             "IsoCode": "CN" if phone.startswith("+86") else "DEF"})
            if code == "Ok":
                text = template.text
                for n, value in enumerate(values, start=1):
                    text = text.replace("{" + str(n) + "}", value)
                with self._lock:
                    self._inbox.append(Sms(phone, f"【{self.sign_name}】{text}", params["TemplateId"], tuple(values)))
        record.answer = statuses[0]["Code"] if len(statuses) == 1 else "many"
        record.request_id = str(uuid.uuid4())
        if scripted_code == EMPTY:  # a 200 that lists no number at all
            statuses = []
        return _json({"Response": {"SendStatusSet": statuses, "RequestId": record.request_id}})

    @staticmethod
    def _field_problem(params: Any) -> tuple[str, str] | None:
        """(Error code, what is wrong) for a body Tencent would refuse as malformed; None if it is well formed."""
        if not isinstance(params, dict):
            return "InvalidParameter", "the body is not a JSON object"
        unknown = set(params) - FIELDS
        if unknown:
            return "InvalidParameter", f"unknown fields {sorted(unknown)}"
        phones = params.get("PhoneNumberSet")
        if not isinstance(phones, list) or not 1 <= len(phones) <= 200 or not all(isinstance(p, str) for p in phones):
            return "InvalidParameter", f"PhoneNumberSet {phones!r}"
        if not all(E164.fullmatch(phone) for phone in phones):
            return "InvalidParameterValue.IncorrectPhoneNumber", f"not E.164: {phones!r}"
        for name in ("SmsSdkAppId", "TemplateId"):
            if not isinstance(params.get(name), str) or not params[name]:
                return "InvalidParameter", f"{name} {params.get(name)!r}"
        values = params.get("TemplateParamSet", [])
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            return "InvalidParameter", f"TemplateParamSet {values!r} (a list of strings)"
        for name in ("SignName", "SessionContext"):
            if name in params and not isinstance(params[name], str):
                return "InvalidParameter", f"{name} {params[name]!r}"
        if len(params.get("SessionContext", "").encode()) > 512:
            return "InvalidParameter", "SessionContext over 512 bytes"
        return None

    def _error(self, record: Recorded, code: str, *, violation: str | None = None) -> Reply:
        if violation is not None:
            self._violate(violation)
        record.answer = record.answer or code
        record.request_id = str(uuid.uuid4())
        return _json({"Response": {"Error": {"Code": code, "Message": MESSAGES.get(code, code)},
                                   "RequestId": record.request_id}})

    def _violate(self, text: str) -> None:
        with self._lock:
            self._violations.append(text)

    def _auth_failure(self, code: str, text: str) -> str:
        with self._lock:
            self._auth_failures.append(f"{code}: {text}")
        return code

    def _take_failure(self) -> ScriptedFailure | None:
        with self._lock:
            if not self._failures:
                return None
            failure = self._failures[0]
            failure.times -= 1
            if failure.times == 0:
                self._failures.pop(0)
            return failure


# Approved templates of the double's application: {1} is the code, {2} the minutes it stays valid. Mainland
# ones (21…) go to +86 numbers only, international ones (22…) to every other number only, as at Tencent.
SIGN_IN_ZH = "您的 2FA Portal 登录验证码是 {1}，{2} 分钟内有效。请勿告诉任何人。"
SIGN_IN_EN = "Your 2FA Portal sign-in code is {1}. It expires in {2} minutes. Never share it."
ENROLL_ZH = "您的 2FA Portal 手机验证码是 {1}，{2} 分钟内有效。请勿告诉任何人。"
ENROLL_EN = "Your 2FA Portal code to confirm this phone is {1}. It expires in {2} minutes. Never share it."
DEFAULT_TEMPLATES = {
    "2100001": Template(SIGN_IN_ZH, international=False), "2100002": Template(SIGN_IN_EN, international=False),
    "2100003": Template(ENROLL_ZH, international=False), "2100004": Template(ENROLL_EN, international=False),
    "2200001": Template(SIGN_IN_ZH, international=True), "2200002": Template(SIGN_IN_EN, international=True),
    "2200003": Template(ENROLL_ZH, international=True), "2200004": Template(ENROLL_EN, international=True),
}
DEFAULT_PURPOSES = {"sign_in": {"zh_Hans": "2100001", "en": "2100002"},
                    "enroll": {"zh_Hans": "2100003", "en": "2100004"}}
INTERNATIONAL_PURPOSES = {"sign_in": {"zh_Hans": "2200001", "en": "2200002"},
                          "enroll": {"zh_Hans": "2200003", "en": "2200004"}}
