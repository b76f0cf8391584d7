"""Password hashing (Argon2id) and keyed hashes for tokens and identifiers."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import Flask, current_app

DUMMY_PASSWORD = "not a password: equalises the time of unknown-email sign-ins"  # noqa: S105


@dataclass
class Passwords:
    hasher: PasswordHasher
    dummy_hash: str | None = None

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        """Check password against stored; with stored=None, spend the same work on a dummy hash."""
        if stored is None:
            # Security: unknown emails cost one Argon2 verification too (no timing oracle).
            if self.dummy_hash is None:
                self.dummy_hash = self.hasher.hash(DUMMY_PASSWORD)
            stored, password = self.dummy_hash, password + "\x00"
        try:
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
        )
    )


def passwords() -> Passwords:
    return current_app.extensions["portal.passwords"]


def keyed_hash(purpose: str, value: str) -> str:
    """HMAC-SHA256 of value under the app secret, separated by purpose."""
    key = hashlib.sha256(f"portal:{purpose}:".encode() + current_app.config["SECRET_KEY"].encode()).digest()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def token_hash(token: str) -> str:
    """SHA-256 of a high-entropy random token (session ids): a leaked table holds no live cookie."""
    return hashlib.sha256(token.encode()).hexdigest()
