"""One Twilio REST client per app: the real SDK, a bounded timeout, and an optional base URL.

TWILIO_BASE_URL sends every request the SDK would make to https://<product>.twilio.com to another
origin instead (the loopback Twilio double in tests, or an egress proxy), keeping path and query.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

TWILIO_HOST_SUFFIX = ".twilio.com"


class RoutedHttpClient(TwilioHttpClient):  # type: ignore[misc]  # twilio ships no types: its base class is Any
    """Twilio's own HTTP client, with its requests re-addressed to base_url when one is set."""

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__(pool_connections=True, timeout=timeout)
        self.base_url = base_url.rstrip("/")

    def route(self, url: str) -> str:
        """https://verify.twilio.com/v2/… → {base_url}/v2/… (no base URL: unchanged)."""
        parts = urlsplit(url)
        if not self.base_url or not (parts.hostname or "").endswith(TWILIO_HOST_SUFFIX):
            return url
        return self.base_url + parts.path + (f"?{parts.query}" if parts.query else "")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        return super().request(method, self.route(url), *args, **kwargs)


def make_client(cfg: Mapping[str, Any]) -> Client:
    """Authenticate with an API key pair when one is set (Twilio's advice), else the auth token."""
    http = RoutedHttpClient(cfg["TWILIO_BASE_URL"], timeout=cfg["TWILIO_TIMEOUT"])
    if cfg["TWILIO_API_KEY_SID"]:
        return Client(cfg["TWILIO_API_KEY_SID"], cfg["TWILIO_API_KEY_SECRET"], cfg["TWILIO_ACCOUNT_SID"],
                      http_client=http, environment={})
    return Client(cfg["TWILIO_ACCOUNT_SID"], cfg["TWILIO_AUTH_TOKEN"], http_client=http, environment={})
