"""The load generator of bench/portal_bench.py, run as its own process so it does not share the server's cores'
scheduling with the process that seeds and reports.

    python bench/loadgen.py SCENARIO BASE_URL USERS_JSON CONCURRENCY SECONDS  →  one JSON line on stdout

Each of CONCURRENCY threads has its own HTTP session (cookies, keep-alive) and repeats the scenario until
SECONDS have passed or its share of users is used up. Only the request the scenario measures is timed;
the steps that lead up to it (the login page, the password step before a code) are not.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pyotp
import requests

CSRF = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')
PASSWORD = "correct horse battery staple"  # noqa: S105  (the benchmark's seeded users)


class Stop(Exception):
    """This thread has no user left for the scenario."""


class Client:
    def __init__(self, base: str) -> None:
        self.base = base
        self.http = requests.Session()

    def get(self, path: str) -> requests.Response:
        return self.http.get(self.base + path, allow_redirects=False, timeout=60)

    def post(self, path: str, data: dict[str, str]) -> requests.Response:
        return self.http.post(self.base + path, data=data, allow_redirects=False, timeout=60)

    def token(self, path: str) -> str:
        return self.token_of(self.get(path).text)

    @staticmethod
    def token_of(page: str) -> str:
        found = CSRF.search(page)
        if found is None:
            raise RuntimeError("no CSRF token on the page")
        return found.group(1)

    def password_step(self, email: str) -> requests.Response:
        return self.post("/login", {"csrf_token": self.token("/login"), "email": email, "password": PASSWORD})


def timed(fn: Callable[[], requests.Response]) -> tuple[float, int]:
    start = time.perf_counter()
    response = fn()
    return (time.perf_counter() - start) * 1000, response.status_code


def scenario(name: str, client: Client, users: list[dict[str, Any]]) -> Callable[[], tuple[float, int]]:
    """A callable that performs one measured request of the scenario (and its untimed preparation)."""
    pool = iter(users)

    def next_user() -> dict[str, Any]:
        user = next(pool, None)
        if user is None:
            raise Stop
        return user

    if name in ("bare", "bare_write", "login_page"):
        path = {"bare": "/", "bare_write": "/write", "login_page": "/login"}[name]
        return lambda: timed(lambda: client.get(path))
    if name == "password":
        def password() -> tuple[float, int]:
            user = next_user()
            client.http.cookies.clear()
            token = client.token("/login")
            return timed(lambda: client.post("/login", {"csrf_token": token, "email": user["email"],
                                                        "password": PASSWORD}))
        return password
    if name == "second_step":
        def second_step() -> tuple[float, int]:
            user = next_user()  # each user once: a TOTP code is accepted once per 30 s step
            client.http.cookies.clear()
            client.password_step(user["email"])
            token = client.token("/2fa/verify?method=totp")
            code = pyotp.TOTP(user["secret"]).now()
            return timed(lambda: client.post("/2fa/verify?method=totp", {"csrf_token": token, "code": code}))
        return second_step
    if name == "recovery":
        def recovery() -> tuple[float, int]:
            user = next_user()
            client.http.cookies.clear()
            client.password_step(user["email"])
            token = client.token("/2fa/recovery")
            return timed(lambda: client.post("/2fa/recovery", {"csrf_token": token, "code": user["code"]}))
        return recovery
    if name in ("account", "enroll"):
        # One sign-in per thread, then the page again and again: an account page; an authenticator setup page
        # with its QR code (a user without 2FA, just signed in, so no password confirmation is asked).
        user = next_user()
        client.password_step(user["email"])
        if name == "account":
            token = client.token("/2fa/verify?method=totp")
            client.post("/2fa/verify?method=totp", {"csrf_token": token, "code": pyotp.TOTP(user["secret"]).now()})
        path = "/account" if name == "account" else "/account/2fa/totp"
        return lambda: timed(lambda: client.get(path))
    raise SystemExit(f"unknown scenario {name!r}")


WARMUP = 3  # untimed requests per thread before the clock starts
EXPECTED = {"bare": 200, "bare_write": 200, "login_page": 200, "password": 302, "second_step": 302,
            "recovery": 302, "account": 200, "enroll": 200}


def main() -> None:
    name, base, users_file, concurrency, seconds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), \
        float(sys.argv[5])
    with open(users_file) as f:
        users = json.load(f)
    shares = [users[n::concurrency] for n in range(concurrency)]
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    ready = threading.Barrier(concurrency + 1)
    deadline = [0.0]

    def worker(share: list[dict[str, Any]]) -> None:
        client = Client(base)
        try:
            step = scenario(name, client, share)
            for _ in range(WARMUP):  # templates, translations and connections warm before timing starts
                step()
        except Stop:
            ready.wait()
            return
        ready.wait()
        while time.perf_counter() < deadline[0]:
            try:
                ms, status = step()
            except Stop:
                return
            with lock:
                statuses[status] += 1
                if status == EXPECTED[name]:
                    latencies.append(ms)

    threads = [threading.Thread(target=worker, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    deadline[0] = time.perf_counter() + 3600  # set for real once every thread is ready
    ready.wait()
    started = time.perf_counter()
    deadline[0] = started + seconds
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    print(json.dumps({"scenario": name, "latencies_ms": latencies, "statuses": dict(statuses),
                      "elapsed_s": elapsed, "expected": EXPECTED[name]}))


if __name__ == "__main__":
    main()
