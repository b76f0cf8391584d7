"""A loopback Twilio for tests: Verify v2 and Programmable Messaging over real HTTP.

The real twilio SDK talks to it (portal.sms.twilio_client.make_client with TWILIO_BASE_URL=double.base_url).
Every request is checked against Twilio's official OpenAPI documents (tests/twilio_double/spec.py) and the
house rules; what Twilio would refuse is answered the way Twilio answers and recorded in `violations`, which
tests assert to be empty. Every JSON answer the double gives is checked against the same documents (an error
against Twilio's error body): a mismatch is recorded as a "double bug" violation. Only a scripted
kind="http" failure, a non-Twilio page from something in front of Twilio, is left unchecked.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http import HTTPStatus
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from tests.loopback_double import LoopbackDouble, Reply
from tests.twilio_double.errors import ERRORS, error_payload
from tests.twilio_double.spec import E164, EMAIL, Operation, Problem, Spec, load_spec

VERIFICATION_TTL = timedelta(minutes=10)  # Twilio: a verification expires 10 minutes after it is created
MAX_SENDS = 5  # sends per pending verification; the 6th answers 60203
MAX_CHECKS = 5  # wrong codes per verification; the next check answers 60202
MAX_BODY = 1600
CODE = re.compile(r"(?<!\d)\d{6}(?!\d)")
GSM_BASIC = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM_EXTENDED = set("^{}\\[~]|€\f")
FailureKind = Literal["twilio", "http", "hang", "reset"]


def new_sid(prefix: str) -> str:
    """A Twilio-looking SID: two letters and 32 hex digits."""
    return prefix + secrets.token_hex(16)


def utcnow() -> datetime:
    """The real clock (aware UTC)."""
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """Verify's date format: 2015-07-30T20:00:00Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc2822(moment: datetime) -> str:
    """API 2010's date format: Thu, 30 Jul 2015 20:12:31 +0000."""
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0))


def segments(body: str) -> int:
    """SMS segments Twilio bills for body: GSM-7 160/153, else UCS-2 70/67."""
    if set(body) <= GSM_BASIC | GSM_EXTENDED:
        units, single, multi = sum(2 if c in GSM_EXTENDED else 1 for c in body), 160, 153
    else:
        units, single, multi = len(body.encode("utf-16-le")) // 2, 70, 67
    return 1 if units <= single else math.ceil(units / multi)


@dataclass(frozen=True)
class Sms:
    """A text the double delivered; sid is the Message SID, or the Verification SID for Verify texts."""

    to: str
    body: str
    sid: str
    at: datetime
    via: Literal["verify", "messaging"]


@dataclass
class Recorded:
    """One request as it arrived, and how the double answered (status None: no answer, e.g. reset)."""

    method: str
    path: str
    form: dict[str, list[str]]
    auth_user: str | None
    status: int | None = None
    violations: list[str] = field(default_factory=list)
    query: dict[str, list[str]] = field(default_factory=dict)
    operation: str | None = None
    scripted: str | None = None
    at: datetime | None = None


@dataclass
class ScriptedFailure:
    """A failure the next matching request(s) get instead of the normal answer.

    kind "twilio": Twilio JSON error `code` (status/message default to Twilio's own for that code);
    "http": plain HTTP `status` (default 500) with `body` (default a small HTML page; "" for empty);
    "hang": wait `seconds`, then answer normally (a client with a shorter timeout gives up first);
    "reset": close the connection without a response. Matches requests whose path contains
    `path_contains` and whose method is `method` (None: any); used `times` times.
    """

    kind: FailureKind = "twilio"
    code: int | None = None
    status: int | None = None
    message: str | None = None
    body: str | None = None
    seconds: float = 2.0
    path_contains: str | None = None
    method: str | None = None
    times: int = 1

    def __post_init__(self) -> None:
        if self.kind not in ("twilio", "http", "hang", "reset"):
            raise ValueError(f"unknown failure kind {self.kind!r}")
        if self.kind == "twilio":
            if self.code is None:
                raise ValueError("a Twilio error needs its code")
            if self.status is None and self.code not in ERRORS:
                raise ValueError(f"no known HTTP status for Twilio error {self.code}: pass status=")
        if self.kind == "http" and not 400 <= (self.status or 500) <= 599:
            raise ValueError("an HTTP failure needs a 4xx/5xx status")
        if self.kind == "hang" and self.seconds <= 0:
            raise ValueError("hang needs seconds > 0")
        if self.times < 1:
            raise ValueError("times must be at least 1")

    def matches(self, method: str, path: str) -> bool:
        """Whether this failure applies to the request."""
        return ((self.method is None or self.method.upper() == method)
                and (self.path_contains is None or self.path_contains in path))


@dataclass
class _Verification:
    sid: str
    to: str
    channel: str
    code: str
    created: datetime
    updated: datetime
    locale: str | None
    friendly_name: str
    amount: str | None
    payee: str | None
    sends: list[dict[str, str]] = field(default_factory=list)
    checks: int = 0
    status: str = "pending"


def _html_error(status: int) -> bytes:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return (f"<html><head><title>{status} {phrase}</title></head>"
            f"<body><h1>{status} {phrase}</h1></body></html>").encode()


def _sms_text(name: str, code: str, locale: str | None, to: str) -> str:
    """Verify's default template, in Chinese for zh locales (or +86 numbers when no Locale is given)."""
    lang = (locale or ("zh-CN" if to.startswith("+86") else "en")).lower()
    if lang in ("zh-hk", "zh-tw", "zh-hant"):
        return f"您的{name}驗證碼是：{code}"
    if lang.startswith("zh"):
        return f"您的{name}验证码是：{code}"
    return f"Your {name} verification code is: {code}"


class TwilioDouble(LoopbackDouble[Sms, Recorded, ScriptedFailure]):
    """Twilio's REST API on 127.0.0.1 for the duration of a `with` block."""

    name = "twilio-double"

    def __init__(self, account_sid: str | None = None, auth_token: str | None = None,
                 api_keys: Mapping[str, str] | None = None, verify_service_sid: str | None = None,
                 messaging_service_sid: str | None = None, from_number: str = "+15005550006",
                 friendly_name: str = "Portal", clock: Callable[[], datetime] | None = None,
                 spec: Spec | None = None) -> None:
        self.account_sid = account_sid or new_sid("AC")
        self.auth_token = auth_token or secrets.token_hex(16)
        self.api_keys = dict(api_keys) if api_keys is not None else {new_sid("SK"): secrets.token_urlsafe(24)}
        self.verify_service_sid = verify_service_sid or new_sid("VA")
        self.messaging_service_sid = messaging_service_sid or new_sid("MG")
        self.from_number = from_number
        self.friendly_name = friendly_name
        self.clock: Callable[[], datetime] = clock or utcnow
        self.spec = spec or load_spec()
        super().__init__()
        self._verifications: dict[str, _Verification] = {}
        self._messages: dict[str, dict[str, Any]] = {}

    def response_headers(self) -> dict[str, str]:
        return {"Twilio-Request-Id": new_sid("RQ")}

    def settings(self, api_key: bool = False) -> dict[str, str]:
        """Portal settings pointing at the double (auth token auth; api_key=True: its first API key)."""
        key_sid, key_secret = next(iter(self.api_keys.items())) if api_key else ("", "")
        return {"TWILIO_BASE_URL": self.base_url, "TWILIO_ACCOUNT_SID": self.account_sid,
                "TWILIO_AUTH_TOKEN": self.auth_token, "TWILIO_VERIFY_SERVICE_SID": self.verify_service_sid,
                "TWILIO_MESSAGING_SERVICE_SID": self.messaging_service_sid,
                "TWILIO_API_KEY_SID": key_sid, "TWILIO_API_KEY_SECRET": key_secret}

    # -- what tests look at -------------------------------------------------------------------------------

    def inbox(self, to: str) -> list[Sms]:
        """Texts delivered to `to`, oldest first."""
        with self._lock:
            return [sms for sms in self._inbox if sms.to == to]

    def last_code(self, to: str) -> str:
        """The 6-digit code in the newest text to `to`."""
        texts = self.inbox(to)
        if not texts:
            raise AssertionError(f"no text was sent to {to}")
        codes = set(CODE.findall(texts[-1].body))
        if len(codes) != 1:
            raise AssertionError(f"expected one 6-digit code in the last text to {to}: {texts[-1].body!r}")
        return codes.pop()

    def _forget(self) -> None:
        self._verifications.clear()
        self._messages.clear()

    # -- one request --------------------------------------------------------------------------------------

    def serve(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply | None:
        """Answer one HTTP request (None: drop the connection without an answer)."""
        split = urlsplit(target)
        path = split.path
        query = parse_qs(split.query, keep_blank_values=True)
        try:
            form = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
            bad_body = None
        except (UnicodeDecodeError, ValueError) as exc:
            form, bad_body = {}, f"body is not valid UTF-8 form data ({exc.__class__.__name__})"
        user, password = _basic_auth(headers.get("Authorization"))
        record = Recorded(method, path, form, user, query=query, at=self.clock())
        with self._lock:
            self._requests.append(record)
            op, reply, failure = self._admit(record, headers, body, bad_body, password)
            if reply is not None:
                return self._finish(record, op, reply)
        assert op is not None
        if failure is not None and failure.kind == "reset":
            return None
        if failure is not None and failure.kind == "hang" and self._stopping.wait(failure.seconds):
            return None  # shutting down: give up on the hanging request
        with self._lock:
            return self._finish(record, op, self._process(op, record))

    def _admit(self, record: Recorded, headers: Mapping[str, str], body: bytes, bad_body: str | None,
               password: str | None) -> tuple[Operation | None, Reply | None, ScriptedFailure | None]:
        """Route, authenticate and validate; pick a scripted failure. A Reply means: answer this now."""
        method, path = record.method, record.path
        op, params, allowed = self.spec.route(method, path)
        if op is None:
            if allowed:
                self._violate(record, f"{method} {path}: method not allowed (the spec has {', '.join(allowed)})")
                return None, Reply(405, error_payload(20004)), None
            self._violate(record, f"{method} {path}: no such path in Twilio's API")
            return None, Reply(404, error_payload(20404, path=path)), None
        record.operation = op.operation_id
        if record.auth_user is None:
            self._violate(record, f"{method} {path}: no HTTP Basic credentials")
            return op, Reply(401, error_payload(20003)), None
        if not self._credentials_ok(record.auth_user, password):
            with self._lock:
                self._auth_failures.append(f"{method} {path}: wrong credentials for {record.auth_user}")
            return op, Reply(401, error_payload(20003)), None
        problems = self.spec.check_request(op, params, record.query, record.form,
                                           headers.get("Content-Type"), body)
        if bad_body:
            problems.append(Problem(None, "body", bad_body))
        problems += self._house_rules(op, params, record.form)
        if problems:
            for problem in problems:
                self._violate(record, f"{method} {path}: {problem.detail}")
            specific = next((p for p in problems if p.code or p.kind in ("path", "account", "service")), None)
            return op, self._refusal(op, path, specific or problems[0], record.form), None
        failure = self._take_failure(method, path)
        if failure is None:
            return op, None, None
        record.scripted = failure.kind
        if failure.kind == "twilio":
            assert failure.code is not None
            payload = error_payload(failure.code, failure.status, failure.message, path=path,
                                    to=_one(record.form, "To") or "", param="To")
            return op, Reply(payload["status"], payload), failure
        if failure.kind == "http":
            status = failure.status or 500
            raw = _html_error(status) if failure.body is None else failure.body.encode()
            return op, Reply(status, raw=raw, content_type="text/html; charset=utf-8"), failure
        return op, None, failure

    def _finish(self, record: Recorded, op: Operation | None, reply: Reply) -> Reply:
        """Record the status; check every JSON answer (also errors, 404/405 and scripted ones) against the spec."""
        record.status = reply.status
        if reply.raw is None:
            for problem in self.spec.check_response(op, reply.status, reply.payload):
                self._violations.append(f"double bug: {problem}")
        return reply

    def _violate(self, record: Recorded, text: str) -> None:
        record.violations.append(text)
        self._violations.append(text)

    def _credentials_ok(self, user: str, password: str | None) -> bool:
        if user == self.account_sid:
            return secrets.compare_digest(password or "", self.auth_token)
        return user in self.api_keys and secrets.compare_digest(password or "", self.api_keys[user])

    def _take_failure(self, method: str, path: str) -> ScriptedFailure | None:
        for index, failure in enumerate(self._failures):
            if failure.matches(method, path):
                failure.times -= 1
                if failure.times == 0:
                    del self._failures[index]
                return failure
        return None

    # -- house rules: what Twilio refuses beyond the schema, and what the portal must never do ----------

    def _house_rules(self, op: Operation, params: dict[str, str], form: dict[str, list[str]]) -> list[Problem]:
        problems: list[Problem] = []
        if "AccountSid" in params and params["AccountSid"] != self.account_sid:
            problems.append(Problem("AccountSid", "account", f"AccountSid {params['AccountSid']} is not the "
                                                               f"account {self.account_sid}"))
        if "ServiceSid" in params and params["ServiceSid"] != self.verify_service_sid:
            problems.append(Problem("ServiceSid", "service", f"ServiceSid {params['ServiceSid']} is not the "
                                                               f"Verify service {self.verify_service_sid}"))
        if _one(form, "RiskCheck") == "disable":
            problems.append(Problem("RiskCheck", "house", "RiskCheck=disable turns off Twilio's fraud "
                                                            "protection (forbidden by the house rules)"))
        rules = {"CreateVerification": self._verification_rules, "CreateVerificationCheck": self._check_rules,
                 "CreateMessage": self._message_rules}.get(op.operation_id)
        return problems + (rules(form) if rules else [])

    @staticmethod
    def _verification_rules(form: dict[str, list[str]]) -> list[Problem]:
        to, channel = _one(form, "To") or "", _one(form, "Channel") or ""
        if not to:
            return []  # the spec check reports the missing field
        if channel == "email" and not EMAIL.match(to):
            return [Problem("To", "value", f"To={to!r} is not an email address (Channel=email)")]
        if channel in ("sms", "call", "whatsapp", "sna") and not E164.match(to):
            return [Problem("To", "value", f"To={to!r} is not E.164 (Channel={channel})")]
        return []

    @staticmethod
    def _check_rules(form: dict[str, list[str]]) -> list[Problem]:
        problems: list[Problem] = []
        code, to = _one(form, "Code"), _one(form, "To")
        if not code:
            problems.append(Problem("Code", "missing", "Code is missing (Twilio needs the code to check)"))
        elif not re.fullmatch(r"\S{4,10}", code):
            problems.append(Problem("Code", "value", f"Code={code!r} is not 4-10 characters"))
        if not to and not _one(form, "VerificationSid"):
            problems.append(Problem("To", "missing", "neither To nor VerificationSid is given"))
        elif to and not (E164.match(to) or EMAIL.match(to)):
            problems.append(Problem("To", "value", f"To={to!r} is neither E.164 nor an email address"))
        return problems

    def _message_rules(self, form: dict[str, list[str]]) -> list[Problem]:
        problems: list[Problem] = []
        to, sender, service = _one(form, "To"), _one(form, "From"), _one(form, "MessagingServiceSid")
        body = _one(form, "Body")
        if to and not E164.match(to):
            problems.append(Problem("To", "value", f"To={to!r} is not E.164", 21211))
        if not sender and not service:
            problems.append(Problem("From", "missing", "neither From nor MessagingServiceSid is given", 21603))
        if sender and sender != self.from_number:
            problems.append(Problem("From", "value", f"From={sender!r} is not the account's number "
                                                       f"{self.from_number}", 21606))
        if service and service != self.messaging_service_sid:
            problems.append(Problem("MessagingServiceSid", "value", f"MessagingServiceSid={service!r} is not "
                                    f"the account's service {self.messaging_service_sid}", 21705))
        if not body and not any(form.get("MediaUrl", [])) and not _one(form, "ContentSid"):
            problems.append(Problem("Body", "missing", "Body is empty (and no MediaUrl/ContentSid)", 21602))
        if body and len(body) > MAX_BODY:
            problems.append(Problem("Body", "value", f"Body is {len(body)} characters (max {MAX_BODY})", 21617))
        return problems

    def _refusal(self, op: Operation, path: str, problem: Problem, form: dict[str, list[str]]) -> Reply:
        """Twilio's answer to a request it would refuse."""
        if problem.kind in ("path", "account", "service"):
            return Reply(404, error_payload(20404, path=path))
        fill = {"path": path, "to": _one(form, "To") or "", "param": problem.field or "request",
                "sid": _one(form, "MessagingServiceSid") or ""}
        if op.product == "verify":
            code = 60200
        elif problem.code:
            code = problem.code
        elif problem.kind == "missing" and problem.field == "To":
            code = 21604
        else:
            code = 20001
        return Reply(ERRORS[code][0], error_payload(code, **fill))

    # -- the API's behaviour -----------------------------------------------------------------------------

    def _process(self, op: Operation, record: Recorded) -> Reply:
        handler = {
            "CreateVerification": self._create_verification, "CreateVerificationCheck": self._check_verification,
            "FetchVerification": self._fetch_verification, "UpdateVerification": self._update_verification,
            "CreateMessage": self._create_message, "FetchMessage": self._fetch_message,
            "ListMessage": self._list_messages, "UpdateMessage": self._update_message,
            "DeleteMessage": self._delete_message,
        }.get(op.operation_id)
        if handler is None:
            # A request Twilio would take, for a part of the API the double does not model: the test cannot
            # trust any answer, so it fails (a violation) and the client gets a plain "not implemented".
            self._violate(record, f"{record.method} {record.path}: {op.operation_id} is in Twilio's API but "
                                  "the double does not implement it")
            return Reply(501, error_payload(20500, 501, f"The Twilio double does not implement {op.operation_id}"))
        return handler(record)

    def _expire(self, now: datetime) -> None:
        for sid, verification in list(self._verifications.items()):
            if now - verification.created >= VERIFICATION_TTL:
                del self._verifications[sid]

    def _pending_for(self, to: str) -> _Verification | None:
        return next((v for v in self._verifications.values() if v.to == to), None)

    def _verification_json(self, v: _Verification) -> dict[str, Any]:
        return {
            "sid": v.sid, "service_sid": self.verify_service_sid, "account_sid": self.account_sid, "to": v.to,
            "channel": v.channel, "status": v.status, "valid": v.status == "approved",
            "date_created": iso(v.created), "date_updated": iso(v.updated), "lookup": {}, "amount": v.amount,
            "payee": v.payee, "send_code_attempts": list(v.sends), "sna": None,
            "url": f"https://verify.twilio.com/v2/Services/{self.verify_service_sid}/Verifications/{v.sid}",
        }

    def _create_verification(self, record: Recorded) -> Reply:
        form, now = record.form, self.clock()
        to, channel = _one(form, "To") or "", _one(form, "Channel") or ""
        if channel == "auto":
            channel = "sms"
        self._expire(now)
        verification = self._pending_for(to)
        if verification is not None and len(verification.sends) >= MAX_SENDS:
            return Reply(429, error_payload(60203))
        if verification is None:
            verification = _Verification(
                sid=new_sid("VE"), to=to, channel=channel,
                code=_one(form, "CustomCode") or f"{secrets.randbelow(10**6):06d}", created=now, updated=now,
                locale=_one(form, "Locale"), friendly_name=_one(form, "CustomFriendlyName") or self.friendly_name,
                amount=_one(form, "Amount"), payee=_one(form, "Payee"))
            self._verifications[verification.sid] = verification
        else:
            verification.channel, verification.updated = channel, now
            verification.locale = _one(form, "Locale") or verification.locale
        verification.sends.append({"attempt_sid": new_sid("VL"), "channel": channel.upper() if channel in (
            "sms", "email") else channel, "time": iso(now)})
        if channel == "sms":
            text = _sms_text(verification.friendly_name, verification.code, verification.locale, to)
            self._inbox.append(Sms(to, text, verification.sid, now, "verify"))
        return Reply(201, self._verification_json(verification))

    def _check_verification(self, record: Recorded) -> Reply:
        form, now = record.form, self.clock()
        self._expire(now)
        sid, to = _one(form, "VerificationSid"), _one(form, "To")
        verification = self._verifications.get(sid) if sid else self._pending_for(to or "")
        if verification is None or (to and verification.to != to):
            return Reply(404, error_payload(20404, path=record.path))
        if verification.checks >= MAX_CHECKS:
            del self._verifications[verification.sid]  # Twilio deletes it once max check attempts are reached
            return Reply(429, error_payload(60202))
        verification.checks += 1
        verification.updated = now
        if secrets.compare_digest(_one(form, "Code") or "", verification.code):
            verification.status = "approved"
            del self._verifications[verification.sid]  # approved verifications are deleted
        body = {key: value for key, value in self._verification_json(verification).items()
                if key not in ("lookup", "send_code_attempts", "sna", "url")}
        return Reply(200, {**body, "sna_attempts_error_codes": []})

    def _fetch_verification(self, record: Recorded) -> Reply:
        self._expire(self.clock())
        verification = self._verifications.get(record.path.rsplit("/", 1)[1])
        if verification is None:
            return Reply(404, error_payload(20404, path=record.path))
        return Reply(200, self._verification_json(verification))

    def _update_verification(self, record: Recorded) -> Reply:
        self._expire(self.clock())
        verification = self._verifications.pop(record.path.rsplit("/", 1)[1], None)
        if verification is None:
            return Reply(404, error_payload(20404, path=record.path))
        verification.status, verification.updated = _one(record.form, "Status") or "canceled", self.clock()
        return Reply(200, self._verification_json(verification))

    def _create_message(self, record: Recorded) -> Reply:
        form, now = record.form, self.clock()
        to, body = _one(form, "To") or "", _one(form, "Body") or ""
        sender, service = _one(form, "From"), _one(form, "MessagingServiceSid")
        sid = new_sid("SM")
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json"
        message = {
            "account_sid": self.account_sid, "api_version": "2010-04-01", "body": body,
            "date_created": rfc2822(now), "date_sent": None, "date_updated": rfc2822(now),
            "direction": "outbound-api", "error_code": None, "error_message": None, "from": sender,
            "messaging_service_sid": service, "num_media": str(len(form.get("MediaUrl", []))),
            "num_segments": str(segments(body)), "price": None, "price_unit": "USD", "sid": sid,
            "status": "accepted" if service and not sender else "queued",
            "subresource_uris": {"media": uri.removesuffix(".json") + "/Media.json"}, "to": to, "uri": uri,
        }
        self._messages[sid] = message
        self._inbox.append(Sms(to, body, sid, now, "messaging"))
        return Reply(201, message)

    def _message_for(self, record: Recorded) -> dict[str, Any] | None:
        return self._messages.get(record.path.rsplit("/", 1)[1].removesuffix(".json"))

    def _delivered(self, message: dict[str, Any]) -> dict[str, Any]:
        """Texts reach the handset at once: later fetches see them delivered, from the sending number."""
        if message["status"] in ("queued", "accepted"):
            message.update(status="delivered", date_sent=message["date_created"],
                           **{"from": message["from"] or self.from_number})
        return message

    def _fetch_message(self, record: Recorded) -> Reply:
        message = self._message_for(record)
        if message is None:
            return Reply(404, error_payload(20404, path=record.path))
        return Reply(200, self._delivered(message))

    def _list_messages(self, record: Recorded) -> Reply:
        to, sender = _one(record.query, "To"), _one(record.query, "From")
        size = int(_one(record.query, "PageSize") or 50)
        found = [self._delivered(m) for m in reversed(self._messages.values())
                 if (not to or m["to"] == to) and (not sender or m["from"] == sender)][:size]
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json?PageSize={size}&Page=0"
        return Reply(200, {"messages": found, "end": max(len(found) - 1, 0), "first_page_uri": uri,
                           "next_page_uri": None, "page": 0, "page_size": size, "previous_page_uri": None,
                           "start": 0, "uri": uri})

    def _update_message(self, record: Recorded) -> Reply:
        message = self._message_for(record)
        if message is None:
            return Reply(404, error_payload(20404, path=record.path))
        if "Body" in record.form:
            message["body"] = _one(record.form, "Body") or ""
        if _one(record.form, "Status") == "canceled":
            message["status"] = "canceled"
        message["date_updated"] = rfc2822(self.clock())
        return Reply(200, message)

    def _delete_message(self, record: Recorded) -> Reply:
        message = self._message_for(record)
        if message is None:
            return Reply(404, error_payload(20404, path=record.path))
        del self._messages[message["sid"]]
        return Reply(204)


def _one(values: Mapping[str, list[str]], name: str) -> str | None:
    found = values.get(name)
    return found[0] if found else None


def _basic_auth(header: str | None) -> tuple[str | None, str | None]:
    """(user, password) from an HTTP Basic Authorization header, or (None, None)."""
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        user, sep, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    return (user, password) if sep else (None, None)
