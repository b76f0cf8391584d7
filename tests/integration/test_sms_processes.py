"""The resend cooldown and the caps hold across two server processes that share the database.

Two separate `python -m` processes serve the portal, configured only through environment variables (as
in production), on the test's database and the loopback Twilio double. They run on the real clock, so
the cooldown is an hour: nothing here depends on how fast the machine is.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from threading import Barrier

import pytest

from portal import ROOT
from tests.conftest import CHEAP_ARGON2, TEST_SECRET, TEST_TOTP_KEY
from tests.integration.sms_helpers import PHONE, LiveBrowser, give_phone, sms_state
from tests.support import GOOD_PASSWORD

COOLDOWN = 3600
CAP = 3  # SMS_SENDS_PER_10_MINUTES, low enough to reach with a few accounts sharing one number
RUNNER = '''"""Serve the portal on 127.0.0.1:PORT with the settings in the environment."""
import sys

from tests import netguard

netguard.install()  # this process, too, may only connect to loopback

from werkzeug.serving import make_server  # noqa: E402

from portal import create_app  # noqa: E402

make_server("127.0.0.1", int(sys.argv[1]), create_app(), threaded=True).serve_forever()
'''


@pytest.fixture
def sms_provider() -> str:
    return "twilio_verify"


@pytest.fixture
def settings(sms_settings):
    return dict(sms_settings)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(database_url: str, sms_settings: dict[str, str], tmp_path: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key.isupper() and not key.startswith(
        ("SMS_", "TWILIO_", "RATELIMIT_", "ARGON2_", "DATABASE_", "SECRET_", "TOTP_"))}
    env.update({
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]),
        "PORTAL_ENV": "testing", "SECRET_KEY": TEST_SECRET, "DATABASE_URL": database_url,
        "TOTP_ENCRYPTION_KEYS": TEST_TOTP_KEY, "RATELIMIT_STORAGE_URI": "memory://",
        "RATELIMIT_LOGIN": "1000 per minute", "RATELIMIT_SMS": "1000 per minute", "LOG_LEVEL": "WARNING",
        "SMS_RESEND_COOLDOWN": str(COOLDOWN), "SMS_SENDS_PER_10_MINUTES": str(CAP),
        **{key: str(value) for key, value in CHEAP_ARGON2.items()},
        **{key: str(value) for key, value in sms_settings.items()},
    })
    return env


@contextmanager
def two_servers(env: dict[str, str], tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Start two server processes; yield their base URLs once both accept connections; stop them."""
    (tmp_path / "sms_live_runner.py").write_text(RUNNER)
    ports = [free_port(), free_port()]
    processes: list[subprocess.Popen[bytes]] = []
    logs = [tmp_path / f"server-{n}.log" for n in range(2)]
    try:
        for port, log in zip(ports, logs, strict=True):
            with log.open("wb") as out:
                processes.append(subprocess.Popen([sys.executable, "-m", "sms_live_runner", str(port)],
                                                  cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT))
        for port, process, log in zip(ports, processes, logs, strict=True):
            wait_until_listening(port, process, log)
        yield f"http://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[1]}"
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def wait_until_listening(port: int, process: subprocess.Popen[bytes], log: Path, limit: float = 30) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server process exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)  # polling for start-up: no test logic depends on this time
    pytest.fail(f"the server on port {port} did not start within {limit} s:\n{log.read_text()[-3000:]}")


def test_cooldown_and_caps_hold_across_two_processes(app, database, make_user, clock, twilio, sms_settings,
                                                     sms_inbox, tmp_path):
    emails = [f"p{n}@example.com" for n in range(5)]
    for n, email in enumerate(emails):
        # p0, p2, p3, p4 share PHONE; p1 has its own number, for the race.
        give_phone(app, make_user(email), "+8613911112222" if n == 1 else PHONE, clock)
    with two_servers(environment(database.url, sms_settings, tmp_path), tmp_path) as (first, second):
        # One account: a text sent through the first process starts a cooldown the second one keeps.
        on_first, on_second = LiveBrowser(first), LiveBrowser(second)
        on_first.sign_in(emails[0], GOOD_PASSWORD)
        status, headers, _ = on_first.send_code()
        assert status == 303, status
        on_second.sign_in(emails[0], GOOD_PASSWORD)
        status, headers, page = on_second.send_code()
        assert status == 429
        assert COOLDOWN - 60 < int(headers["Retry-After"]) <= COOLDOWN
        assert "You can request a new code in" in page
        assert sms_inbox.count(PHONE) == 1

        # Parallel presses on both processes at once send exactly one text.
        browsers = [LiveBrowser(base) for base in (first, second) * 4]
        for browser in browsers:
            browser.sign_in(emails[1], GOOD_PASSWORD)
        tokens = [browser.token("/2fa/verify?method=sms") for browser in browsers]
        barrier = Barrier(len(browsers))

        def press(pair: tuple[LiveBrowser, str]) -> int:
            barrier.wait(timeout=30)
            return pair[0].send_code(pair[1])[0]

        with ThreadPoolExecutor(max_workers=len(browsers)) as pool:
            statuses = list(pool.map(press, zip(browsers, tokens, strict=True)))
        assert sorted(statuses) == [303] + [429] * (len(browsers) - 1), statuses
        assert sms_inbox.count("+8613911112222") == 1

        # The cap per number counts the sends of both processes: 3 per 10 minutes here.
        for email, base in ((emails[2], second), (emails[3], first)):
            browser = LiveBrowser(base)
            browser.sign_in(email, GOOD_PASSWORD)
            assert browser.send_code()[0] == 303
        browser = LiveBrowser(second)
        browser.sign_in(emails[4], GOOD_PASSWORD)
        status, headers, page = browser.send_code()
        assert status == 429
        assert 500 < int(headers["Retry-After"]) <= 600
        assert "Too many codes were sent recently." in page
        assert sms_inbox.count(PHONE) == CAP
    state = sms_state(app)
    assert state.sends == CAP + 1
    assert sum(1 for row in state.phones if row.next_send_at is not None) == CAP + 1
