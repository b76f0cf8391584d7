"""The "Deploying" section, followed on this machine: production settings on PostgreSQL and Redis, the
release step, then gunicorn with gunicorn.conf.py behind its health check."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.conftest import Database
from tests.integration.cluster import wait_for_port
from tests.integration.sms_helpers import closed_port
from tests.support import PRODUCTION_SERVICES

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def production_env(redis_url, tmp_path):
    """Production settings on a new, empty PostgreSQL schema of this test's own."""
    fresh = Database("postgresql", tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "DATABASE_", "RATELIMIT_"))}
    yield {**env, **PRODUCTION_SERVICES, "PORTAL_ENV": "production", "DATABASE_URL": fresh.url,
           "SECRET_KEY": "k" + os.urandom(24).hex(), "TOTP_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
           "RATELIMIT_STORAGE_URI": redis_url, "LOG_LEVEL": "WARNING"}
    fresh.drop()


def get(url: str) -> tuple[int, dict[str, str], str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310  (loopback only)
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read().decode()


def test_release_step_then_gunicorn_with_the_repo_settings(production_env, tmp_path):
    release = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT,
                             env=production_env, capture_output=True, text=True, timeout=120, check=False)
    assert release.returncode == 0, release.stderr[-2000:]
    port = closed_port()
    log = tmp_path / "gunicorn.log"
    env = {**production_env, "PORT": str(port), "GUNICORN_WORKERS": "2", "GUNICORN_THREADS": "2",
           "GUNICORN_KEEPALIVE": "1"}
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "wsgi:app"],
                                   cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, process, log)
        status, headers, body = get(f"http://127.0.0.1:{port}/healthz")
        assert status == 200, body
        assert json.loads(body) == {"status": "ok", "database": "ok", "rate_limit_storage": "ok"}
        status, headers, body = get(f"http://127.0.0.1:{port}/login")
        assert status == 200 and "__Host-session" in headers.get("Set-Cookie", "")  # production cookies
        # Two workers of the gthread class, as the settings say.
        children = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True, check=False)
        assert len(children.stdout.split()) == 2, children.stdout
        assert "Using worker: gthread" in log.read_text()
        assert "Control socket" not in log.read_text()  # off: several portals may share a host
        # GUNICORN_KEEPALIVE: an idle keep-alive connection is closed by gunicorn after that many seconds.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n")
            first = conn.recv(65536)
            assert first.startswith(b"HTTP/1.1 200"), first[:200]
            rest = b""
            while chunk := conn.recv(65536):  # b"" once gunicorn closes the idle connection (10 s at most)
                rest += chunk
            assert b"HTTP/1.1" not in rest
        chunked_bodies_are_held_to_the_limit(port)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=40) == 0, log.read_text()[-2000:]


def chunked_post(port: int, path: str, cookie: str, body: bytes) -> tuple[int, str]:
    """POST body with Transfer-Encoding: chunked (no Content-Length), in 16 KiB chunks; status and page."""
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 16384]), body[i:i + 16384])
                      for i in range(0, len(body), 16384))
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\nConnection: close\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        with contextlib.suppress(OSError):  # the server may answer 413 and close before the whole body is sent
            conn.sendall(head + chunks + b"0\r\n\r\n")
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return int(answer.split(b" ", 2)[1]), answer.decode(errors="replace")


def chunked_bodies_are_held_to_the_limit(port: int) -> None:
    """A body without a Content-Length gets the same 413 past MAX_CONTENT_LENGTH as one with it: not cut short."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=10) as page:
        cookie = page.headers["Set-Cookie"].split(";", 1)[0]
        token = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', page.read().decode())[1]
    fields = f"csrf_token={token}&email=chunked%40example.com&password=not+the+password".encode()
    status, answer = chunked_post(port, "/login", cookie, fields)
    assert status in (200, 400) and "This form has expired" not in answer, answer[:1500]  # read whole: checked
    assert "password" in answer.lower()
    status, answer = chunked_post(port, "/login", cookie, fields + b"&pad=" + b"a" * 100_000)
    assert status == 413, answer[:1500]
    status, answer = chunked_post(port, "/login", cookie, b"pad=" + b"a" * 100_000 + b"&" + fields)
    assert status == 413, answer[:1500]


def test_a_bad_gunicorn_setting_stops_with_a_message(production_env):
    run = subprocess.run([sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "--check-config",
                          "wsgi:app"], cwd=ROOT, env={**production_env, "GUNICORN_WORKERS": "lots"},
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode != 0
    assert "GUNICORN_WORKERS='lots' is not a whole number" in run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
