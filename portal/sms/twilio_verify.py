"""twilio_verify: Twilio Verify v2 generates, sends and checks the code; we store nothing of it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from portal.sms.base import Message
from portal.sms.twilio_errors import twilio_fault
from portal.twofactor.methods.base import OK, Reason, Verdict

# Our languages → Verify's locales (https://www.twilio.com/docs/verify/supported-languages).
LOCALES = {"en": "en", "zh_Hans": "zh-CN"}
NOT_FOUND = 20404  # no pending verification: expired, approved already, or never sent


class TwilioVerifyProvider:
    name = "twilio_verify"

    def __init__(self, client: Client, cfg: Mapping[str, Any]) -> None:
        self.service = client.verify.v2.services(cfg["TWILIO_VERIFY_SERVICE_SID"])

    def send_code(self, message: Message, *, now: datetime) -> None:
        # Security: RiskCheck is left at Twilio's default (enabled): never send RiskCheck=disable.
        try:
            self.service.verifications.create(to=message.phone, channel="sms",
                                              locale=LOCALES.get(message.language, "en"))
        except (TwilioException, OSError) as exc:
            raise twilio_fault(exc, operation="verifications.create") from None

    def check_code(self, message: Message, code: str, *, now: datetime) -> Verdict:
        try:
            check = self.service.verification_checks.create(to=message.phone, code=code)
        except TwilioRestException as exc:
            if exc.code == NOT_FOUND:
                return Verdict(ok=False, reason=Reason.EXPIRED)
            raise twilio_fault(exc, operation="verification_checks.create") from None
        except (TwilioException, OSError) as exc:
            raise twilio_fault(exc, operation="verification_checks.create") from None
        return OK if check.status == "approved" else Verdict(ok=False, reason=Reason.INVALID)
