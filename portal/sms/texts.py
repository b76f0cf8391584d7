"""The text of a code message, from SMS_TEMPLATES by purpose and language (for codes we generate)."""

from __future__ import annotations

from collections.abc import Mapping

from portal.sms.base import Message

PLACEHOLDER = "{{code}}"


def render(templates: Mapping[str, Mapping[str, str]], message: Message, code: str) -> str:
    """The purpose's text in the message's language, else its English, else the generic text."""
    for purpose in (str(message.purpose), "generic"):
        texts = templates.get(purpose, {})
        for language in (message.language, "en"):
            if language in texts:
                return texts[language].replace(PLACEHOLDER, code)
    raise LookupError("SMS_TEMPLATES has no generic.en text")  # start-up checks make this unreachable
