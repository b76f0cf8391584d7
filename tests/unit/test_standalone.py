"""The repository stands alone: no tracked file refers to a folder beside the clone (issue 16).

A fresh `git clone` has nothing next to it, so nothing may read the folder of shared material that sits
beside the repository on the developers' own machines. Twilio's OpenAPI documents come from
`make twilio-oai` instead. This file spells that folder's name only in pieces, so it passes its own check.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = "sha" + "red"  # built in pieces, so that this file does not match its own patterns
BESIDE = re.compile("|".join([
    r"\.\.[/\\]+" + SHARED + r"\b",  # the folder one level up, with either separator
    r"(?<![\w./\\-])" + SHARED + r"[/\\]",  # a relative path that starts with the folder's name
    r"[\"']" + SHARED + r"[\"']\s*[/,)]",  # the name as a path part, joined with pathlib or os.path
    r"/work/" + SHARED + r"\b",  # the absolute path on the developers' machines
]))


def tracked_files() -> list[Path]:
    """Every file git tracks (every file under the repository, outside .git and ignored folders, without git)."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
        return [REPO / name for name in listed.decode("utf-8").split("\0") if name]
    except (OSError, subprocess.CalledProcessError):  # an unpacked archive, or no git
        skip = {".git", ".venv", ".cache", "__pycache__", ".pytest_cache", ".ruff_cache", "instance"}
        found: list[Path] = []
        for root, dirs, names in os.walk(REPO):
            dirs[:] = [name for name in dirs if name not in skip]
            found += [Path(root) / name for name in names]
        return found


def test_no_tracked_file_refers_to_the_folder_beside_the_repository() -> None:
    files = [path for path in tracked_files() if path.is_file()]
    names = {path.relative_to(REPO).as_posix() for path in files}
    assert {"Makefile", "tests/twilio_double/spec.py", "README.md"} <= names  # the walk saw the repository
    found = [f"{path.relative_to(REPO)}:{text.count(chr(10), 0, match.start()) + 1}: {match.group(0)!r}"
             for path in files
             for text in [path.read_bytes().decode("utf-8", errors="replace")]
             for match in BESIDE.finditer(text)]
    assert found == [], "files that read outside the clone (a fresh clone has nothing beside it):\n" + "\n".join(found)


@pytest.mark.parametrize("text", [
    f"../{SHARED}/twilio-openapi", f"..\\{SHARED}\\x", f"Twilio's spec in `../{SHARED}/twilio-openapi/`",
    f'Path(__file__).parents[3] / "{SHARED}" / "twilio-openapi"', f"os.path.join(root, '{SHARED}', 'x')",
    f"cp {SHARED}/twilio-openapi/x.json .", f"/work/{SHARED}/twilio-openapi",
])
def test_the_pattern_finds_references(text: str) -> None:
    assert BESIDE.search(text)


@pytest.mark.parametrize("text", [
    "Not on shared computers.", "limiter.shared_limit(", "Premium-rate and shared-cost numbers",
    "production needs shared storage such as redis://host:6379/0", "https://example.com/" + SHARED + "/page",
])
def test_the_pattern_leaves_prose_alone(text: str) -> None:
    assert not BESIDE.search(text)
