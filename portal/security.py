"""Request-level security helpers: client IP, safe redirect targets, response headers."""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

from flask import Flask, Response, request

CSP = (
    "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def client_ip() -> str:
    """The peer address; ProxyFix rewrites it from trusted hops only (PROXY_HOPS)."""
    return request.remote_addr or "unknown"


def safe_next(target: str | None, default: str = "/account") -> str:
    """Return target if it is a path on this site, else default.

    Security: stops open redirects such as //evil.example, /\\evil.example, https://evil.example,
    and control, separator or space characters that browsers strip or fold before resolving.
    """
    if not target or len(target) > 2048:
        return default
    if any(unicodedata.category(ch)[0] in "CZ" or ch == "\\" for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
    if request.endpoint != "static":
        # Security: pages carry account data and CSRF tokens; no cache may keep them.
        headers["Cache-Control"] = "no-store"
        headers.add("Vary", "Cookie")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
    return response


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)
