"""A loopback test double of Tencent Cloud's API 3.0 (SMS SendSms), checking the TC3-HMAC-SHA256 signature."""

from tests.tencent_double.server import (
    DEFAULT_PURPOSES,
    DEFAULT_TEMPLATES,
    EMPTY,
    INTERNATIONAL_PURPOSES,
    Recorded,
    ScriptedFailure,
    Sms,
    Template,
    TencentDouble,
    tc3_signature,
)

__all__ = ["DEFAULT_PURPOSES", "DEFAULT_TEMPLATES", "EMPTY", "INTERNATIONAL_PURPOSES", "Recorded", "ScriptedFailure",
           "Sms", "Template", "TencentDouble", "tc3_signature"]
