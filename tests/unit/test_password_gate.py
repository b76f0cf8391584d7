"""At most ARGON2_MAX_CONCURRENT Argon2 operations run at once in a process, at a lower CPU priority."""

from __future__ import annotations

import os
import select
import signal
import sys
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import pytest
from argon2 import PasswordHasher

from portal.crypto import ARGON2_NICENESS, Passwords


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
        self.niceness = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
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
    passwords = Passwords(hasher, workers=allowed)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: passwords.verify(stored, "pw"), range(16)))
    assert results == [True] * 16
    assert hasher.most == allowed


def test_unknown_emails_pass_the_same_gate():
    hasher = Watching()
    passwords = Passwords(hasher, workers=1)
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(lambda _: passwords.verify(None, "guess"), range(8))) == [False] * 8
    assert hasher.most == 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="thread priorities are Linux's")
def test_argon2_runs_at_a_lower_priority_than_the_pages():
    hasher = Watching()
    passwords = Passwords(hasher, workers=1)
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert passwords.verify(None, "guess") is False
    assert hasher.niceness == min(19, mine + ARGON2_NICENESS) > mine
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == mine  # the caller's own is untouched


def test_a_forked_process_gets_its_own_pool():
    """gunicorn forks workers: a pool's threads do not survive a fork, so each process starts its own."""
    passwords = Passwords(Watching(), workers=1)
    stored = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1).hash("pw")
    assert passwords.verify(stored, "pw") is True
    read, write = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Python 3.12+ warns about fork with threads
        child = os.fork()
    if child == 0:  # pragma: no cover (the child reports through the pipe)
        try:
            os.write(write, b"1" if passwords.verify(stored, "pw") else b"0")
        finally:
            os._exit(0)
    os.close(write)
    try:
        ready, _, _ = select.select([read], [], [], 20)  # a pool inherited without its threads never answers
        if not ready:
            os.kill(child, signal.SIGKILL)
        assert ready and os.read(read, 1) == b"1"
    finally:
        os.close(read)
        os.waitpid(child, 0)
