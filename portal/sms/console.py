"""console: development only. The text goes to the server log and to /dev/sms, never to a phone."""

from __future__ import annotations

import fcntl
import json
import logging
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from portal.phone import mask
from portal.sms.local_provider import LocalCodeProvider

log = logging.getLogger("portal.sms.console")
OUTBOX_FILE = "sms-outbox.jsonl"
KEEP = 50


class ConsoleProvider(LocalCodeProvider):
    name = "console"

    def __init__(self, cfg: Mapping[str, Any], instance_path: Path) -> None:
        super().__init__(cfg["SMS_TEMPLATES"])
        self.outbox = Path(cfg["SMS_CONSOLE_OUTBOX"]) if cfg["SMS_CONSOLE_OUTBOX"] else instance_path / OUTBOX_FILE
        self._lock = threading.Lock()

    def deliver(self, phone: str, text: str) -> None:
        # Development only (refused in production): the code is in this line on purpose.
        log.warning("SMS to %s: %s", mask(phone), text)
        entry = {"to": phone, "text": text, "at": datetime.now(UTC).isoformat(timespec="seconds")}
        self.outbox.parent.mkdir(parents=True, exist_ok=True)
        # Several gunicorn workers write here: an exclusive lock on the file itself (a thread lock guards only
        # one process), then read, trim to KEEP and rewrite in place, so no worker's text is lost.
        with self._lock, self.outbox.open("a+", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.seek(0)
            kept = [line for line in handle.read().splitlines() if line.strip()][-(KEEP - 1):]
            handle.seek(0)
            handle.truncate()
            handle.write("\n".join([*kept, json.dumps(entry, ensure_ascii=False)]) + "\n")

    def read_lines(self) -> list[str]:
        try:
            return [line for line in self.outbox.read_text(encoding="utf-8").splitlines() if line.strip()]
        except FileNotFoundError:
            return []

    def recent(self) -> list[dict[str, str]]:
        """The newest texts first."""
        out = []
        for line in reversed(self.read_lines()):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return out
