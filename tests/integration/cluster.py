"""Real portal processes for the multi-process tests: gunicorn (gunicorn.conf.py) on loopback ports, sharing
the test's PostgreSQL schema and a Redis, configured only through environment variables, and a private
redis-server that a test may stop and start again."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from portal import ROOT
from tests.conftest import CHEAP_ARGON2, TEST_SECRET, TEST_TOTP_KEY, missing_service

# The app module the workers import: this process, too, may only connect to loopback.
APP_MODULE = '''from tests import netguard

netguard.install()

from wsgi import app  # noqa: E402,F401
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path, *, limit: float = 30) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"process on port {port} exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)  # polling for start-up: no test logic depends on this time
    pytest.fail(f"nothing listened on port {port} within {limit} s:\n{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def portal_environment(database_url: str, redis_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    """The settings every process gets: the same secret key, database and Redis, cheap Argon2 for speed."""
    env = {key: value for key, value in os.environ.items() if key.isupper() and not key.startswith(
        ("SMS_", "TWILIO_", "RATELIMIT_", "ARGON2_", "DATABASE_", "SECRET_", "TOTP_", "PORTAL_", "GUNICORN_",
         "MAIL_"))}
    env.update({
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]),
        "PORTAL_ENV": "testing", "SECRET_KEY": TEST_SECRET, "DATABASE_URL": database_url,
        "TOTP_ENCRYPTION_KEYS": TEST_TOTP_KEY, "RATELIMIT_STORAGE_URI": redis_url, "RATELIMIT_STORAGE_TIMEOUT": "1",
        "RATELIMIT_LOGIN": "1000 per minute", "RATELIMIT_SMS": "1000 per minute", "LOG_LEVEL": "WARNING",
        "GUNICORN_WORKERS": "1", "GUNICORN_THREADS": "8", "DATABASE_POOL_SIZE": "8", "DATABASE_MAX_OVERFLOW": "8",
        **{key: str(value) for key, value in CHEAP_ARGON2.items()},
        **extra,
    })
    return env


class Cluster:
    """N gunicorn processes of the portal; cluster[i] is the base URL of process i."""

    def __init__(self, env: dict[str, str], tmp_path: Path, size: int = 2) -> None:
        (tmp_path / "cluster_app.py").write_text(APP_MODULE)
        self.env, self.tmp = env, tmp_path
        self.ports = [free_port() for _ in range(size)]
        self.processes: list[subprocess.Popen[bytes] | None] = [None] * size
        try:
            for index in range(size):
                self.start(index)
        except BaseException:
            self.close()  # a process that started is not left running when a later one fails
            raise

    def __getitem__(self, index: int) -> str:
        return f"http://127.0.0.1:{self.ports[index]}"

    def log(self, index: int) -> Path:
        return self.tmp / f"portal-{index}.log"

    def start(self, index: int) -> None:
        with self.log(index).open("ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--config", str(ROOT / "gunicorn.conf.py"), "cluster_app:app"],
                cwd=self.tmp, env={**self.env, "PORT": str(self.ports[index])}, stdout=out,
                stderr=subprocess.STDOUT)
        self.processes[index] = process  # before the wait, so close() stops it if it never listens
        wait_for_port(self.ports[index], process, self.log(index))

    def restart(self, index: int) -> None:
        """Stop process index (SIGTERM: requests in flight finish) and start a new one on the same port."""
        process = self.processes[index]
        assert process is not None
        stop(process)
        self.start(index)

    def close(self) -> None:
        for process in self.processes:
            if process is not None:
                stop(process)


class PrivateRedis:
    """A redis-server of this test's own on a spare port, keeping nothing on disk; stop() and start() it."""

    def __init__(self, tmp_path: Path) -> None:
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            missing_service("redis-server (Debian package redis-server)")
        self.port, self.tmp = free_port(), tmp_path
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = self.tmp / "redis.log"
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(self.binary), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                 "no", "--dir", str(self.tmp)], stdout=out, stderr=subprocess.STDOUT)
        wait_for_port(self.port, self.process, log)

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None
