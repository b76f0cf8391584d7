"""At most ARGON2_MAX_CONCURRENT Argon2 operations run at once in a process; the rest wait their turn."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from argon2 import PasswordHasher

from portal.crypto import Passwords


class Watching(PasswordHasher):
    """A real (cheap) Argon2 hasher that records how many calls are inside it at once."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=64, parallelism=1)
        self.inside = 0
        self.most = 0
        self.lock = threading.Lock()
        self.entered = threading.Event()

    def _enter(self) -> None:
        with self.lock:
            self.inside += 1
            self.most = max(self.most, self.inside)

    def _leave(self) -> None:
        with self.lock:
            self.inside -= 1

    def verify(self, hash, password):
        self._enter()
        try:
            for _ in range(20):  # long enough that unguarded threads would overlap
                super().hash("busy")
            return super().verify(hash, password)
        finally:
            self._leave()


@pytest.mark.parametrize("allowed", [1, 2])
def test_no_more_than_the_gate_allows_run_at_once(allowed):
    hasher = Watching()
    stored = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1).hash("pw")
    passwords = Passwords(hasher, gate=threading.BoundedSemaphore(allowed))
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: passwords.verify(stored, "pw"), range(16)))
    assert results == [True] * 16
    assert hasher.most == allowed


def test_unknown_emails_pass_the_same_gate():
    hasher = Watching()
    passwords = Passwords(hasher, gate=threading.BoundedSemaphore(1))
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(lambda _: passwords.verify(None, "guess"), range(8))) == [False] * 8
    assert hasher.most == 1
