"""What the browser fixtures record, and the translations the browser tests expect to see."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

ZH_PO = Path(__file__).resolve().parents[2] / "portal/translations/zh_Hans/LC_MESSAGES/messages.po"


@cache
def zh(msgid: str) -> str:
    """The Simplified Chinese translation of msgid, read from the catalogue the app uses."""
    with ZH_PO.open("rb") as f:
        catalog = read_po(f)
    message = catalog.get(msgid)
    assert message is not None and message.string, f"no zh_Hans translation for {msgid!r}"
    return str(message.string)


@dataclass(frozen=True)
class ConsoleError:
    """A console message of type "error" (CSP violations, failed loads) or an uncaught page error."""

    text: str
    url: str

    def __str__(self) -> str:
        return f"{self.text} [{self.url}]"
