"""pytest fixtures for the Twilio double (registered by tests/conftest.py through pytest_plugins).

twilio: one double for the whole run, emptied before each test; after each test it must have seen no
request that Twilio's spec would refuse. sms_provider: the SMS_PROVIDER a test module runs with
(parametrize it); sms_settings: the portal settings that point that provider at the double.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.twilio_double.server import TwilioDouble

PROVIDERS = ("twilio_verify", "twilio_messaging", "console")


@pytest.fixture(scope="session")
def twilio_server() -> Iterator[TwilioDouble]:
    with TwilioDouble() as double:
        yield double


@pytest.fixture
def twilio(twilio_server: TwilioDouble) -> Iterator[TwilioDouble]:
    twilio_server.reset()
    yield twilio_server
    violations = list(twilio_server.violations)
    twilio_server.reset()
    assert violations == [], f"requests Twilio's OpenAPI spec would refuse: {violations}"


@pytest.fixture
def sms_provider() -> str:
    """The provider under test; a module parametrizes this fixture to run over several."""
    return "twilio_verify"


@pytest.fixture
def sms_settings(sms_provider: str, twilio: TwilioDouble, tmp_path: Path) -> dict[str, Any]:
    """Settings that make the app send its texts through sms_provider (Twilio ones: the double).

    The console provider writes to a file of this test's own (read it with console_texts()).
    """
    if sms_provider == "console":
        return {"SMS_PROVIDER": "console", "SMS_CONSOLE_OUTBOX": str(tmp_path / "sms-outbox.jsonl")}
    return {"SMS_PROVIDER": sms_provider, **twilio.settings()}


def console_texts(settings: dict[str, Any]) -> list[dict[str, str]]:
    """What the console provider "sent" with these settings, oldest first: {"to", "text", "at"}."""
    path = Path(settings["SMS_CONSOLE_OUTBOX"])
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
