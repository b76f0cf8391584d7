"""What the browser fixtures record."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConsoleError:
    """A console message of type "error" (CSP violations, failed loads) or an uncaught page error."""

    text: str
    url: str

    def __str__(self) -> str:
        return f"{self.text} [{self.url}]"
