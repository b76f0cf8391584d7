"""Tools the tests use to act like a phone: an RFC 6238 implementation of our own (not pyotp, which
the portal uses), Debian's oathtool as a second, outside implementation, and zbarimg to read QR codes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import shutil
import struct
import subprocess
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from tests.conftest import missing_service


def hotp(key: bytes, counter: int, digits: int = 6, digest: str = "sha1") -> str:
    """RFC 4226 section 5.3, written from the RFC."""
    mac = hmac.new(key, struct.pack(">Q", counter), getattr(hashlib, digest)).digest()
    offset = mac[-1] & 0x0F
    binary = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(binary % 10**digits).zfill(digits)


def b32_key(secret: str) -> bytes:
    cleaned = secret.replace(" ", "").upper()
    return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))


def totp(secret: str, at: datetime, step_offset: int = 0) -> str:
    """The 6-digit code an RFC 6238 app shows at time at (30 s steps, SHA-1)."""
    return hotp(b32_key(secret), int(at.timestamp()) // 30 + step_offset)


def oathtool_code(secret: str, at: datetime) -> str:
    """The same code from oathtool (Debian's oath-toolkit), an implementation we did not write."""
    tool = shutil.which("oathtool")
    if tool is None:
        missing_service("oathtool (Debian package oathtool)")
    stamp = at.strftime("%Y-%m-%d %H:%M:%S UTC")
    result = subprocess.run([tool, "--totp", "--base32", "--now", stamp, secret.replace(" ", "")],
                            capture_output=True, text=True, check=True, timeout=10)
    return result.stdout.strip()


def decode_qr(png: bytes, tmp_path: Path) -> str:
    """Read a QR code from PNG bytes with zbarimg, as an ordinary QR reader would."""
    tool = shutil.which("zbarimg")
    if tool is None:
        missing_service("zbarimg (Debian package zbar-tools)")
    image = tmp_path / "qr.png"
    image.write_bytes(png)
    result = subprocess.run([tool, "--quiet", "--raw", str(image)], capture_output=True, text=True, timeout=20)
    assert result.returncode == 0, f"zbarimg could not read the QR code: {result.stderr}"
    return result.stdout.strip()


def qr_png_from_page(html: str) -> bytes:
    match = re.search(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert match, "no inline PNG QR code on the page"
    return base64.b64decode(match.group(1))


def parse_otpauth(uri: str) -> dict[str, str]:
    """Split an otpauth:// URI into type, issuer, account and its parameters."""
    parts = urlsplit(uri)
    assert parts.scheme == "otpauth", uri
    label = unquote(parts.path.lstrip("/"))
    issuer, _, account = label.partition(":")
    params = {k: v[0] for k, v in parse_qs(parts.query, strict_parsing=True).items()}
    return {"type": parts.netloc, "label_issuer": issuer, "account": account, **params}
