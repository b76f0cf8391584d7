"""SITE_NAME: the portal's name per language, translated by default, as given when the operator names it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from portal.settings import ConfigError, finalise, read_settings


def settle(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    return finalise(read_settings({}, {"PORTAL_ENV": "testing", "SECRET_KEY": "k" * 40, **overrides}), tmp_path)


def test_the_default_name_is_translated_and_the_issuer_follows_it(tmp_path: Path) -> None:
    cfg = settle(tmp_path)
    assert cfg["SITE_NAME"] == "2FA Portal"
    assert cfg["SITE_NAMES"] == {"en": "2FA Portal", "zh_Hans": "两步验证门户"}
    assert cfg["TOTP_ISSUER"] == ""  # the issuer is SITE_NAME in the language of the setup page


@pytest.mark.parametrize(("given", "names"), [
    ("Acme Sign-in", {"en": "Acme Sign-in", "zh_Hans": "Acme Sign-in"}),  # as given, in every language
    ("  Acme  ", {"en": "Acme", "zh_Hans": "Acme"}),
    (json.dumps({"zh_Hans": "极客登录", "en": "Acme Sign-in"}), {"en": "Acme Sign-in", "zh_Hans": "极客登录"}),
])
def test_an_operator_s_name_is_used_as_given(tmp_path: Path, given: str, names: dict[str, str]) -> None:
    assert settle(tmp_path, SITE_NAME=given)["SITE_NAMES"] == names


@pytest.mark.parametrize(("given", "says"), [
    ('{"en": "Acme"', "SITE_NAME: not valid JSON"),
    ("{}", "SITE_NAME: no name for en"),
    (json.dumps({"en": "Acme"}), "SITE_NAME: no name for zh_Hans; give a name for each of LANGUAGES (en, zh_Hans)"),
    (json.dumps({"en": "Acme", "zh_Hans": "极客", "fr": "Acmé"}), "SITE_NAME: unknown language 'fr'"),
    (json.dumps({"en": "Acme", "zh_Hans": ""}), "SITE_NAME['zh_Hans']='': expected a name of 1 to 60"),
    (json.dumps({"en": "A" * 61, "zh_Hans": "极客"}), "SITE_NAME['en']="),
    ("Acme\tPortal", "SITE_NAME['en']="),
    ("Acme {{code}}", "SITE_NAME['en']='Acme {{code}}': must not contain {{ or }}"),  # the code in a name's place
    ('{"en": ' + "[" * 50_000 + "]" * 50_000 + ', "zh_Hans": "B"}', "SITE_NAME: expected a name or a JSON object"),
])
def test_a_bad_name_stops_start_up(tmp_path: Path, given: str, says: str) -> None:
    with pytest.raises(ConfigError, match="^" + re.escape(says)):
        settle(tmp_path, SITE_NAME=given)


def test_a_colon_in_the_name_needs_an_issuer_without_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=re.escape("SITE_NAME['en']='Acme: Sign-in': is also the authenticator")):
        settle(tmp_path, SITE_NAME="Acme: Sign-in")
    cfg = settle(tmp_path, SITE_NAME="Acme: Sign-in", TOTP_ISSUER="Acme")
    assert (cfg["SITE_NAMES"]["en"], cfg["TOTP_ISSUER"]) == ("Acme: Sign-in", "Acme")


@pytest.mark.parametrize("issuer", ["I" * 61, "Acme\x1b[31m", "Acme\nPortal"])
def test_an_issuer_that_no_app_could_show_stops_start_up(tmp_path: Path, issuer: str) -> None:
    """Too long for the QR code (every setup page would fail), or control characters sent to every phone."""
    with pytest.raises(ConfigError, match=r"^TOTP_ISSUER=.*: expected a name of 1 to 60 printable characters"):
        settle(tmp_path, TOTP_ISSUER=issuer)
