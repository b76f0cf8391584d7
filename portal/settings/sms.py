"""SMS settings: the provider (Twilio Verify or Messaging, Tencent Cloud, console), the texts, the limits.

Their start-up checks are here too: a bad value stops the portal with a message naming the key.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

import phonenumbers

from portal.settings.base import (
    ConfigError,
    Feature,
    Setting,
    Values,
    check_rate_limit,
    parse_int,
    parse_list,
    parse_str,
)

SETTINGS: tuple[Setting, ...] = (
    Setting("SMS_PROVIDER", "console", parse_str,
            "Who sends SMS codes: twilio_verify, twilio_messaging, tencent (Tencent Cloud SMS, for mainland "
            "China), or console (development only: the server log and /dev/sms).",
            choices=("console", "twilio_verify", "twilio_messaging", "tencent")),
    Setting("SMS_CONSOLE_OUTBOX", "", parse_str,
            "File where the console provider keeps its texts for /dev/sms. Default: instance/sms-outbox.jsonl."),
    Setting("TWILIO_ACCOUNT_SID", "", parse_str, "Twilio account SID (AC…)."),
    Setting("TWILIO_AUTH_TOKEN", "", parse_str, "Twilio auth token (or use an API key pair).", secret=True),
    Setting("TWILIO_API_KEY_SID", "", parse_str, "Twilio API key SID (SK…); used instead of the auth token."),
    Setting("TWILIO_API_KEY_SECRET", "", parse_str, "Secret of TWILIO_API_KEY_SID.", secret=True),
    Setting("TWILIO_VERIFY_SERVICE_SID", "", parse_str, "Twilio Verify service SID (VA…) for twilio_verify."),
    Setting("TWILIO_MESSAGING_SERVICE_SID", "", parse_str,
            "Messaging service SID (MG…) for twilio_messaging; or set TWILIO_FROM_NUMBER."),
    Setting("TWILIO_FROM_NUMBER", "", parse_str, "Sender number in E.164 for twilio_messaging without a service."),
    Setting("TWILIO_BASE_URL", "", parse_str,
            "Send Twilio API requests to this origin instead of Twilio's own hosts (a proxy, or the test double)."),
    Setting("TWILIO_TIMEOUT", 10, parse_int, "HTTP timeout for Twilio requests, seconds.", minimum=1, maximum=10),
    Setting("TENCENT_SECRET_ID", "", parse_str, "Tencent Cloud API key SecretId (AKID…) for SMS_PROVIDER=tencent."),
    Setting("TENCENT_SECRET_KEY", "", parse_str, "Tencent Cloud API key SecretKey.", secret=True),
    Setting("TENCENT_SMS_SDK_APP_ID", "", parse_str, "SMS application SdkAppId (1400…) in the Tencent Cloud console."),
    Setting("TENCENT_SMS_SIGN_NAME", "", parse_str,
            "Approved SMS signature (签名) shown in 【】 at the start of each text; required for mainland numbers."),
    Setting("TENCENT_SMS_REGION", "ap-guangzhou", parse_str, "Tencent Cloud region of the SMS API."),
    Setting("TENCENT_SMS_TEMPLATES", None, parse_str,
            "JSON ids of approved mainland templates (for +86 numbers) per purpose (sign_in, enroll) and language, "
            "e.g. {\"sign_in\": {\"zh_Hans\": \"1234567\", \"en\": \"2345678\"}, \"enroll\": …}; each template "
            "takes the code as {1} and its minutes of validity as {2}."),
    Setting("TENCENT_SMS_INTERNATIONAL_TEMPLATES", None, parse_str,
            "The same for approved international templates, used for every number outside mainland China; "
            "without them such numbers get no texts from tencent."),
    Setting("TENCENT_SMS_ENDPOINT", "https://sms.tencentcloudapi.com", parse_str,
            "Origin of the Tencent Cloud SMS API (the test double in tests)."),
    Setting("TENCENT_SMS_TIMEOUT", 10, parse_int, "HTTP timeout for Tencent Cloud requests, seconds.",
            minimum=1, maximum=10),
    Setting("SMS_TEMPLATES", None, parse_str,
            "JSON texts for twilio_messaging and console per purpose (sign_in, enroll, generic) and language, "
            "each containing {{code}}, and if you like {{minutes}} (how long it is valid) and {{site}} (SITE_NAME). "
            "Default: built-in English and Chinese texts that name the site and the minutes."),
    Setting("SMS_DEFAULT_REGION", "CN", parse_str,
            "Country preselected on the phone form and assumed for numbers typed without +country code."),
    Setting("SMS_ALLOWED_COUNTRIES", (), parse_list,
            "Countries (ISO codes, comma-separated) whose numbers may enroll; empty allows all."),
    Setting("SMS_RESEND_COOLDOWN", 60, parse_int, "Seconds between two texts to one phone.",
            minimum=1, maximum=3600),
    Setting("SMS_CODE_TTL", 300, parse_int,
            "Seconds a code we generate stays valid (twilio_messaging, tencent, console).", minimum=60, maximum=900),
    Setting("SMS_MAX_CHECKS", 5, parse_int, "Wrong tries that kill a code we generated.", minimum=1, maximum=10),
    Setting("SMS_SENDS_PER_10_MINUTES", 5, parse_int, "Texts per 10 minutes, per account and per number.",
            minimum=1, maximum=100),
    Setting("SMS_SENDS_PER_DAY", 10, parse_int, "Texts per 24 hours per account.", minimum=1, maximum=1000),
    Setting("RATELIMIT_SMS", "10 per hour;30 per day", parse_str,
            "Per-IP limit on sending texts (Flask-Limiter syntax)."),
)

PURPOSES = ("sign_in", "enroll", "generic")
PLACEHOLDER = "{{code}}"
SITE, MINUTES = "{{site}}", "{{minutes}}"  # optional: SITE_NAME in the text's language, the minutes it is valid


def default_templates(minutes: int) -> dict[str, dict[str, str]]:
    """The built-in texts (SMS_TEMPLATES unset), saying how many minutes the code is valid."""
    lasts = f"It expires in {minutes} minute{'' if minutes == 1 else 's'}."
    return {
        "sign_in": {"en": f"Your {SITE} sign-in code is {PLACEHOLDER}. {lasts} Never share it.",
                    "zh_Hans": f"您的{SITE}登录验证码是 {PLACEHOLDER}，{MINUTES}分钟内有效。请勿告诉任何人。"},
        "enroll": {"en": f"Your {SITE} code to confirm this phone is {PLACEHOLDER}. {lasts} Never share it.",
                   "zh_Hans": f"您的{SITE}手机验证码是 {PLACEHOLDER}，{MINUTES}分钟内有效。请勿告诉任何人。"},
        "generic": {"en": f"Your {SITE} code is {PLACEHOLDER}. {lasts} Never share it.",
                    "zh_Hans": f"您的{SITE}验证码是 {PLACEHOLDER}，{MINUTES}分钟内有效。请勿告诉任何人。"},
    }


def code_minutes(ttl: int) -> int:
    """SMS_CODE_TTL in whole minutes, as the texts (and Tencent's {2}) say it: never more than it lasts."""
    return max(1, ttl // 60)


def _in_chinese_text(name: str) -> str:
    """A name between Chinese characters: spaced off when it begins or ends in Latin letters or digits."""
    return (" " if name[:1].isascii() else "") + name + (" " if name[-1:].isascii() else "")


def fill_in(templates: dict[str, dict[str, str]], names: dict[str, str], minutes: int, *,
            built_in: bool) -> dict[str, dict[str, str]]:
    """The texts with {{site}} and {{minutes}} filled in; {{code}} is left for each text sent. The built-in
    Chinese texts space off a Latin name (an operator's own texts are written around {{site}} as wanted)."""
    first = next(iter(names.values()))
    filled: dict[str, dict[str, str]] = {}
    for purpose, texts in templates.items():
        filled[purpose] = {}
        for language, text in texts.items():
            name = names.get(language, first)
            if built_in and language.startswith("zh"):
                name = _in_chinese_text(name)
            filled[purpose][language] = text.replace(SITE, name).replace(MINUTES, str(minutes))
    return filled


SID = {"TWILIO_ACCOUNT_SID": "AC", "TWILIO_API_KEY_SID": "SK", "TWILIO_VERIFY_SERVICE_SID": "VA",
       "TWILIO_MESSAGING_SERVICE_SID": "MG"}
E164 = re.compile(r"\+[1-9][0-9]{1,14}")


def _purposes_object(name: str, raw: str | dict[str, Any], example: str, purposes: tuple[str, ...],
                     what: str) -> dict[str, dict[str, Any]]:
    """A JSON setting shaped {purpose: {language: what}}: parsed, and its purposes and their objects checked."""
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{name}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{name}: expected a JSON object such as {example}")
    for purpose, entries in value.items():
        if purpose not in purposes:
            raise ConfigError(f"{name}: unknown purpose {purpose!r}; expected {', '.join(purposes)}")
        if not isinstance(entries, dict) or not entries:
            raise ConfigError(f"{name}[{purpose!r}]: expected an object of language → {what}")
    return value


def parse_templates(raw: str | dict[str, Any] | None, minutes: int = 5) -> dict[str, dict[str, str]]:
    """SMS_TEMPLATES as {purpose: {language: text}}; every text holds {{code}} and generic.en exists."""
    if raw is None or raw == "":
        return default_templates(minutes)
    value = _purposes_object("SMS_TEMPLATES", raw, '{"generic": {"en": "… {{code}}"}}', PURPOSES, "text")
    for purpose, texts in value.items():
        for language, text in texts.items():
            if not isinstance(text, str) or PLACEHOLDER not in text:
                raise ConfigError(f"SMS_TEMPLATES[{purpose!r}][{language!r}]: the text must contain {PLACEHOLDER}")
            if len(text) > 300:
                raise ConfigError(f"SMS_TEMPLATES[{purpose!r}][{language!r}]: longer than 300 characters")
    if "en" not in value.get("generic", {}):
        raise ConfigError("SMS_TEMPLATES: needs generic.en, the text used when nothing else fits")
    return value


def _region(name: str, code: str) -> str:
    code = code.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(f"{name}={code!r}: not a country code phonenumbers knows (e.g. CN, US, GB)")
    return code


def check(values: Values) -> None:
    """Validate and normalise the SMS settings in place."""
    check_rate_limit("RATELIMIT_SMS", values["RATELIMIT_SMS"])
    provider = values["SMS_PROVIDER"]
    minutes, raw = code_minutes(values["SMS_CODE_TTL"]), values["SMS_TEMPLATES"]
    values["SMS_TEMPLATES"] = fill_in(parse_templates(raw, minutes), values["SITE_NAMES"], minutes,
                                      built_in=raw is None or raw == "")
    values["SMS_DEFAULT_REGION"] = _region("SMS_DEFAULT_REGION", values["SMS_DEFAULT_REGION"])
    values["SMS_ALLOWED_COUNTRIES"] = tuple(_region("SMS_ALLOWED_COUNTRIES", c)
                                            for c in values["SMS_ALLOWED_COUNTRIES"])
    base = values["TWILIO_BASE_URL"]
    if base:
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
            raise ConfigError(f"TWILIO_BASE_URL={base!r}: expected an origin such as https://proxy.example:8443")
        if values["PORTAL_ENV"] == "production" and parts.scheme != "https":
            raise ConfigError(f"TWILIO_BASE_URL={base!r}: production talks to Twilio over https only")
    if provider == "console":
        if values["PORTAL_ENV"] == "production":
            raise ConfigError("SMS_PROVIDER='console': production sends real texts; choose twilio_verify, "
                              "twilio_messaging or tencent")
        return
    if provider == "tencent":
        check_tencent_settings(values)
        return
    for name, prefix in SID.items():
        sid = values[name]
        if sid and not re.fullmatch(prefix + "[0-9a-fA-F]{32}", sid):
            raise ConfigError(f"{name}={sid!r}: expected {prefix} followed by 32 hexadecimal characters")
    if not values["TWILIO_ACCOUNT_SID"]:
        raise ConfigError(f"TWILIO_ACCOUNT_SID: required with SMS_PROVIDER={provider!r}")
    if values["TWILIO_API_KEY_SID"]:
        if not values["TWILIO_API_KEY_SECRET"]:
            raise ConfigError("TWILIO_API_KEY_SECRET: required with TWILIO_API_KEY_SID")
    elif not values["TWILIO_AUTH_TOKEN"]:
        raise ConfigError(f"TWILIO_AUTH_TOKEN: required with SMS_PROVIDER={provider!r} (or set "
                          "TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET)")
    if provider == "twilio_verify" and not values["TWILIO_VERIFY_SERVICE_SID"]:
        raise ConfigError("TWILIO_VERIFY_SERVICE_SID: required with SMS_PROVIDER='twilio_verify'")
    if provider == "twilio_messaging":
        sender = values["TWILIO_FROM_NUMBER"]
        if sender and not E164.fullmatch(sender):
            raise ConfigError(f"TWILIO_FROM_NUMBER={sender!r}: expected E.164 such as +15005550006")
        if not sender and not values["TWILIO_MESSAGING_SERVICE_SID"]:
            raise ConfigError("TWILIO_MESSAGING_SERVICE_SID: required with SMS_PROVIDER='twilio_messaging' "
                              "(or set TWILIO_FROM_NUMBER)")


TENCENT_PURPOSES = ("sign_in", "enroll")
TEMPLATE_ID = re.compile(r"[0-9]{1,16}")


def parse_tencent_templates(raw: str | dict[str, Any] | None, languages: tuple[str, ...],
                            name: str = "TENCENT_SMS_TEMPLATES") -> dict[str, dict[str, str]]:
    """TENCENT_SMS_TEMPLATES as {purpose: {language: template id}}, with an id for sign_in and for enroll."""
    if raw is None or raw == "":
        raise ConfigError(f'{name}: required with SMS_PROVIDER=\'tencent\', e.g. {{"sign_in": {{"zh_Hans": '
                          '"1234567", "en": "2345678"}, "enroll": {"zh_Hans": "1234568", "en": "2345679"}}')
    value = _purposes_object(name, raw, '{"sign_in": {"zh_Hans": "1234567"}, …}', TENCENT_PURPOSES, "template id")
    for purpose, ids in value.items():
        for language, template in ids.items():
            if language not in languages:
                raise ConfigError(f"{name}[{purpose!r}]: unknown language {language!r}; expected one of "
                                  f"LANGUAGES ({', '.join(languages)})")
            if not isinstance(template, str | int) or not TEMPLATE_ID.fullmatch(str(template)):
                raise ConfigError(f"{name}[{purpose!r}][{language!r}]={template!r}: expected the template's "
                                  "numeric id from the Tencent Cloud console, such as \"1234567\"")
    for purpose in TENCENT_PURPOSES:
        if purpose not in value:
            raise ConfigError(f"{name}: needs a template for {purpose!r} (every purpose texts a code)")
    return {purpose: {language: str(t) for language, t in ids.items()} for purpose, ids in value.items()}


def check_tencent_settings(values: Values) -> None:
    """The settings of SMS_PROVIDER=tencent, each named when it is missing or malformed."""
    for name in ("TENCENT_SECRET_ID", "TENCENT_SECRET_KEY", "TENCENT_SMS_SDK_APP_ID"):
        value = values[name]
        if not value:
            raise ConfigError(f"{name}: required with SMS_PROVIDER='tencent'")
        if value != value.strip() or any(ch.isspace() for ch in value):
            raise ConfigError(f"{name}: contains spaces; paste the value from the Tencent Cloud console exactly")
        if not value.isascii() or not value.isprintable() or "," in value or "/" in value:
            raise ConfigError(f"{name}: contains characters no Tencent Cloud key has; paste it from the console")
    if not re.fullmatch(r"[0-9]{6,20}", values["TENCENT_SMS_SDK_APP_ID"]):
        raise ConfigError(f"TENCENT_SMS_SDK_APP_ID={values['TENCENT_SMS_SDK_APP_ID']!r}: expected the numeric "
                          "SdkAppId of the SMS application, such as 1400006666")
    sign = values["TENCENT_SMS_SIGN_NAME"].strip()
    if not sign:
        raise ConfigError("TENCENT_SMS_SIGN_NAME: required with SMS_PROVIDER='tencent' (the approved signature, "
                          "without 【】)")
    if "【" in sign or "】" in sign or len(sign) > 40 or not sign.isprintable():
        raise ConfigError(f"TENCENT_SMS_SIGN_NAME={sign!r}: the signature's name as approved, without 【】")
    values["TENCENT_SMS_SIGN_NAME"] = sign
    region = values["TENCENT_SMS_REGION"].strip()
    if not re.fullmatch(r"[a-z]{2,4}(-[a-z]+)+", region):
        raise ConfigError(f"TENCENT_SMS_REGION={region!r}: expected a Tencent Cloud region such as ap-guangzhou")
    values["TENCENT_SMS_REGION"] = region
    endpoint = values["TENCENT_SMS_ENDPOINT"]
    parts = urlsplit(endpoint)
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
    if (parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") or parts.query
            or parts.fragment or "@" in parts.netloc or not port_ok):
        raise ConfigError(f"TENCENT_SMS_ENDPOINT={endpoint!r}: expected an origin such as "
                          "https://sms.tencentcloudapi.com")
    if values["PORTAL_ENV"] == "production" and parts.scheme != "https":
        raise ConfigError(f"TENCENT_SMS_ENDPOINT={endpoint!r}: production talks to Tencent Cloud over https only")
    values["TENCENT_SMS_TEMPLATES"] = parse_tencent_templates(values["TENCENT_SMS_TEMPLATES"], values["LANGUAGES"])
    abroad = values["TENCENT_SMS_INTERNATIONAL_TEMPLATES"]
    values["TENCENT_SMS_INTERNATIONAL_TEMPLATES"] = parse_tencent_templates(
        abroad, values["LANGUAGES"], "TENCENT_SMS_INTERNATIONAL_TEMPLATES") if abroad else None


FEATURE = Feature("sms", SETTINGS, check=check)
