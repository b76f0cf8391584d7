"""The message catalogues are complete and up to date (make i18n-extract, then translate)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = ROOT / "portal" / "translations"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def extract(tmp_path: Path) -> dict[object, object]:
    pot = tmp_path / "fresh.pot"
    subprocess.run(
        [Path(sys.executable).parent / "pybabel", "extract", "-F", "babel.cfg", "-k", "_l",
         "-k", "lazy_gettext", "--no-location", "-o", str(pot), "."],
        cwd=ROOT, check=True, capture_output=True,
    )
    with pot.open("rb") as handle:
        return {m.id: m for m in read_po(handle) if m.id}


def load(path: Path) -> dict[object, object]:
    with path.open("rb") as handle:
        return {m.id: m for m in read_po(handle) if m.id}


def test_template_matches_the_code(tmp_path):
    fresh = set(extract(tmp_path))
    committed = set(load(CATALOGUES / "messages.pot"))
    assert fresh - committed == set(), "new strings: run make i18n-extract"
    assert committed - fresh == set(), "strings no longer used: run make i18n-extract"


def test_chinese_catalogue_is_complete_and_keeps_placeholders(tmp_path):
    fresh = extract(tmp_path)
    chinese = load(CATALOGUES / "zh_Hans" / "LC_MESSAGES" / "messages.po")
    problems = []
    for msgid in fresh:
        entry = chinese.get(msgid)
        strings = entry.string if entry is not None and isinstance(entry.string, tuple) else (
            (entry.string,) if entry is not None else ())
        if entry is None or entry.fuzzy or not all(strings):
            problems.append(("untranslated", msgid))
            continue
        source = msgid[-1] if isinstance(msgid, tuple) else msgid
        for text in strings:
            if sorted(PLACEHOLDER.findall(text)) != sorted(PLACEHOLDER.findall(source)):
                problems.append(("placeholders differ", msgid))
    assert problems == []


# One word for one thing: two-step verification / 两步验证. The product name "2FA Portal" is a name, not prose, so
# it is taken out before looking (in English only: Chinese translates it as 两步验证门户). Settings such as
# TOTP_ISSUER, MAIL_FROM and the SMS texts' defaults carry the name too, but they are not in the catalogue; nor are
# addresses (/account/2fa/…, /admin/users/…/disable-2fa) and audit event names (admin.two_factor_disabled).
PRODUCT_NAME = "2FA Portal"
OTHER_ENGLISH_TERMS = re.compile(r"two[- ]?factor|\b2FA\b|second[- ]factor|multi[- ]?factor|\bMFA\b|"
                                 r"two[- ]step authentication|2[- ]step|two[- ]step code", re.I)
OTHER_CHINESE_TERMS = re.compile(r"双重验证|双重认证|双因素|双因子|二次验证|两步认证|(?<!第)二步验证|两阶段|2FA", re.I)


def test_each_language_has_one_word_for_two_step_verification():
    english = load(CATALOGUES / "messages.pot")
    chinese = load(CATALOGUES / "zh_Hans" / "LC_MESSAGES" / "messages.po")
    wrong = []
    for msgid in english:
        for text in msgid if isinstance(msgid, tuple) else (msgid,):
            if OTHER_ENGLISH_TERMS.search(text.replace(PRODUCT_NAME, "")):
                wrong.append(("en", text))
    for entry in chinese.values():
        for text in entry.string if isinstance(entry.string, tuple) else (entry.string,):
            if OTHER_CHINESE_TERMS.search(text):
                wrong.append(("zh_Hans", text))
    assert wrong == []


# A number of things is said with ngettext, so English says "1 second" and "2 seconds". Only these numbers are
# not counts of anything.
NOT_COUNTS = {"Error %(status)d"}


def test_every_count_has_plural_forms():
    counted = [msgid for msgid in load(CATALOGUES / "messages.pot")
               if isinstance(msgid, str) and re.search(r"%\(\w+\)d", msgid) and msgid not in NOT_COUNTS]
    assert counted == []
