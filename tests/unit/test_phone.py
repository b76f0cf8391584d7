"""Phone numbers as people type them: parsed to E.164, refused when no text should go there, masked."""

from __future__ import annotations

import pytest
from flask import Flask

from portal.phone import PhoneProblem, mask, parse


@pytest.fixture(autouse=True)
def request_context(app: Flask):
    with app.test_request_context():
        yield


@pytest.mark.parametrize(("raw", "region", "e164"), [
    ("138 0013 8000", "CN", "+8613800138000"),
    ("13800138000", "CN", "+8613800138000"),
    ("+86 138-0013-8000", "US", "+8613800138000"),  # a country code wins over the chosen country
    ("１３８ ００１３ ８０００", "CN", "+8613800138000"),  # full-width digits from a Chinese input method
    ("(415) 555-2671", "US", "+14155552671"),
    ("07400 123456", "GB", "+447400123456"),
    ("  +61 491 570 156  ", "AU", "+61491570156"),
])
def test_numbers_people_type_become_e164(raw: str, region: str, e164: str) -> None:
    assert parse(raw, region) == e164


@pytest.mark.parametrize(("raw", "region", "reason"), [
    ("", "CN", "empty"),
    ("12", "CN", "invalid"),
    ("not a number", "CN", "invalid"),
    ("138 0013 8000\x00", "CN", "invalid"),
    ("+86 138 0013 8000" + "0" * 40, "CN", "invalid"),
    ("+1 900 555 0123", "US", "premium"),
    ("0871 234 5678", "GB", "premium"),
    ("+86 10 6552 9988", "CN", "landline"),
    ("+1 800 555 0100", "US", "toll_free"),
    ("+1 415 555 2671 ext. 99", "US", "extension"),
    ("138 0013 8000 转 12", "CN", "invalid"),
])
def test_numbers_that_cannot_or_must_not_get_texts_are_refused(raw: str, region: str, reason: str) -> None:
    problem = parse(raw, region)
    assert isinstance(problem, PhoneProblem), problem
    assert problem.reason == reason
    assert problem.message.endswith(".")
    assert not raw.strip() or raw.strip() not in problem.message  # a sentence, not an echo


def test_an_allow_list_refuses_other_countries() -> None:
    assert parse("+14155552671", "CN", ("CN",)) == PhoneProblem(
        "country", "We cannot send text messages to numbers in that country.")
    assert parse("138 0013 8000", "CN", ("CN", "HK")) == "+8613800138000"


def test_an_unknown_region_still_reads_numbers_with_a_country_code() -> None:
    assert parse("+8613800138000", "ZZ") == "+8613800138000"
    assert isinstance(parse("13800138000", "ZZ"), PhoneProblem)


@pytest.mark.parametrize(("e164", "shown"), [
    ("+8613800138000", "+86•••••8000"),
    ("+14155552671", "+1•••••2671"),
    ("+447400123456", "+44•••••3456"),
])
def test_masks_keep_the_country_code_and_last_four_digits(e164: str, shown: str) -> None:
    assert mask(e164) == shown
    assert e164[-8:-4] not in mask(e164)
