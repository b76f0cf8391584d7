import time
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from tests.integration.sms_helpers import closed_port
from tests.integration.totp_helpers import enroll
from tests.support import login


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """Every integration test runs on SQLite and on PostgreSQL."""
    return request.param


@pytest.fixture
def email() -> str:
    """The address of the signed_in user; a test module overrides it."""
    return "someone@example.com"


@pytest.fixture
def signed_in(app, make_user, email):
    """A test client signed in (password only) as a new user with `email`."""
    make_user(email)
    browser = app.test_client()
    assert login(browser, email).status_code == 302
    return browser


@pytest.fixture
def enrollment(signed_in, clock, tmp_path):
    """The signed_in user with an authenticator app confirmed through the setup pages."""
    return enroll(signed_in, clock, tmp_path)


@pytest.fixture
def target(app, make_user, clock, tmp_path):
    """A user with an authenticator app and recovery codes (lost-phone@example.com, the admin tests' case),
    and a signed-in browser of theirs."""
    user = make_user("lost-phone@example.com")
    browser = app.test_client()
    assert login(browser, "lost-phone@example.com").status_code == 302
    enroll(browser, clock, tmp_path)
    return user, browser


# --- a real SMTP server on loopback (aiosmtpd), for the security notices -------------------------------


class MailInbox:
    """aiosmtpd handler: keeps every message it is handed."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 10) -> list[tuple[list[str], EmailMessage]]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.messages


@pytest.fixture(scope="module")
def smtp():
    handler = MailInbox()
    controller = Controller(handler, hostname="127.0.0.1", port=closed_port())  # a free port (0 confuses it)
    controller.start()
    yield handler, controller.port
    controller.stop()


@pytest.fixture
def inbox(smtp):
    handler, _ = smtp
    handler.messages.clear()
    return handler
