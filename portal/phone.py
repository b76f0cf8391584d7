"""Phone numbers: parse what people type into E.164 with phonenumbers, refuse what we will not text, mask."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import phonenumbers
from flask_babel import gettext as _
from phonenumbers import NumberParseException, PhoneNumberType

MAX_INPUT = 40  # longer than any number with spaces and a country code
# Security: texts to these cost the sender money per message (toll fraud) or reach no phone.
REFUSED_TYPES = {
    PhoneNumberType.PREMIUM_RATE: "premium",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.FIXED_LINE: "landline",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.VOIP: None,  # allowed: many people's only number
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "uan",
    PhoneNumberType.VOICEMAIL: "voicemail",
}


@dataclass(frozen=True)
class PhoneProblem:
    """Why a number was refused: a key for tests and logs, and the message a person reads."""

    reason: str
    message: str


def regions() -> list[str]:
    """Every region phonenumbers knows, sorted (ISO 3166 codes)."""
    return sorted(phonenumbers.SUPPORTED_REGIONS)


def parse(raw: str, region: str, allowed: tuple[str, ...] = ()) -> str | PhoneProblem:
    """Return the number in E.164 (+8613800138000), or the problem with it.

    region applies to numbers typed without +country code. NFKC turns full-width digits into ASCII.
    """
    text = unicodedata.normalize("NFKC", raw or "").strip()
    if not text:
        return PhoneProblem("empty", _("Enter your mobile number."))
    if len(text) > MAX_INPUT or any(unicodedata.category(ch).startswith("C") for ch in text):
        return PhoneProblem("invalid", _("That does not look like a phone number. Check it and try again."))
    region = region.upper() if region.upper() in phonenumbers.SUPPORTED_REGIONS else "ZZ"
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        return PhoneProblem("invalid", _("That does not look like a phone number. Check it and try again."))
    if number.extension:  # a text cannot reach an extension: say so rather than drop it silently
        return PhoneProblem("extension", _("Text messages cannot go to an extension. Enter the mobile number "
                                           "without it."))
    if not phonenumbers.is_valid_number(number):
        return PhoneProblem("invalid", _("That is not a valid number for the country you chose. Check the "
                                         "country and the number."))
    country = phonenumbers.region_code_for_number(number)
    if allowed and country not in allowed:
        return PhoneProblem("country", _("We cannot send text messages to numbers in that country."))
    kind = REFUSED_TYPES.get(phonenumbers.number_type(number))
    if kind in ("premium", "shared_cost"):
        return PhoneProblem(kind, _("Premium-rate and shared-cost numbers cannot receive codes. Use your "
                                    "mobile number."))
    if kind is not None:
        return PhoneProblem(kind, _("That number cannot receive text messages. Use your mobile number."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask(e164: str) -> str:
    """+8613800138000 → +86•••••8000: country code and last four digits only."""
    try:
        code = str(phonenumbers.parse(e164).country_code)
    except NumberParseException:
        code = ""
    rest = e164.lstrip("+")[len(code):]
    return f"+{code}•••••{rest[-4:]}" if len(rest) > 4 else "•••••"


def readable(e164: str) -> str:
    """+8613800138000 → +86 138 0013 8000: the whole number, grouped the way its country writes it.

    Only for the person who just typed it (the confirmation step, to catch a typo); logs, emails and the
    audit log keep mask().
    """
    try:
        return phonenumbers.format_number(phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except NumberParseException:
        return e164
