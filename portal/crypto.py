"""Password hashing (Argon2id) and keyed hashes for tokens and identifiers."""

from __future__ import annotations

import hashlib
import hmac
import threading
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.fernet import Fernet, MultiFernet
from flask import Flask, current_app

DUMMY_PASSWORD = "not a password: equalises the time of unknown-email sign-ins"  # noqa: S105


@dataclass
class Passwords:
    """Argon2id through a gate: at most ARGON2_MAX_CONCURRENT hashes or verifications run at once in a process.

    Speed and memory: each one holds ARGON2_MEMORY_COST and, with several lanes, every core already; more at
    once only queue inside the CPU while holding memory and worker threads. The others wait at the gate, so
    the remaining threads serve cheap pages. Unknown emails pass the same gate (no timing difference).
    """

    hasher: PasswordHasher
    dummy_hash: str | None = None
    gate: threading.BoundedSemaphore = field(default_factory=lambda: threading.BoundedSemaphore(2))

    def hash(self, password: str) -> str:
        with self.gate:
            return self.hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        """Check password against stored; with stored=None, spend the same work on a dummy hash."""
        if stored is None:
            # Security: unknown emails cost one Argon2 verification too (no timing oracle).
            if self.dummy_hash is None:
                self.dummy_hash = self.hash(DUMMY_PASSWORD)
            stored, password = self.dummy_hash, password + "\x00"
        try:
            with self.gate:
                return self.hasher.verify(stored, password)
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
        gate=threading.BoundedSemaphore(app.config["ARGON2_MAX_CONCURRENT"]),
    )
    app.extensions["portal.secret_box"] = SecretBox(app.config["TOTP_ENCRYPTION_KEYS"])


def passwords() -> Passwords:
    return current_app.extensions["portal.passwords"]


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
    return current_app.extensions["portal.secret_box"]
