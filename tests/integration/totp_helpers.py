"""Enroll and use an authenticator through HTTP, reading the QR code like a phone would."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient

from tests.otp import decode_qr, parse_otpauth, qr_png_from_page, totp
from tests.support import FakeClock, csrf_token


def scan_setup_page(client: FlaskClient, tmp_path: Path) -> tuple[str, str]:
    """Open the setup page and read its QR code with zbarimg; return (page html, secret)."""
    page = client.get("/account/2fa/totp")
    assert page.status_code == 200, page.status_code
    uri = decode_qr(qr_png_from_page(page.text), tmp_path)
    return page.text, parse_otpauth(uri)["secret"]


def enroll(client: FlaskClient, clock: FakeClock, tmp_path: Path) -> str:
    """Set up an authenticator for the signed-in client; return its secret."""
    html, secret = scan_setup_page(client, tmp_path)
    response = client.post("/account/2fa/totp", data={"csrf_token": csrf_token_from(html),
                                                      "code": totp(secret, clock())})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return secret


def csrf_token_from(html: str) -> str:
    import re

    match = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', html)
    assert match
    return match.group(1)


def send_totp(client: FlaskClient, code: str) -> object:
    page = client.get("/2fa/verify?method=totp")
    return client.post("/2fa/verify?method=totp", data={"csrf_token": csrf_token(page), "code": code})
