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
