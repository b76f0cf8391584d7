"""README.md opens with the two commands and documents every setting there is."""

from __future__ import annotations

import re
from pathlib import Path

from portal.settings import SETTINGS

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_readme_opens_with_make_run_and_make_test():
    first_block = README.split("```", 2)[1]
    assert "make run" in first_block
    assert "make test" in first_block


def test_settings_table_lists_every_setting_with_its_default_and_meaning():
    rows = dict(re.findall(r"^\| `(\w+)` \| ([^|]+) \|", README, flags=re.MULTILINE))
    meanings = dict(re.findall(r"^\| `(\w+)` \| [^|]+ \| (.+) \|$", README, flags=re.MULTILINE))
    assert list(rows) == [s.name for s in SETTINGS]  # in portal.settings.FEATURES' order, feature by feature
    for setting in SETTINGS:
        default = setting.default
        if isinstance(default, tuple):
            default = ",".join(default)
        shown = "(none)" if default in (None, "") else f"`{default}`"
        assert rows[setting.name].strip() == shown, setting.name
        assert meanings[setting.name] == setting.doc, setting.name  # the table says what portal/settings/ says
