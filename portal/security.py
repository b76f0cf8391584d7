"""Request-level security helpers: client IP, safe redirect targets, response headers."""

from __future__ import annotations

import io
import unicodedata
from typing import IO
from urllib.parse import urlsplit

from flask import Flask, Request, Response, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import cached_property

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


class BoundedRequest(Request):
    """A request whose body, sent without a Content-Length (chunked), is held to MAX_CONTENT_LENGTH as well.

    Werkzeug wraps such a stream in a limit but reads a form body only up to it, so an urlencoded body past
    the limit was cut silently (fields after the cut lost, or the sign-in going ahead) instead of refused.
    The body is read here up to one byte past the limit: more than the limit is a 413, whatever the framing.
    """

    @cached_property
    def stream(self) -> IO[bytes]:
        limit = self.max_content_length
        if limit is None or self.content_length is not None or "wsgi.input_terminated" not in self.environ:
            return super().stream
        raw, body = self.environ["wsgi.input"], bytearray()
        while len(body) <= limit:  # a server's read may return less than asked before the end
            chunk = raw.read(limit + 1 - len(body))
            if not chunk:
                break
            body += chunk
        if len(body) > limit:
            # Every later read is refused too: the rest of the body must never parse as a form of its own.
            self.__dict__["stream"] = _Refused()
            raise RequestEntityTooLarge()
        return io.BytesIO(bytes(body))


class _Refused(io.RawIOBase):
    """The stream of a body that was too large: each read raises 413 again."""

    def readable(self) -> bool:
        return True

    def readinto(self, _buffer: object) -> int:
        raise RequestEntityTooLarge()


def init_app(app: Flask) -> None:
    app.request_class = BoundedRequest
    app.after_request(add_security_headers)
