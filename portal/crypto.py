"""Password hashing (Argon2id) and keyed hashes for tokens and identifiers."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.fernet import Fernet, MultiFernet
from flask import Flask, current_app

T = TypeVar("T")
DUMMY_PASSWORD = "not a password: equalises the time of unknown-email sign-ins"  # noqa: S105


ARGON2_NICENESS = 10  # how much lower than the pages' threads the Argon2 threads run (Linux)


def _lower_this_threads_priority() -> None:
    """Run this thread (and the lane threads libargon2 starts from it, which inherit it) at a lower priority."""
    with contextlib.suppress(AttributeError, OSError):  # not Linux, or not allowed: the same priority as the rest
        me = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, me, min(19, os.getpriority(os.PRIO_PROCESS, me) + ARGON2_NICENESS))


@dataclass
class Passwords:
    """Argon2id in a pool of `workers` threads per process (ARGON2_MAX_CONCURRENT), at a lower CPU priority.

    Speed and memory: each one holds ARGON2_MEMORY_COST and, with several lanes, every core already; more at
    once only queue inside the CPU while holding memory and worker threads. The others wait for a pool
    thread, so the remaining request threads serve cheap pages; and because the pool's threads run at nice
    +ARGON2_NICENESS, a queue of password checks (a sign-in rush, or a flood of guesses) slows password
    checks, not every page. Unknown emails go through the same pool (no timing difference).
    """

    hasher: PasswordHasher
    dummy_hash: str | None = None
    workers: int = 2
    _pool: ThreadPoolExecutor | None = field(default=None, repr=False)
    _pool_pid: int = 0
    _pool_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _run(self, call: Callable[..., T], *args: str) -> T:
        with self._pool_lock:
            if self._pool is None or self._pool_pid != os.getpid():  # none yet, or inherited through a fork
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="argon2",
                                                initializer=_lower_this_threads_priority)
                self._pool_pid = os.getpid()
            pool = self._pool
        return pool.submit(call, *args).result()

    def hash(self, password: str) -> str:
        return self._run(self.hasher.hash, password)

    def verify(self, stored: str | None, password: str) -> bool:
        """Check password against stored; with stored=None, spend the same work on a dummy hash."""
        if stored is None:
            # Security: unknown emails cost one Argon2 verification too (no timing oracle).
            if self.dummy_hash is None:
                self.dummy_hash = self.hash(DUMMY_PASSWORD)
            stored, password = self.dummy_hash, password + "\x00"
        try:
            return self._run(self.hasher.verify, stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self.hasher.check_needs_rehash(stored)


def init_app(app: Flask) -> None:
    app.extensions["portal.passwords"] = Passwords(
        PasswordHasher(
            time_cost=app.config["ARGON2_TIME_COST"],
            memory_cost=app.config["ARGON2_MEMORY_COST"],
            parallelism=app.config["ARGON2_PARALLELISM"],
        ),
        workers=app.config["ARGON2_MAX_CONCURRENT"],
    )
    app.extensions["portal.secret_box"] = SecretBox(app.config["TOTP_ENCRYPTION_KEYS"])


def passwords() -> Passwords:
    hasher: Passwords = current_app.extensions["portal.passwords"]
    return hasher


def keyed_hash(purpose: str, value: str) -> str:
    """HMAC-SHA256 of value under the app secret, separated by purpose."""
    key = hashlib.sha256(f"portal:{purpose}:".encode() + current_app.config["SECRET_KEY"].encode()).digest()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def token_hash(token: str) -> str:
    """SHA-256 of a high-entropy random token (session ids): a leaked table holds no live cookie."""
    return hashlib.sha256(token.encode()).hexdigest()


class SecretBox:
    """Encrypts TOTP secrets at rest with MultiFernet: the first key encrypts, every key decrypts."""

    def __init__(self, keys: tuple[str, ...]) -> None:
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, token: str) -> str:
        return self._fernet.decrypt(token.encode()).decode()

    def rotate(self, token: str) -> str:
        """Re-encrypt under the first (newest) key."""
        return self._fernet.rotate(token.encode()).decode()


def secret_box() -> SecretBox:
    box: SecretBox = current_app.extensions["portal.secret_box"]
    return box
