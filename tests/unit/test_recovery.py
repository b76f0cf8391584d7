"""Recovery codes: their format, canonical form, storage (Argon2id hashes only) and single use."""

from __future__ import annotations

import itertools
import math
import re
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import argon2
import pytest
from flask import Flask
from sqlalchemy import select

from portal.clock import as_utc
from portal.extensions import db
from portal.factors import recovery
from portal.factors.base import Reason, Verdict
from portal.factors.recovery import (
    ALPHABET,
    CODES_PER_SET,
    LENGTH,
    SELECTOR,
    RecoveryMethod,
    canonical_recovery,
    generate_set,
    has_set,
    new_code,
    remaining,
    replace_set,
    selector_of,
    set_token,
    shown,
)
from portal.models import RecoveryCode, User
from tests.support import FakeClock

# --- format --------------------------------------------------------------------------------------


def test_a_new_code_is_twelve_alphabet_characters() -> None:
    for _ in range(50):
        code = new_code()
        assert len(code) == LENGTH == 12
        assert set(code) <= set(ALPHABET), code


def test_the_alphabet_is_crockford_base32() -> None:
    assert len(ALPHABET) == 32
    assert len(set(ALPHABET)) == 32
    assert ALPHABET.isascii()
    assert ALPHABET.isupper()
    for confusable in "ILOU":
        assert confusable not in ALPHABET
        assert confusable.lower() not in ALPHABET


def test_a_code_is_shown_in_three_groups_of_four() -> None:
    assert shown("ABCDEFGHJKMN") == "ABCD-EFGH-JKMN"
    code = new_code()
    parts = shown(code).split("-")
    assert [len(p) for p in parts] == [4, 4, 4]
    assert "".join(parts) == code


def test_a_code_carries_at_least_60_bits() -> None:
    assert LENGTH * math.log2(len(ALPHABET)) >= 60


def test_codes_come_from_secrets_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    # random.choice (a Mersenne Twister: predictable from its output) would not go through here.
    drawn: list[str] = []

    def counting(alphabet: str) -> str:
        drawn.append(alphabet)
        return alphabet[len(drawn) % len(alphabet)]

    monkeypatch.setattr(secrets, "choice", counting)
    assert new_code() == "".join(ALPHABET[n] for n in range(1, LENGTH + 1))
    assert drawn == [ALPHABET] * LENGTH


def test_codes_are_distinct_and_use_the_whole_alphabet() -> None:
    # 24,000 characters: each of the 32 is expected ~750 times; missing one has probability ~1e-329.
    # Two equal codes out of 2000 at 60 bits: ~2e-12.
    codes = [new_code() for _ in range(2000)]
    assert len(set(codes)) == len(codes)
    assert set("".join(codes)) == set(ALPHABET)


# --- canonical form ------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [
    "ABCD-EFGH-JKMN",
    "ABCDEFGHJKMN",
    "abcd-efgh-jkmn",
    "abcdefghjkmn",
    "AbCd-eFgH-jKmN",
    "ABCD EFGH JKMN",
    "  ABCD-EFGH-JKMN  ",
    "ABCD\tEFGH\u00a0JKMN",
    "ABCD\u3000EFGH\u3000JKMN",  # ideographic spaces
    "ＡＢＣＤ－ＥＦＧＨ－ＪＫＭＮ",  # full-width letters and hyphens (NFKC: U+FF0D becomes "-")
    "ａｂｃｄｅｆｇｈｊｋｍｎ",
    "ABCD\u2013EFGH\u2013JKMN",  # en dashes
    "ABCD\u2014EFGH\u2212JKMN",  # em dash, minus sign
    "ABCD\u2010EFGH\u2011JKMN",  # hyphen, non-breaking hyphen
])
def test_typed_forms_of_a_code_map_to_the_canonical_form(raw: str) -> None:
    assert canonical_recovery(raw) == "ABCDEFGHJKMN"
    assert RecoveryMethod().canonical(raw) == "ABCDEFGHJKMN"


@pytest.mark.parametrize(("raw", "expected"), [
    ("O0O0-o0o0-0000", "000000000000"),
    ("IiLl-1111-IL1l", "111111111111"),
    ("ABCO-EFGI-JKML", "ABC0EFG1JKM1"),
    ("ＯＩＬ0-AAAA-AAAA", "0110AAAAAAAA"),
])
def test_letters_read_as_digits_map_to_the_digits(raw: str, expected: str) -> None:
    assert canonical_recovery(raw) == expected


def test_the_canonical_form_is_a_fixed_point() -> None:
    for _ in range(20):
        code = new_code()
        assert canonical_recovery(code) == code
        assert canonical_recovery(shown(code)) == code
        assert canonical_recovery(shown(code).lower()) == code


@pytest.mark.parametrize("raw", [
    "",
    "   ",
    "----",
    "ABCD-EFGH-JKM",  # 11
    "ABCD-EFGH-JKMNP",  # 13
    "ABCDEFGHJKMNABCDEFGHJKMN",
    "ABCD-EFGH-JKMU",  # U is not in the alphabet (and maps to nothing)
    "uuuu-uuuu-uuuu",
    "ABCD_EFGH_JKMN",
    "ABCD.EFGH.JKMN",
    "ABCD/EFGH/JKMN",
    "ABCD-EFGH-JKM!",
    "ABCD-EFGH-JKM+",
    "ABCD-EFGH-JK*N",
    "ABCD-EFGH-JKMÉ",  # non-ASCII letters
    "ABCD-EFGH-JKMÄ",
    "ABCD-EFGH-JKMЖ",
    "ΑBCD-EFGH-JKMN",  # Greek capital alpha, looks like A
    "АBCD-EFGH-JKMN",  # Cyrillic capital a, looks like A
    "ABCD-EFGH-JKM\u0301",  # a combining accent is not a character of the code
    "ABCD-EFGH-JKMN\x00",
    "ABCD-EFGH-JKM٣",  # Arabic-Indic digit three
    "ßßßßßß",  # upper-cases to SSSSSSSSSSSS: 12 alphabet characters, yet not a code anyone was shown
    "ıııı-ıııı-ıııı",  # dotless i upper-cases to I, which Crockford reads as 1
    "123456",
])
def test_anything_else_is_refused(raw: str) -> None:
    assert canonical_recovery(raw) is None
    assert RecoveryMethod().canonical(raw) is None


# --- generating a set ----------------------------------------------------------------------------


def new_set(app: Flask, user: User, clock: FakeClock) -> list[str]:
    with app.app_context():
        codes = generate_set(user, clock())
        db.session.commit()
    return codes


def rows_of(app: Flask, user: User) -> list[RecoveryCode]:
    with app.app_context():
        rows = list(db.session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)))
        db.session.expunge_all()
    return rows


def every_stored_value(app: Flask) -> Iterator[str]:
    """Every column value of every row of every table, as text."""
    with app.app_context():
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(select(table)):
                for value in row:
                    if value is not None:
                        yield value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def selectors_of(app: Flask, codes: list[str]) -> list[str]:
    with app.app_context():
        return [selector_of(code) for code in codes]


def code_with_selector(app: Flask, selector: str, avoid: list[str]) -> str:
    """A well-formed code, not in avoid, whose selector is selector (about 65,536 keyed hashes)."""
    with app.app_context():
        for n in itertools.count():
            code = "".join(ALPHABET[(n >> (5 * i)) & 31] for i in range(LENGTH))
            if code not in avoid and selector_of(code) == selector:
                return code
    raise AssertionError("unreachable")


def test_a_set_is_ten_codes_with_distinct_selectors(app: Flask, clock: FakeClock, alice: User) -> None:
    codes = new_set(app, alice, clock)
    assert len(codes) == CODES_PER_SET == 10
    assert all(canonical_recovery(code) == code for code in codes)
    selectors = selectors_of(app, codes)
    assert len(set(selectors)) == len(codes)
    assert all(re.fullmatch(f"[0-9a-f]{{{SELECTOR}}}", s) for s in selectors), selectors
    rows = rows_of(app, alice)
    assert len(rows) == 10
    assert sorted(row.selector for row in rows) == sorted(selectors)
    assert all(row.used_at is None for row in rows)
    assert all(as_utc(row.created_at) == clock() for row in rows)
    with app.app_context():
        assert has_set(alice) is True
        assert remaining(alice) == 10


def test_rows_hold_only_argon2id_hashes_with_the_configured_parameters(app: Flask, clock: FakeClock,
                                                                       alice: User) -> None:
    codes = new_set(app, alice, clock)
    params = (f"m={app.config['ARGON2_MEMORY_COST']},t={app.config['ARGON2_TIME_COST']},"
              f"p={app.config['ARGON2_PARALLELISM']}")
    rows = rows_of(app, alice)
    for row in rows:
        parts = row.code_hash.split("$")
        assert row.code_hash.startswith("$argon2id$"), row.code_hash
        assert parts[3] == params, row.code_hash
    by_selector = dict(zip(selectors_of(app, codes), codes, strict=True))
    hasher = argon2.PasswordHasher()
    for row in rows:
        assert hasher.verify(row.code_hash, by_selector[row.selector])


def test_the_hash_follows_the_argon2_settings(app: Flask, make_app: Callable[..., Flask], clock: FakeClock,
                                              alice: User) -> None:
    other = make_app(ARGON2_MEMORY_COST=128, ARGON2_TIME_COST=2, ARGON2_PARALLELISM=2)
    new_set(other, alice, clock)
    assert {row.code_hash.split("$")[3] for row in rows_of(other, alice)} == {"m=128,t=2,p=2"}


def test_no_stored_value_contains_a_code(app: Flask, clock: FakeClock, alice: User) -> None:
    codes = new_set(app, alice, clock)
    values = list(every_stored_value(app))
    assert {row.code_hash for row in rows_of(app, alice)} <= set(values)  # the search does see the rows
    for code in codes:
        for form in (code, shown(code), code.lower(), shown(code).lower(), code[:8], code[4:], code[:8].lower()):
            assert not any(form in value for value in values), form


def test_the_selector_is_keyed_so_a_dump_alone_tells_nothing(app: Flask, make_app: Callable[..., Flask],
                                                            clock: FakeClock, alice: User) -> None:
    codes = new_set(app, alice, clock)
    stored = {row.selector for row in rows_of(app, alice)}
    assert stored == set(selectors_of(app, codes))
    # Not a part of the code (the old selector was its first 4 characters, 20 of its 60 bits).
    assert not any(row.selector.upper() in code for row in rows_of(app, alice) for code in codes)
    # Without the secret key the selectors cannot be computed: another key gives other selectors.
    other = make_app(SECRET_KEY="another-" + secrets.token_urlsafe(40))
    elsewhere = selectors_of(other, codes)
    assert sum(a == b for a, b in zip(elsewhere, selectors_of(app, codes), strict=True)) <= 1  # 1/65536 each


def test_a_code_whose_selector_is_taken_is_drawn_again(app: Flask, clock: FakeClock, alice: User,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    with app.app_context():
        seen: dict[str, str] = {}
        for n in itertools.count():
            code = "".join(ALPHABET[(n >> (5 * i)) & 31] for i in range(LENGTH))
            if selector_of(code) in seen:
                first, twin = seen[selector_of(code)], code
                break
            seen[selector_of(code)] = code
    draws = iter([first, twin, *(new_code() for _ in range(50))])
    monkeypatch.setattr(recovery, "new_code", lambda: next(draws))
    codes = new_set(app, alice, clock)
    assert codes[0] == first
    assert twin not in codes
    assert len(set(selectors_of(app, codes))) == 10
    assert len(rows_of(app, alice)) == 10

def test_every_hash_has_its_own_salt(app: Flask, clock: FakeClock, alice: User) -> None:
    new_set(app, alice, clock)
    hashes = [row.code_hash for row in rows_of(app, alice)]
    assert len(set(hashes)) == 10
    salts = [h.split("$")[4] for h in hashes]
    assert all(salts)
    assert len(set(salts)) == 10


def test_a_new_set_replaces_the_old_one_entirely(app: Flask, clock: FakeClock, alice: User, bob: User) -> None:
    first = new_set(app, alice, clock)
    bobs = new_set(app, bob, clock)
    first_ids = {row.id for row in rows_of(app, alice)}
    first_hashes = {row.code_hash for row in rows_of(app, alice)}
    clock.advance(60)
    second = new_set(app, alice, clock)
    assert not set(first) & set(second)
    rows = rows_of(app, alice)
    assert len(rows) == 10
    assert not {row.id for row in rows} & first_ids
    assert not {row.code_hash for row in rows} & first_hashes
    assert all(as_utc(row.created_at) == clock() for row in rows)
    # Bob's set is untouched, and none of Alice's old codes opens anything.
    assert len(rows_of(app, bob)) == 10
    for code in first[:3]:
        assert verify(app, alice, code, clock).reason == Reason.INVALID
    assert verify(app, bob, bobs[0], clock).ok is True


def test_replace_set_needs_the_token_of_the_current_set(app: Flask, clock: FakeClock, alice: User) -> None:
    first = new_set(app, alice, clock)
    with app.app_context():
        token = set_token(alice)
        assert set_token(alice) == token  # stable while the set stays
        second = replace_set(alice, clock(), token)
        db.session.commit()
        assert second is not None and len(second) == 10
        assert set_token(alice) != token
        assert replace_set(alice, clock(), token) is None  # the same form again: refused
        db.session.rollback()
    assert verify(app, alice, first[0], clock).reason == Reason.INVALID
    assert verify(app, alice, second[0], clock).ok is True
    assert len(rows_of(app, alice)) == 10


def test_the_token_changes_with_every_set_even_at_the_same_instant(app: Flask, clock: FakeClock,
                                                                   alice: User) -> None:
    # SQLite may reuse the ids of deleted rows and the clock does not move: the salted hashes differ.
    tokens = set()
    for _ in range(3):
        new_set(app, alice, clock)
        with app.app_context():
            tokens.add(set_token(alice))
    assert len(tokens) == 3


# --- verification --------------------------------------------------------------------------------


def verify(app: Flask, user: User, code: str, clock: FakeClock) -> Verdict:
    with app.app_context():
        verdict = RecoveryMethod().verify(user, code, now=clock())
        db.session.commit()
    return verdict


@pytest.fixture
def argon2_verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts PasswordHasher.verify calls; the real verification still runs."""
    calls: list[str] = []
    original = argon2.PasswordHasher.verify

    def counting(self: argon2.PasswordHasher, hash: str | bytes, password: str | bytes) -> Any:
        calls.append(str(hash))
        return original(self, hash, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", counting)
    return calls


def test_a_redemption_costs_exactly_one_argon2_verification(app: Flask, clock: FakeClock, alice: User,
                                                            argon2_verifications: list[str]) -> None:
    codes = new_set(app, alice, clock)
    selectors = selectors_of(app, codes)
    matching = code_with_selector(app, selectors[1], codes)
    unmatched = next(c for c in (new_code() for _ in range(100)) if selectors_of(app, [c])[0] not in selectors)
    argon2_verifications.clear()
    cases = [
        ("correct", codes[0], True, None),
        ("wrong, selector matches", matching, False, Reason.INVALID),
        ("wrong, selector matches nothing", unmatched, False, Reason.INVALID),
        ("used", codes[0], False, Reason.REPLAYED),
    ]
    for name, code, ok, reason in cases:
        argon2_verifications.clear()
        verdict = verify(app, alice, code, clock)
        assert (verdict.ok, verdict.reason) == (ok, reason), name
        assert len(argon2_verifications) == 1, (name, argon2_verifications)
    with app.app_context():
        assert remaining(alice) == 9


def test_a_code_that_is_no_code_costs_one_verification_too(app: Flask, clock: FakeClock, alice: User,
                                                          argon2_verifications: list[str]) -> None:
    new_set(app, alice, clock)
    for raw in ("", "123456", "not a code"):
        argon2_verifications.clear()
        assert verify(app, alice, raw, clock).reason == Reason.INVALID
        assert len(argon2_verifications) == 1, raw


def test_a_valid_code_works_once(app: Flask, clock: FakeClock, alice: User) -> None:
    codes = new_set(app, alice, clock)
    assert verify(app, alice, codes[3], clock).ok is True
    clock.advance(3600)
    replayed = verify(app, alice, codes[3], clock)
    assert (replayed.ok, replayed.reason) == (False, Reason.REPLAYED)
    rows = {row.selector: row for row in rows_of(app, alice)}
    assert rows[selectors_of(app, [codes[3]])[0]].used_at is not None
    assert sum(row.used_at is not None for row in rows.values()) == 1
    assert verify(app, alice, codes[4], clock).ok is True  # the others still work
    with app.app_context():
        assert remaining(alice) == 8


def test_each_code_of_the_set_works(app: Flask, clock: FakeClock, alice: User) -> None:
    codes = new_set(app, alice, clock)
    with app.app_context():
        assert RecoveryMethod().is_enrolled(alice) is True
    for code in codes:
        assert verify(app, alice, code, clock).ok is True
    with app.app_context():
        assert remaining(alice) == 0
        assert RecoveryMethod().is_enrolled(alice) is False
        assert has_set(alice) is True


def test_another_users_code_is_invalid(app: Flask, clock: FakeClock, alice: User, bob: User) -> None:
    alices = new_set(app, alice, clock)
    bobs = new_set(app, bob, clock)
    for code in alices:
        verdict = verify(app, bob, code, clock)
        assert (verdict.ok, verdict.reason) == (False, Reason.INVALID)
    assert verify(app, alice, alices[0], clock).ok is True  # not spent by Bob's attempt
    assert verify(app, bob, bobs[0], clock).ok is True


def test_a_user_without_a_set_is_refused(app: Flask, clock: FakeClock, alice: User) -> None:
    verdict = verify(app, alice, new_code(), clock)
    assert (verdict.ok, verdict.reason) == (False, Reason.INVALID)


def test_a_wrong_code_whose_selector_matches_is_invalid_and_spends_nothing(app: Flask, clock: FakeClock,
                                                                         alice: User) -> None:
    codes = new_set(app, alice, clock)
    verdict = verify(app, alice, code_with_selector(app, selectors_of(app, codes)[0], codes), clock)
    assert (verdict.ok, verdict.reason) == (False, Reason.INVALID)
    with app.app_context():
        assert remaining(alice) == 10
    assert verify(app, alice, codes[0], clock).ok is True


def test_typed_forms_of_a_code_work_through_canonical(app: Flask, clock: FakeClock, alice: User) -> None:
    codes = new_set(app, alice, clock)
    method = RecoveryMethod()
    typed = [codes[0].lower(), shown(codes[1]).lower(), shown(codes[2]).replace("-", " ")]
    for raw in typed:
        code = method.canonical(raw)
        assert code is not None, raw
        assert verify(app, alice, code, clock).ok is True, raw
    assert verify(app, alice, codes[0], clock).reason == Reason.REPLAYED


# --- presentation --------------------------------------------------------------------------------


def test_label_and_format_hint_are_non_empty(app: Flask) -> None:
    method = RecoveryMethod()
    with app.test_request_context():
        label, hint = method.label, method.format_hint
    for text in (label, hint):
        assert isinstance(text, str)
        assert text.strip()
    assert "6 digits" not in hint  # not the base class's hint for numeric codes


def test_recovery_codes_are_not_a_primary_method(app: Flask) -> None:
    assert RecoveryMethod.primary is False
    assert RecoveryMethod().kind == "recovery"
