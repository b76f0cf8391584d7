"""An admin whose second factor is a phone confirms admin actions with a texted code (through the Twilio
double, which checks every request against Twilio's OpenAPI spec), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.integration.sms_helpers import MASKED, NEW_PHONE, PHONE, enter_code, give_phone, pending, send_code, wrong
from tests.integration.test_admin import ADMIN, audit_rows, disable, factors_of
from tests.integration.totp_helpers import enroll
from tests.support import GOOD_PASSWORD, csrf_token, login
from tests.twilio_double import ScriptedFailure

NEXT = "/admin/users/{id}/disable-2fa"


@pytest.fixture
def settings(sms_settings):
    return dict(sms_settings)


@pytest.fixture
def sms_admin(app, make_user, clock, sms_inbox):
    """An admin whose only second factor is a verified phone, fully signed in with a texted code."""
    give_phone(app, make_user(ADMIN, is_admin=True), PHONE, clock)
    browser = pending(app, ADMIN)
    assert send_code(browser).status_code == 303
    assert enter_code(browser, sms_inbox.last_code(PHONE)).status_code == 302
    return browser


def confirm_page(browser, next_url):
    return browser.get(f"/admin/confirm?method=sms&next={next_url}")


def text_me(browser, next_url, **extra):
    page = confirm_page(browser, next_url)
    return browser.post(f"/admin/confirm/send?next={next_url}", data={"csrf_token": csrf_token(page), **extra})


def test_an_sms_admin_confirms_with_a_texted_code_and_then_acts(app, sms_admin, sms_inbox, target, clock):
    user, _ = target
    next_url = NEXT.format(id=user.id)
    assert sms_admin.get("/admin/users").status_code == 200  # a phone counts as the admin's second factor
    clock.advance(301)  # the sign-in's confirmation is stale now, and the sign-in code's cooldown is over
    assert disable(sms_admin, user.id).headers["Location"] == f"/admin/confirm?next={next_url}"
    page = sms_admin.get(f"/admin/confirm?next={next_url}")
    assert page.status_code == 200
    assert f"a code texted to {MASKED}" in page.text and "authenticator app" not in page.text
    assert f'action="/admin/confirm/send?next={next_url}"' in page.text
    texts_before = sms_inbox.count(PHONE)
    # A phone number in the request is ignored: the code goes to the verified phone only.
    sent = text_me(sms_admin, next_url, phone=NEW_PHONE, To=NEW_PHONE)
    assert sent.status_code == 303
    assert sent.headers["Location"] == f"/admin/confirm?method=sms&next={next_url}"
    assert sms_inbox.count(PHONE) == texts_before + 1 and sms_inbox.count(NEW_PHONE) == 0
    # The resend cooldown holds here as on the sign-in page.
    again = text_me(sms_admin, next_url)
    assert again.status_code == 429 and int(again.headers["Retry-After"]) > 0
    assert sms_inbox.count(PHONE) == texts_before + 1
    code = sms_inbox.last_code(PHONE)
    page = confirm_page(sms_admin, next_url)
    refused = sms_admin.post(f"/admin/confirm?method=sms&next={next_url}", data={
        "csrf_token": csrf_token(page), "password": GOOD_PASSWORD, "code": wrong(code)})
    assert refused.status_code == 400
    no_password = sms_admin.post(f"/admin/confirm?method=sms&next={next_url}", data={
        "csrf_token": csrf_token(page), "password": "not the password", "code": code})
    assert no_password.status_code == 400 and "The password or the code is not correct." in no_password.text
    done = sms_admin.post(f"/admin/confirm?method=sms&next={next_url}", data={
        "csrf_token": csrf_token(page), "password": GOOD_PASSWORD, "code": code})
    assert done.status_code == 302 and done.headers["Location"] == next_url
    assert disable(sms_admin, user.id).status_code == 302
    assert factors_of(app, user.id) == ([], []) and len(audit_rows(app)) == 1


def test_the_send_button_is_for_admins_with_a_phone_only(app, make_user, clock, tmp_path, signed_in):
    # A non-admin is refused before anything is sent.
    page = signed_in.get("/account")
    assert signed_in.post("/admin/confirm/send", data={"csrf_token": csrf_token(page)}).status_code == 403
    # An admin with an authenticator app and no phone has nothing to text to.
    make_user("app-only@example.com", is_admin=True)
    browser = app.test_client()
    login(browser, "app-only@example.com")
    enroll(browser, clock, tmp_path)
    page = browser.get("/admin/confirm")
    assert "Send code" not in page.text and "text message instead" not in page.text
    assert browser.post("/admin/confirm/send", data={"csrf_token": csrf_token(page)}).status_code == 404
    # Without the CSRF token the send is refused too.
    assert browser.post("/admin/confirm/send", data={}).status_code == 400


def test_an_admin_with_both_factors_picks_one(app, make_user, clock, tmp_path, sms_inbox):
    admin = make_user(ADMIN, is_admin=True)
    browser = app.test_client()
    login(browser, ADMIN)
    enroll(browser, clock, tmp_path)
    give_phone(app, admin, PHONE, clock)
    page = browser.get("/admin/confirm")
    assert "current code from your authenticator app" in page.text
    assert 'href="/admin/confirm?method=sms' in page.text and "Use a code by text message instead" in page.text
    sms = browser.get("/admin/confirm?method=sms")
    assert f"a code texted to {MASKED}" in sms.text and "Use your authenticator app instead" in sms.text
    # A refused send (here the cooldown) stays on the text-message page, not the authenticator one.
    assert text_me(browser, "/admin/users").status_code == 303
    refused = text_me(browser, "/admin/users")
    assert refused.status_code == 429 and f"a code texted to {MASKED}" in refused.text
    assert 'action="/admin/confirm?method=sms' in refused.text and sms_inbox.count(PHONE) == 1
    # An unknown method falls back to the first enrolled one.
    assert "authenticator app" in browser.get("/admin/confirm?method=carrier-pigeon").text


def test_a_provider_fault_while_the_code_is_checked_is_a_clear_503(app, sms_admin, sms_inbox, twilio, target, clock):
    """Twilio down while the step-up code is checked: the admin reads why and may try again; never a 500."""
    user, _ = target
    next_url = NEXT.format(id=user.id)
    clock.advance(301)
    assert text_me(sms_admin, next_url).status_code == 303
    code = sms_inbox.last_code(PHONE)
    page = confirm_page(sms_admin, next_url)
    twilio.fail_next(ScriptedFailure(method="POST", kind="http", status=500))
    down = sms_admin.post(f"/admin/confirm?method=sms&next={next_url}", data={
        "csrf_token": csrf_token(page), "password": GOOD_PASSWORD, "code": code})
    assert down.status_code == 503 and "We could not send a text message just now" in down.text
    assert "Traceback" not in down.text
    assert disable(sms_admin, user.id).headers["Location"] == f"/admin/confirm?next={next_url}"  # not confirmed
    done = sms_admin.post(f"/admin/confirm?method=sms&next={next_url}", data={
        "csrf_token": csrf_token(page), "password": GOOD_PASSWORD, "code": code})
    assert done.status_code == 302 and done.headers["Location"] == next_url  # the code was not spent
