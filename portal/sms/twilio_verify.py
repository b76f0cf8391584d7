"""twilio_verify: Twilio Verify v2 generates, sends and checks the code; we keep no code, only its binding.

Twilio knows only the phone. A row in sms_codes (a keyed hash of user, purpose and phone, no code) binds
the pending verification to the user and purpose it was sent for, and makes a success single use, as
for the codes we generate ourselves; Twilio counts the checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from portal.factors.base import Reason, Verdict
from portal.sms import local_codes
from portal.sms.base import Message
from portal.sms.twilio_errors import twilio_fault

# Our languages → Verify's locales (https://www.twilio.com/docs/verify/supported-languages).
LOCALES = {"en": "en", "zh_Hans": "zh-CN"}
NOT_FOUND = 20404  # no pending verification: expired, approved already, or never sent
MAX_CHECKS = 60202  # the verification's 5 checks are used up
VERIFICATION_TTL = timedelta(minutes=10)  # Twilio's own lifetime of a verification
BINDING = ""  # the "code" of the binding row: the row stands for (user, purpose, phone) only


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
        local_codes.store(message, BINDING, now, ttl=VERIFICATION_TTL)

    def check_code(self, message: Message, code: str, *, now: datetime) -> Verdict:
        # Security: without a live binding for this user, purpose and phone, Twilio is not even asked:
        # a code texted to a shared phone for another account, or to confirm a number, signs nobody in.
        found = local_codes.live_code(message, now)  # Twilio counts the checks (5 per verification)
        if isinstance(found, Verdict):
            return found
        row_id, stored = found
        if not local_codes.matches(message, BINDING, stored):  # the last code went to another number
            return Verdict(ok=False, reason=Reason.EXPIRED)
        try:
            check = self.service.verification_checks.create(to=message.phone, code=code)
        except TwilioRestException as exc:
            if exc.code == NOT_FOUND:
                return Verdict(ok=False, reason=Reason.EXPIRED)
            if exc.code == MAX_CHECKS:  # Twilio has cancelled the verification: the next send starts anew
                return Verdict(ok=False, reason=Reason.THROTTLED)
            raise twilio_fault(exc, operation="verification_checks.create") from None
        except (TwilioException, OSError) as exc:
            raise twilio_fault(exc, operation="verification_checks.create") from None
        if check.status != "approved":
            return Verdict(ok=False, reason=Reason.INVALID)
        return local_codes.consume(row_id, stored, now)
