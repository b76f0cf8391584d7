"""tencent: we generate the code; Tencent Cloud SMS (SendSms, API 2021-01-11) texts it with an approved template.

Mainland China's carriers only deliver texts made from templates the operator had approved in the Tencent
Cloud console, under an approved signature (签名). So the portal does not write the text: it sends the
template's id for the purpose and language with two parameters, {1} the code and {2} the minutes it stays
valid. Tencent keeps mainland templates (for +86 numbers: TENCENT_SMS_TEMPLATES) apart from international
ones (every other number: TENCENT_SMS_INTERNATIONAL_TEMPLATES) and refuses either for the other kind of
number, so the number's region picks the set and the language picks within it. Codes are generated,
hashed and checked as for twilio_messaging (local_codes). Through the official SDK
(tencentcloud-sdk-python-sms): it signs each request with TC3-HMAC-SHA256.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from tencentcloud.common.credential import Credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import models
from tencentcloud.sms.v20210111.sms_client import SmsClient

from portal.sms.base import Fault, Message, SmsError
from portal.sms.local_provider import LocalCodeProvider

log = logging.getLogger("portal.sms")

OK = "Ok"
MAINLAND = "+86"
# Tencent's error codes (https://cloud.tencent.com/document/api/382/55981) → (fault, worth retrying later).
# Only these concern the number or the moment; any other code is about our account or settings (a refused
# signature, an unapproved template, an account-wide quota, no balance): UNAVAILABLE, logged as an error.
CODES: dict[str, tuple[Fault, bool]] = {
    "LimitExceeded.PhoneNumberThirtySecondLimit": (Fault.BUSY, True),
    "LimitExceeded.PhoneNumberOneHourLimit": (Fault.TOO_MANY_SENDS, True),
    "LimitExceeded.PhoneNumberDailyLimit": (Fault.TOO_MANY_SENDS, True),
    "LimitExceeded.PhoneNumberSameContentDailyLimit": (Fault.TOO_MANY_SENDS, True),
    "InvalidParameterValue.IncorrectPhoneNumber": (Fault.UNREACHABLE_NUMBER, False),
    "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber": (Fault.UNREACHABLE_NUMBER, False),
    "UnsupportedOperation.UnsupportedRegion": (Fault.UNREACHABLE_NUMBER, False),
    "LimitExceeded.AppCountryOrRegionInBlacklist": (Fault.UNREACHABLE_NUMBER, False),  # a country not enabled
    "FailedOperation.PhoneNumberInBlacklist": (Fault.OPTED_OUT, False),
    "FailedOperation.PhoneNumberParseFail": (Fault.UNREACHABLE_NUMBER, False),
    # The SDK's own codes for what never became a Tencent answer: no connection, a timeout, a 5xx, garbage.
    "ClientNetworkError": (Fault.UNAVAILABLE, True),
    "ServerNetworkError": (Fault.UNAVAILABLE, True),
    "JSONDecodeError": (Fault.UNAVAILABLE, True),
    "KeyError": (Fault.UNAVAILABLE, True),
    # Ours: a number abroad and no TENCENT_SMS_INTERNATIONAL_TEMPLATES, so Tencent is not even asked.
    "NoInternationalTemplate": (Fault.UNREACHABLE_NUMBER, False),
}
PREFIXES: tuple[tuple[str, tuple[Fault, bool]], ...] = (
    ("RequestLimitExceeded", (Fault.BUSY, True)),  # our API key's own request rate
    ("InternalError", (Fault.UNAVAILABLE, True)),
)
NO_TEMPLATE = "NoInternationalTemplate"
_UNSAFE = re.compile(r"[^A-Za-z0-9._:-]")


def tencent_fault(code: str, request_id: str | None) -> SmsError:
    """An SmsError for Tencent's (or the SDK's, or our) code, and one log line: the code and RequestId, never
    the secret key, the phone number, the SMS code or Tencent's message (which may echo the request).

    A fault of our own account or settings, which fails every send until someone acts, is logged as an error.
    """
    fault, retryable = CODES.get(code) or next(
        (verdict for prefix, verdict in PREFIXES if code.startswith(prefix)), (Fault.UNAVAILABLE, False))
    ours = fault is Fault.UNAVAILABLE and not retryable
    # Both come from the other side of the wire: no line breaks or other surprises reach the log.
    safe_code, safe_id = _UNSAFE.sub("?", code)[:120], _UNSAFE.sub("?", request_id)[:64] if request_id else None
    log.log(logging.ERROR if ours else logging.WARNING, "tencent SendSms failed: fault=%s tencent_code=%s "
            "request_id=%s", fault, safe_code, safe_id)
    return SmsError(fault, retryable=retryable, provider_code=safe_code)


def make_client(cfg: Mapping[str, Any]) -> SmsClient:
    """The SDK's client for TENCENT_SMS_ENDPOINT (an origin: its scheme picks http or https), no retries."""
    origin = urlsplit(cfg["TENCENT_SMS_ENDPOINT"])
    # protocol must go to the constructor: the SDK copies it once; the endpoint is host[:port] without scheme.
    http = HttpProfile(protocol=origin.scheme, endpoint=origin.netloc, reqMethod="POST",
                       reqTimeout=cfg["TENCENT_SMS_TIMEOUT"])
    profile = ClientProfile(httpProfile=http, language="en-US")  # Tencent's messages, if ever read, in English
    credential = Credential(cfg["TENCENT_SECRET_ID"], cfg["TENCENT_SECRET_KEY"])
    return SmsClient(credential, cfg["TENCENT_SMS_REGION"], profile)


class TencentSmsProvider(LocalCodeProvider):
    name = "tencent"

    def __init__(self, cfg: Mapping[str, Any]) -> None:
        super().__init__(cfg["SMS_TEMPLATES"])
        self.mainland: Mapping[str, Mapping[str, str]] = cfg["TENCENT_SMS_TEMPLATES"]
        self.international: Mapping[str, Mapping[str, str]] | None = cfg["TENCENT_SMS_INTERNATIONAL_TEMPLATES"]
        self.app_id = cfg["TENCENT_SMS_SDK_APP_ID"]
        self.sign_name = cfg["TENCENT_SMS_SIGN_NAME"]
        self.minutes = str(max(1, cfg["SMS_CODE_TTL"] // 60))
        self.client = make_client(cfg)

    def template_id(self, message: Message) -> str | None:
        """The purpose's template for the number's region, in the message's language, else Chinese, else
        English, else any; None for a number abroad when no international templates are set."""
        templates = self.mainland if message.phone.startswith(MAINLAND) else self.international
        if templates is None:
            return None
        ids = templates[str(message.purpose)]
        for language in (message.language, "zh_Hans", "en"):
            if language in ids:
                return ids[language]
        return next(iter(ids.values()))

    def deliver_code(self, message: Message, code: str) -> None:
        template = self.template_id(message)
        if template is None:  # Tencent would refuse a mainland template for this number: do not ask
            raise tencent_fault(NO_TEMPLATE, None)
        request = models.SendSmsRequest()
        request.PhoneNumberSet = [message.phone]
        request.SmsSdkAppId = self.app_id
        request.SignName = self.sign_name
        request.TemplateId = template
        request.TemplateParamSet = [code, self.minutes]
        request.SessionContext = str(message.purpose)  # Tencent echoes and keeps it: nothing personal
        try:
            response = self.client.SendSms(request)
        except TencentCloudSDKException as exc:
            raise tencent_fault(exc.get_code() or "Unknown", exc.get_request_id()) from None
        # A 200 answer says per number whether it was sent; only "Ok" for ours is a success.
        statuses = [s for s in response.SendStatusSet or [] if s.PhoneNumber == message.phone]
        if len(statuses) != 1 or statuses[0].Code != OK:
            raise tencent_fault(statuses[0].Code if statuses else "NoSendStatus", response.RequestId)
