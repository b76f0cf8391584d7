"""The pages of the second step: the header offers no "Sign in" or "Create account" to someone in the middle of
signing in; the recovery page's field says what goes in it; its way back names only the methods the account has."""

from __future__ import annotations

import re

import pytest

from tests.integration.sms_helpers import PHONE, give_phone, pending
from tests.support import login

EMAIL = "second-step@example.com"
HEADER = re.compile(r'<header class="site-header">(.*?)</header>', re.S)


def header(page_text: str) -> str:
    found = HEADER.search(page_text)
    assert found is not None
    return found[1]


def test_the_header_offers_no_sign_in_or_account_creation_during_the_second_step(app, make_user, clock):
    give_phone(app, make_user(EMAIL), PHONE, clock, totp=True)
    browser = pending(app, EMAIL)
    for path in ("/2fa", "/2fa/verify?method=totp", "/2fa/verify?method=sms", "/2fa/recovery"):
        page = browser.get(path)
        assert page.status_code == 200, path
        assert 'href="/login"' not in header(page.text) and 'href="/register"' not in header(page.text), path
        assert "Cancel and sign out" in page.text  # the way out is on the page
    # A page that is not there, while the sign-in waits: still no "Sign in" (the header is not a way out).
    missing = browser.get("/no-such-page")
    assert missing.status_code == 404 and 'href="/register"' not in header(missing.text)
    # Its brand link leads back to the waiting second step, not to a fresh sign-in page ("/" itself stays anonymous).
    assert '<a class="brand" href="/2fa">' in missing.text and browser.get("/").headers["Location"] == "/login"
    # The sign-in pages themselves are where a person starts again: the header offers both there.
    assert 'href="/register"' in header(browser.get("/login").text)
    assert 'href="/register"' in header(app.test_client().get("/login").text)


def test_the_recovery_page_field_is_labelled_recovery_code(app, make_user, clock):
    give_phone(app, make_user(EMAIL), PHONE, clock, totp=True)
    page = pending(app, EMAIL).get("/2fa/recovery")
    assert re.findall(r'<label for="code">([^<]*)</label>', page.text) == ["Recovery code"]
    totp_page = pending(app, EMAIL).get("/2fa/verify?method=totp")
    assert re.findall(r'<label for="code">([^<]*)</label>', totp_page.text) == ["Code"]


@pytest.mark.parametrize(("phone", "app_too", "way_back"), [
    (True, False, "Use a code by text message instead"),
    (False, True, "Use your authenticator app instead"),
    (True, True, "Use another method"),
])
def test_the_recovery_page_offers_only_the_accounts_own_methods(app, make_user, clock, phone, app_too, way_back):
    user = make_user(EMAIL)
    if phone:
        give_phone(app, user, PHONE, clock, totp=app_too)
    else:
        from portal.extensions import db
        from portal.factors import totp as totp_enrollment
        from portal.factors.recovery import generate_set
        from tests import otp

        with app.app_context():
            factor = totp_enrollment.start(user, clock())
            assert totp_enrollment.confirm(user, otp.totp(totp_enrollment.pending_secret(factor), clock()), clock(),
                                           ip="127.0.0.1").ok
            generate_set(user, clock())
            db.session.commit()
    browser = app.test_client()
    assert login(browser, EMAIL).headers["Location"].startswith("/2fa")
    page = browser.get("/2fa/recovery")
    links = re.findall(r'<a href="/2fa\?next=[^"]*">([^<]*)</a>', page.text)
    assert links == [way_back]
    if not app_too:
        assert "authenticator app" not in page.text
