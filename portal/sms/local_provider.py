"""Providers that generate the code themselves and only need a way to deliver a text."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from portal.factors.base import Verdict
from portal.sms import local_codes, texts
from portal.sms.base import Message


class LocalCodeProvider:
    """Draw a code, deliver its text, then store its keyed hash (replacing the previous code).

    If delivery fails nothing is stored and the previous code stays as it was.
    """

    name = "local"

    def __init__(self, templates: Mapping[str, Mapping[str, str]]) -> None:
        self.templates = templates

    def deliver(self, phone: str, text: str) -> None:
        """Send text to phone (E.164); raise SmsError on failure. Providers that write the text implement this."""
        raise NotImplementedError

    def deliver_code(self, message: Message, code: str) -> None:
        """Get code to message.phone: our text (SMS_TEMPLATES) by default; a provider with its own templates
        (Tencent's approved ones) overrides this instead."""
        self.deliver(message.phone, texts.render(self.templates, message, code))

    def send_code(self, message: Message, *, now: datetime) -> None:
        code = local_codes.new_code()
        self.deliver_code(message, code)
        local_codes.store(message, code, now)

    def check_code(self, message: Message, code: str, *, now: datetime) -> Verdict:
        return local_codes.check(message, code, now)
