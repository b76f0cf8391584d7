"""pytest fixtures for the Twilio double (registered by tests/conftest.py through pytest_plugins).

twilio: one double for the whole run, emptied before each test; after each test it must have seen no
request that Twilio's spec would refuse. sms_provider: the SMS_PROVIDER a test module runs with
(parametrize it); sms_settings: the portal settings that point that provider at the double;
sms_inbox: what that provider delivered, whichever it is (the double's inbox or the console outbox).
Without Twilio's OpenAPI documents (`make twilio-oai` fetches them) every test that needs the double fails,
on a laptop as in CI, saying what to run: they are a build step away, not a service that may be absent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.tencent_double.server import TencentDouble
from tests.twilio_double.server import TwilioDouble
from tests.twilio_double.spec import Spec, SpecMissing, load_spec

PROVIDERS = ("twilio_verify", "twilio_messaging", "tencent", "console")
TWILIO_PROVIDERS = ("twilio_verify", "twilio_messaging")
LOCAL_PROVIDERS = ("twilio_messaging", "tencent", "console")  # the providers whose codes we generate, hashed
CODE = re.compile(r"(?<!\d)\d{6}(?!\d)")


def require_spec() -> Spec:
    """Twilio's OpenAPI documents, parsed once; without them the test fails saying to run `make twilio-oai`."""
    try:
        return load_spec()
    except SpecMissing as exc:
        missing = str(exc)
    pytest.fail(missing, pytrace=False)  # outside the except: the message alone, no chained traceback


@pytest.fixture(scope="session")
def twilio_server() -> Iterator[TwilioDouble]:
    with TwilioDouble(spec=require_spec()) as double:
        yield double


@pytest.fixture
def twilio(twilio_server: TwilioDouble) -> Iterator[TwilioDouble]:
    """The double, empty; a test may set twilio.clock (e.g. to the FakeClock): it is put back afterwards."""
    real_clock = twilio_server.clock
    twilio_server.reset()
    yield twilio_server
    # A request the portal gave up on (a scripted hang) is still being answered: let it finish here, so
    # its late text cannot land in the next test's inbox.
    twilio_server.join_handlers()
    twilio_server.clock = real_clock
    violations = list(twilio_server.violations)
    twilio_server.reset()
    assert violations == [], f"requests Twilio's OpenAPI spec would refuse: {violations}"


@pytest.fixture
def sms_provider() -> str:
    """The provider under test; a module parametrizes this fixture to run over several."""
    return "twilio_verify"


@pytest.fixture
def sms_settings(sms_provider: str, twilio: TwilioDouble, tmp_path: Path,
                 request: pytest.FixtureRequest) -> dict[str, Any]:
    """Settings that make the app send its texts through sms_provider (Twilio's or Tencent's: its double).

    The console provider writes to a file of this test's own (read it with console_texts()).
    """
    if sms_provider == "console":
        return {"SMS_PROVIDER": "console", "SMS_CONSOLE_OUTBOX": str(tmp_path / "sms-outbox.jsonl")}
    if sms_provider == "tencent":
        return request.getfixturevalue("tencent").settings()
    return {"SMS_PROVIDER": sms_provider, **twilio.settings()}


def console_texts(settings: dict[str, Any]) -> list[dict[str, str]]:
    """What the console provider "sent" with these settings, oldest first: {"to", "text", "at"}."""
    path = Path(settings["SMS_CONSOLE_OUTBOX"])
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


class Inbox:
    """The texts a provider delivered, read the same way for the double and for the console outbox."""

    def __init__(self, provider: str, twilio: TwilioDouble, settings: dict[str, Any],
                 tencent: TencentDouble | None = None) -> None:
        self.provider = provider
        self.twilio = twilio
        self.settings = settings
        self.tencent = tencent

    def texts(self, to: str | None = None) -> list[str]:
        """Bodies of the texts sent to `to` (None: to anyone), oldest first."""
        if self.tencent is not None:
            return [sms.body for sms in self.tencent.inbox(to)]
        if self.provider == "console":
            return [t["text"] for t in console_texts(self.settings) if to is None or t["to"] == to]
        if to is None:
            with self.twilio._lock:  # every number at once: the double only offers one number's inbox
                return [sms.body for sms in self.twilio._inbox]
        return [sms.body for sms in self.twilio.inbox(to)]

    def count(self, to: str | None = None) -> int:
        return len(self.texts(to))

    def last_code(self, to: str) -> str:
        """The one 6-digit code in the newest text to `to`."""
        texts = self.texts(to)
        assert texts, f"no text was sent to {to}"
        codes = set(CODE.findall(texts[-1]))
        assert len(codes) == 1, f"expected one 6-digit code in {texts[-1]!r}"
        return codes.pop()


@pytest.fixture
def sms_inbox(sms_provider: str, twilio: TwilioDouble, sms_settings: dict[str, Any],
              request: pytest.FixtureRequest) -> Inbox:
    tencent = request.getfixturevalue("tencent") if sms_provider == "tencent" else None
    return Inbox(sms_provider, twilio, sms_settings, tencent)
