"""SITE_NAME through HTTP: page titles and header, and the issuer an authenticator app is given, in both languages."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select, update

from portal.extensions import db
from portal.models import TotpFactor
from tests.integration.totp_helpers import csrf_token_from
from tests.otp import decode_qr, parse_otpauth, qr_png_from_page, totp
from tests.support import login, logout

EMAIL = "site-name@example.com"
TITLE = re.compile(r"<title>(.*?)</title>", re.S)
BRAND = re.compile(r'<a class="brand" href="[^"]*">(.*?)</a>')
ZH_NAME = "两步验证门户"


@pytest.fixture
def email() -> str:
    return EMAIL


@pytest.fixture
def site_name() -> str | None:
    """SITE_NAME for the app (None: the default)."""
    return None


@pytest.fixture
def settings(site_name):
    return {} if site_name is None else {"SITE_NAME": site_name}


def page_of(client, path: str, language: str) -> str:
    client.set_cookie("lang", language)
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return html.unescape(response.text)


def setup_issuer(client, language: str, tmp_path) -> tuple[str, str, str]:
    """Open the authenticator setup in language: (the QR code's issuer, its label's issuer, the secret)."""
    page = page_of(client, "/account/2fa/totp", language)
    fields = parse_otpauth(decode_qr(qr_png_from_page(page), tmp_path))
    return fields["issuer"], fields["label_issuer"], fields["secret"]


def confirm_setup(client, secret: str, clock) -> None:
    page = client.get("/account/2fa/totp").text
    response = client.post("/account/2fa/totp", data={"csrf_token": csrf_token_from(page),
                                                      "code": totp(secret, clock())})
    assert response.status_code == 200, response.status_code


def verify_prompt(app, language: str) -> str:
    """The authenticator step of a new sign-in, in language: the sentence naming the app's entry."""
    browser = app.test_client()
    assert login(browser, EMAIL).headers["Location"].startswith("/2fa")
    page = page_of(browser, "/2fa/verify?method=totp", language)
    found = re.search(r"<p>([^<]*(?:authenticator app|身份验证器)[^<]*)</p>", page)
    assert found, page[:3000]
    return found.group(1)


@pytest.mark.parametrize(("language", "name"), [("en", "2FA Portal"), ("zh_Hans", ZH_NAME)])
def test_titles_and_header_name_the_site_in_the_page_s_language(app, client, language, name):
    for path in ("/login", "/register"):
        page = page_of(client, path, language)
        assert TITLE.search(page).group(1).endswith(f" · {name}")
        assert BRAND.search(page).group(1) == name
    if language == "zh_Hans":
        assert "2FA Portal" not in page


@pytest.mark.parametrize("site_name", ["Acme Sign-in"])
@pytest.mark.parametrize("language", ["en", "zh_Hans"])
def test_an_operator_s_name_is_used_as_given_in_every_language(app, client, signed_in, language, tmp_path):
    page = page_of(client, "/login", language)
    assert TITLE.search(page).group(1).endswith(" · Acme Sign-in")
    assert BRAND.search(page).group(1) == "Acme Sign-in"
    assert "2FA Portal" not in page and ZH_NAME not in page
    assert setup_issuer(signed_in, language, tmp_path)[:2] == ("Acme Sign-in", "Acme Sign-in")


@pytest.mark.parametrize(("language", "name"), [("en", "2FA Portal"), ("zh_Hans", ZH_NAME)])
def test_the_issuer_is_the_site_s_name_in_the_setup_page_s_language(app, signed_in, clock, tmp_path, language,
                                                                     name):
    issuer, label_issuer, secret = setup_issuer(signed_in, language, tmp_path)
    assert (issuer, label_issuer) == (name, name)
    page = page_of(signed_in, "/account/2fa/totp", "en" if language == "zh_Hans" else "zh_Hans")
    assert parse_otpauth(decode_qr(qr_png_from_page(page), tmp_path))["issuer"] == name  # fixed for this setup
    confirm_setup(signed_in, secret, clock)
    logout(signed_in)
    # Signing in later, in either language, the page names the entry the app shows: the name it was given.
    assert verify_prompt(app, "en") == f"Open your authenticator app and enter the 6-digit code it shows for {name}."
    assert name in verify_prompt(app, "zh_Hans")


def test_totp_issuer_overrides_the_site_name(app, make_app, signed_in, tmp_path):
    other = make_app(TOTP_ISSUER="Acme Auth")
    browser = other.test_client()
    assert login(browser, EMAIL).status_code == 302
    for language in ("en", "zh_Hans"):
        assert setup_issuer(browser, language, tmp_path)[:2] == ("Acme Auth", "Acme Auth")


def test_an_app_set_up_before_the_issuer_was_kept_is_named_as_it_was(app, signed_in, clock, tmp_path):
    secret = setup_issuer(signed_in, "en", tmp_path)[2]
    confirm_setup(signed_in, secret, clock)
    with app.app_context():
        db.session.execute(update(TotpFactor).values(issuer=None))  # as migration 0011 leaves older rows
        db.session.commit()
        assert db.session.scalars(select(TotpFactor.issuer)).all() == [None]
    logout(signed_in)
    assert "2FA Portal" in verify_prompt(app, "zh_Hans")  # what those apps were given, not 两步验证门户
