"""Pure rules, without HTTP or a database: the delays and lock of the throttles, waits in whole seconds,
what an admin's identity check must hold, and how the characters of its notes are counted.

portal.limits.next_retry turns the table of delays into SQL (a CASE) and alone says what happens below the
table (no delay) and past it (the longest): that part has no Python form to test here; tests/integration
checks it through the database. Here is the table it is built from.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from flask import Flask

from portal.admin.operations import IDENTITY_CHECKS, IdentityCheck, _written_length, identity_problem
from portal.clock import seconds_until
from portal.factors.base import Reason, refused
from portal.factors.gate import is_locked
from portal.limits import delays
from portal.sms.messages import wait_message

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

# --- progressive delays: 1, 2, 4 … s from the free-th counted attempt, capped ------------------------------


def test_delays_start_at_one_second_on_the_free_th_attempt_and_double() -> None:
    table = delays(5, 900)
    assert min(table) == 5, "attempts below free wait for nothing: the table has no entry for them"
    assert [table[n] for n in (5, 6, 7, 8)] == [1, 2, 4, 8]


def test_delays_stop_at_the_first_capped_entry() -> None:
    """The defaults (5 free, 900 s at most): 512 s is the last doubling, then 900 s, and the table ends there
    (next_retry gives every later attempt the longest delay)."""
    assert delays(5, 900) == {5: 1, 6: 2, 7: 4, 8: 8, 9: 16, 10: 32, 11: 64, 12: 128, 13: 256, 14: 512, 15: 900}


def test_a_longest_delay_that_is_a_power_of_two_is_reached_once() -> None:
    assert delays(1, 8) == {1: 1, 2: 2, 3: 4, 4: 8}


def test_the_shortest_longest_delay_allowed_is_one_entry() -> None:
    assert delays(3, 1) == {3: 1}  # LOGIN_MAX_DELAY and SECOND_FACTOR_MAX_DELAY are at least 1


@pytest.mark.parametrize("free", [1, 5, 50, 100])  # the settings' bounds and default
@pytest.mark.parametrize("longest", [1, 2, 3, 900, 86_400])
def test_delays_for_any_allowed_setting(free: int, longest: int) -> None:
    """Consecutive attempts from free, each twice the one before until the cap, which only the last reaches."""
    table = delays(free, longest)
    assert list(table) == list(range(free, free + len(table)))
    assert table == {n: min(2 ** (n - free), longest) for n in table}
    assert table[max(table)] == longest
    assert all(seconds < longest for n, seconds in table.items() if n != max(table))


# --- the second-factor lock: reads SECOND_FACTOR_LOCK_AT ---------------------------------------------------


@pytest.fixture
def lock_at_5() -> Iterator[None]:
    app = Flask(__name__)
    app.config["SECOND_FACTOR_LOCK_AT"] = 5
    with app.app_context():
        yield


@pytest.mark.usefixtures("lock_at_5")
@pytest.mark.parametrize(("failures", "locked"), [(0, False), (4, False), (5, True), (6, True)])
def test_an_account_is_locked_from_lock_at_counted_failures(failures: int, locked: bool) -> None:
    assert is_locked(SimpleNamespace(factor_failures=failures)) is locked  # type: ignore[arg-type]


# --- waits in whole seconds (Retry-After and the page's message) ---------------------------------------------


@pytest.mark.parametrize(("left", "seconds"), [
    (timedelta(seconds=3), 3),  # a whole number of seconds is said as it is
    (timedelta(seconds=2.5), 3),  # a part of a second is rounded up
    (timedelta(seconds=0.2), 1),
    (timedelta(milliseconds=1001), 2),
    (timedelta(0), 1),  # never "wait 0 seconds" (nor Retry-After: 0)
    (timedelta(seconds=-30), 1),  # a time already past (a slow request) still says 1
])
def test_seconds_until_rounds_up_to_at_least_one(left: timedelta, seconds: int) -> None:
    assert seconds_until(NOW + left, NOW) == seconds


@pytest.mark.parametrize(("reason", "said"), [
    (Reason.COOLDOWN, "It is too soon to ask for another code."),
    (Reason.THROTTLED, "Too many codes were requested recently."),
])
@pytest.mark.parametrize("left", [1, 45, 61, 3601])
def test_a_wait_to_send_names_no_number(reason: Reason, said: str, left: int) -> None:
    """The page's countdown beside it says the wait and keeps counting; a number here would stand still."""
    assert wait_message(refused(reason, NOW + timedelta(seconds=left))) == said


# --- the identity check an admin records before turning someone's 2FA off ---------------------------------

NOTES = "Video call: face matched the passport photo."  # 44 visible characters
SHORT = "Write at least 20 characters of notes: what you checked and why."
CONTROL = "Remove the control characters from the case reference and the notes."


def problem(check: str = "video_call", case_reference: str = "CASE-1", notes: str = NOTES) -> str | None:
    return identity_problem(IdentityCheck(check, case_reference, notes))


def test_the_checks_an_admin_can_record() -> None:
    """The form's choices, the CLI's --check values and the audit rows' identity_check: changing them is a
    decision, not a side effect."""
    assert list(IDENTITY_CHECKS) == ["id_document", "video_call", "call_back", "in_person", "other"]


@pytest.mark.parametrize("check", list(IDENTITY_CHECKS))
def test_a_complete_identity_check_has_no_problem(check: str) -> None:
    assert problem(check) is None


@pytest.mark.parametrize("check", ["", "passport", "Video_call", "video_call "])
def test_a_check_not_on_the_list_is_refused(check: str) -> None:
    assert problem(check) == "Choose how you checked the person's identity."


def test_the_case_reference_is_required() -> None:
    assert problem(case_reference="") == "Enter the case reference."


def test_the_case_reference_holds_at_most_100_characters() -> None:
    assert problem(case_reference="C" * 100) is None
    assert problem(case_reference="C" * 101) == "The case reference can be at most 100 characters."


def test_the_notes_hold_at_most_2000_characters_as_stored() -> None:
    """The cap counts every character stored, combining marks included (the minimum counts what is seen)."""
    assert problem(notes="n" * 2000) is None
    assert problem(notes="n" * 2001) == "The notes can be at most 2000 characters."
    assert problem(notes="e\u0301" * 1001) == "The notes can be at most 2000 characters."


@pytest.mark.parametrize("bad", ["\x00", "\x07", "\x1b", "\x7f", "\u0085"])
@pytest.mark.parametrize("where", ["case_reference", "notes"])
def test_control_characters_are_refused(bad: str, where: str) -> None:
    fields = {"case_reference": "CASE-1", "notes": NOTES}
    fields[where] += bad
    assert problem(**fields) == CONTROL


@pytest.mark.parametrize("spacing", ["\n", "\r\n", "\t", "\u00a0", "\u3000"])
def test_line_breaks_tabs_and_wide_or_no_break_spaces_are_not_controls(spacing: str) -> None:
    assert problem(notes=f"Video call:{spacing}face matched the passport photo.") is None


# --- counting the characters of the notes: what a reader sees -------------------------------------------------


@pytest.mark.parametrize(("notes", "seen"), [
    ("checked it", 10),
    ("e\u0301", 1),  # a letter and its combining accent are one character
    ("\u00e9", 1),  # … as the same letter precomposed is
    ("a" + "\u0301" * 24, 1),  # a letter with 24 accents is one letter
    ("a\u20dd", 1),  # an enclosing mark (combining circle) shows nothing of its own
    ("a" + "\u200b" * 24, 1),  # zero-width spaces
    ("a" + "\u00ad" * 24, 1),  # soft hyphens
    ("a\ue000", 1),  # a private-use code point
    ("\u0915\u093f", 2),  # Devanagari "ki": the vowel sign is a spacing mark, written, so it counts
    ("视频通话核实身份", 8),
    ("ok" + " " * 10 + "\t" * 10 + "fine", 7),  # a run of spaces and tabs counts as one space
    ("ok\n\n\nfine", 7),
    ("ok\u3000\u00a0fine", 7),  # a wide space and a no-break space, run together, too
    ("   ok fine   ", 7),  # spaces before and after count for nothing
])
def test_written_length_counts_what_a_reader_sees(notes: str, seen: int) -> None:
    assert _written_length(notes) == seen


HAN_20 = "视频通话核实身份，已对照身份证照片本人确"


def test_twenty_seen_characters_are_enough_and_nineteen_are_not() -> None:
    assert problem(notes="n" * 20) is None
    assert problem(notes="n" * 19) == SHORT


@pytest.mark.parametrize(("enough", "short"), [
    ("e\u0301" * 20, "e\u0301" * 19 + "\u0301" * 50),  # accents do not make up for letters
    ("abcdefghij" + " " * 30 + "klmnopqrs", "abcdefghij" + " " * 30 + "klmnopqr"),  # 30 spaces count once
    (HAN_20, HAN_20[:19]),  # a Han character is one character
    ("\u0915\u093f" * 10, "\u0915\u093f" * 9 + "\u0915"),  # spacing marks count as written letters
])
def test_the_minimum_counts_seen_characters(enough: str, short: str) -> None:
    assert problem(notes=enough) is None
    assert problem(notes=short) == SHORT


def test_padding_with_invisible_characters_does_not_reach_the_minimum() -> None:
    """Zero-width spaces would pass a plain len(); they are counted as nothing (and refused anyway)."""
    assert problem(notes="n" * 19 + "\u200b" * 40) == SHORT
    assert problem(notes=" " * 40 + "n" * 19 + " " * 40) == SHORT
