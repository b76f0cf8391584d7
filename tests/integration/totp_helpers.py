"""Enroll and use an authenticator through HTTP, reading the QR code like a phone would."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from threading import Barrier

from flask.testing import FlaskClient

from tests.integration.test_concurrency import Browser
from tests.otp import decode_qr, parse_otpauth, qr_png_from_page, totp
from tests.support import GOOD_PASSWORD, FakeClock, csrf_token


def scan_setup_page(client: FlaskClient, tmp_path: Path) -> tuple[str, str]:
    """Open the setup page and read its QR code with zbarimg; return (page html, secret)."""
    page = client.get("/account/2fa/totp")
    assert page.status_code == 200, page.status_code
    uri = decode_qr(qr_png_from_page(page.text), tmp_path)
    return page.text, parse_otpauth(uri)["secret"]


CODE_ITEM = re.compile(r"<li><code>([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})</code></li>")


@dataclass
class Enrollment:
    secret: str
    recovery_codes: list[str]


def enroll(client: FlaskClient, clock: FakeClock, tmp_path: Path) -> Enrollment:
    """Set up a first authenticator for the signed-in client; keep the recovery codes shown once."""
    html, secret = scan_setup_page(client, tmp_path)
    response = client.post("/account/2fa/totp", data={"csrf_token": csrf_token_from(html),
                                                      "code": totp(secret, clock())})
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    codes = recovery_codes_on(response.get_data(as_text=True))
    return Enrollment(secret, codes)


def recovery_codes_on(html: str) -> list[str]:
    codes = CODE_ITEM.findall(html)
    assert len(codes) == 10, html[:3000]
    return codes


def csrf_token_from(html: str) -> str:
    match = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', html)
    assert match
    return match.group(1)


def send_totp(client: FlaskClient, code: str) -> object:
    page = client.get("/2fa/verify?method=totp")
    return client.post("/2fa/verify?method=totp", data={"csrf_token": csrf_token(page), "code": code})


def race_one_code(base: str, email: str, path: str, code: str, browsers: int) -> list[int]:
    """Sign `browsers` clients in with the password, then POST the same code to `path` from all at once.

    Each client first fetches its form (so the burst is only POSTs); a barrier releases them together.
    Returns the status of every POST.
    """
    clients = [Browser(base) for _ in range(browsers)]
    for client in clients:
        assert client.post_form("/login", {"email": email, "password": GOOD_PASSWORD}) == 302
    barrier = Barrier(len(clients))

    def race(client: Browser) -> int:
        status, page = client.open(path)
        assert status == 200, status
        token = csrf_token_from(page)
        barrier.wait(timeout=30)
        return client.open(path, {"csrf_token": token, "code": code})[0]

    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        return list(pool.map(race, clients))


def shown_key(html: str) -> str:
    """The setup key as the page shows it for typing by hand, without spaces."""
    match = re.search(r'id="totp-key">([A-Z2-7 ]+)<', html)
    assert match, html[:2000]
    return match.group(1).replace(" ", "")


def parallel_gets(base: str, email: str, path: str, browsers: int) -> list[tuple[int, str]]:
    """Sign `browsers` clients in with the password, then GET `path` from all at once (a barrier releases
    them together). Returns (status, page) of every GET."""
    clients = [Browser(base) for _ in range(browsers)]
    for client in clients:
        assert client.post_form("/login", {"email": email, "password": GOOD_PASSWORD}) == 302
    barrier = Barrier(len(clients))

    def get(client: Browser) -> tuple[int, str]:
        barrier.wait(timeout=30)
        return client.open(path)

    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        return list(pool.map(get, clients))
