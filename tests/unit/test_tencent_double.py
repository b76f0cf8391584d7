"""The double's TC3-HMAC-SHA256 is Tencent's: a known answer, and the SDK's own signer on other inputs."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from tencentcloud.common.sign import Sign

from tests.tencent_double import ScriptedFailure, tc3_signature

KEY, HOST, STAMP = "test-secret-key-0000000000000000", "127.0.0.1:8080", 1700000000
BODY = b'{"PhoneNumberSet": ["+8613800000000"]}'


def test_a_known_answer() -> None:
    """Computed once with the SDK (tencentcloud-sdk-python-common 3.1.195) for these inputs."""
    headers = {"content-type": "application/json", "host": HOST}
    assert tc3_signature(KEY, "sms", STAMP, headers, ["content-type", "host"], BODY) == \
        "f42096211c47a9e3cbd546198ba005e43754e90c6717767f1f3471e60133255d"


@pytest.mark.parametrize(("host", "stamp", "body"), [
    ("localhost:1234", 1796298299, b'{"SignName": "\\u817e\\u8baf\\u4e91"}'),
    ("sms.tencentcloudapi.com", 86399, b""),
])
def test_the_sdk_signer_agrees(host: str, stamp: int, body: bytes) -> None:
    headers = {"content-type": "application/json", "host": host}
    canonical = "\n".join(["POST", "/", "", f"content-type:application/json\nhost:{host}\n", "content-type;host",
                           hashlib.sha256(body).hexdigest()])
    date = datetime.fromtimestamp(stamp, tz=UTC).strftime("%Y-%m-%d")
    to_sign = "\n".join(["TC3-HMAC-SHA256", str(stamp), f"{date}/sms/tc3_request",
                         hashlib.sha256(canonical.encode()).hexdigest()])
    assert tc3_signature(KEY, "sms", stamp, headers, ["content-type", "host"], body) == \
        Sign.sign_tc3(KEY, date, "sms", to_sign)
    assert tc3_signature(KEY + "x", "sms", stamp, headers, ["content-type", "host"], body) != \
        Sign.sign_tc3(KEY, date, "sms", to_sign)


def test_a_scripted_failure_needs_what_it_answers() -> None:
    with pytest.raises(ValueError, match="needs Tencent's code"):
        ScriptedFailure(kind="status")
    with pytest.raises(ValueError, match="unknown failure kind"):
        ScriptedFailure(kind="explode")  # type: ignore[arg-type]
