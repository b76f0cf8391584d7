"""twilio_messaging: we generate the code; Twilio Programmable Messaging delivers the text."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from twilio.base.exceptions import TwilioException
from twilio.rest import Client

from portal.sms.local_provider import LocalCodeProvider
from portal.sms.twilio_errors import twilio_fault


class TwilioMessagingProvider(LocalCodeProvider):
    name = "twilio_messaging"

    def __init__(self, client: Client, cfg: Mapping[str, Any]) -> None:
        super().__init__(cfg["SMS_TEMPLATES"])
        self.client = client
        self.account_sid = cfg["TWILIO_ACCOUNT_SID"]
        # A messaging service picks the sender per country; a single From number is the fallback.
        self.sender = ({"messaging_service_sid": cfg["TWILIO_MESSAGING_SERVICE_SID"]}
                       if cfg["TWILIO_MESSAGING_SERVICE_SID"] else {"from_": cfg["TWILIO_FROM_NUMBER"]})

    def deliver(self, phone: str, text: str) -> None:
        try:
            self.client.api.v2010.accounts(self.account_sid).messages.create(to=phone, body=text, **self.sender)
        except (TwilioException, OSError) as exc:
            raise twilio_fault(exc, operation="messages.create") from None
