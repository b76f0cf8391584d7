"""No tracked file keeps a merge's conflict markers (a stray one in app.css once switched off every rule after it)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Built in pieces, so this file does not match itself.
MARKER = re.compile("^(" + "<" * 7 + "|" + "=" * 7 + "|" + ">" * 7 + ")( |$)", re.M)


def tracked_texts() -> list[Path]:
    try:
        names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.fail("git ls-files did not answer: this test reads the files git tracks", pytrace=False)
    return [ROOT / name for name in names.splitlines() if (ROOT / name).suffix not in {".mo", ".png", ".ico"}]


def test_no_file_keeps_conflict_markers() -> None:
    found = []
    for path in tracked_texts():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError):
            continue
        found += [f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}" for m in MARKER.finditer(text)]
    assert found == []


def test_the_pattern_finds_a_marker() -> None:
    assert MARKER.search("a {}\n" + "=" * 7 + "\nb {}") and not MARKER.search("a = " + "=" * 7 + "x")
