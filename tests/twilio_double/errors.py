"""Twilio's error catalogue (the codes the double speaks) and the JSON error body Twilio sends."""

from __future__ import annotations

from typing import Any

# code -> (HTTP status, message). {to}, {path}, {param} and {sid} are filled from the request when known.
ERRORS: dict[int, tuple[int, str]] = {
    20001: (400, "Invalid parameter {param}"),
    20003: (401, "Authenticate"),
    20004: (405, "Method not allowed"),
    20404: (404, "The requested resource {path} was not found"),
    20429: (429, "Too Many Requests"),
    20500: (500, "Internal Server Error"),
    20503: (503, "Service Unavailable"),
    21211: (400, "Invalid 'To' Phone Number: {to}"),
    21408: (400, "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: {to}"),
    21602: (400, "Message body is required."),
    21603: (400, "A 'From' phone number is required."),
    21604: (400, "A 'To' phone number is required."),
    21606: (400, "The 'From' phone number provided is not a valid message-capable Twilio phone number for this "
                 "destination/account"),
    21610: (400, "Attempt to send to unsubscribed recipient"),
    21617: (400, "The concatenated message body exceeds the 1600 character limit"),
    21705: (400, "The Messaging Service Sid {sid} is invalid"),
    60200: (400, "Invalid parameter: {param}"),
    60202: (429, "Max check attempts reached"),
    60203: (429, "Max send attempts reached"),
    60212: (429, "Too many concurrent requests for phone number"),
    60410: (403, "Verification delivery attempt blocked"),
}


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def more_info(code: int) -> str:
    """The documentation link Twilio puts in every error."""
    return f"https://www.twilio.com/docs/errors/{code}"


def error_payload(code: int, status: int | None = None, message: str | None = None,
                  **fill: str) -> dict[str, Any]:
    """{"code", "message", "more_info", "status"} as Twilio sends it; status/message default from ERRORS."""
    known_status, template = ERRORS.get(code, (status or 400, message or "Error"))
    text = (message or template).format_map(_Blank(fill)).strip().rstrip(":").strip()
    return {"code": code, "message": text, "more_info": more_info(code), "status": status or known_status}
