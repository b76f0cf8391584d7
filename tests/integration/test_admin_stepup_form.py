"""An admin's form survives the step-up (issue 17, point 2), through HTTP on SQLite and PostgreSQL.

A form posted after the 5-minute confirmation lapsed is kept server-side (the session's row); the confirmation
page says why it asks and has a way back; after the password and a code the admin is back on the form with every
field as typed, and sends it again. The values never sit in a URL, a cookie or a log line; a forged cross-site
POST is refused before anything is kept. This holds for every admin POST (approve and reject too). An empty
submit lists every missing field at once.
"""

from __future__ import annotations

import html
import logging
import re

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import AdminRequest, User, UserSession
from tests.integration.test_admin import ADMIN, TARGET, audit_rows, confirm, enrolled_admin, factors_of
from tests.otp import totp
from tests.support import GOOD_PASSWORD, csrf_token

# Typed by the admin; the markers are looked for wherever they must not be.
TYPED = {"identity_check": "video_call", "case_reference": "CASE-MARKER-7781",
         "notes": "Video call <b>&</b> “NOTE-MARKER”: face matched the passport;\r\nknew the sign-up date.",
         "confirm_email": TARGET}
MARKERS = ("CASE-MARKER", "NOTE-MARKER", "NOTE%2DMARKER", "passport")
REASON = ("Your form is not sent yet: your last confirmation is more than 5 minutes old. After you confirm, you "
          "return to the form with everything you typed.")
BACK = "Confirmed. Nothing was sent yet: check the form and send it again."


def post_form(browser, path, fields, page_path=None):
    page = browser.get(page_path or path)
    assert page.status_code == 200, page.text[:300]
    return browser.post(path, data={"csrf_token": csrf_token(page), **fields})


def form_values(page_html):
    """What the disable form shows in each field (unescaped)."""
    chosen = re.search(r'<option selected value="([^"]*)"', page_html)
    inputs = {name: html.unescape(value) for name, value in
              re.findall(r'<input[^>]* name="(case_reference|confirm_email)"[^>]* value="([^"]*)"', page_html)}
    notes = re.search(r'<textarea[^>]* name="notes"[^>]*>(.*?)</textarea>', page_html, re.S)
    assert notes is not None, page_html[-3000:]
    return {"identity_check": chosen.group(1) if chosen else "", **inputs,
            # WTForms starts a textarea with a line break, which the browser drops.
            "notes": html.unescape(notes.group(1)).removeprefix("\r\n")}


def held_of(app, email=ADMIN):
    with app.app_context():
        return db.session.scalar(select(UserSession.held_form).join(User).where(User.email == email))


def lapsed_admin(app, make_user, clock, tmp_path):
    """An admin signed in with an authenticator app, never confirmed for actions in this session."""
    return enrolled_admin(app, make_user, clock, tmp_path)


def test_the_confirmation_says_why_and_has_a_way_back(app, make_user, clock, tmp_path, target):
    user, _ = target
    browser, _ = lapsed_admin(app, make_user, clock, tmp_path)
    form_path = f"/admin/users/{user.id}/disable-2fa"
    sent = post_form(browser, form_path, TYPED)
    assert sent.status_code == 302 and sent.headers["Location"] == f"/admin/confirm?next={form_path}"
    page = browser.get(sent.headers["Location"])
    assert page.status_code == 200 and REASON in page.text
    assert f'<a href="{form_path}">Cancel</a>' in page.text
    # The way back keeps what was typed: nothing is lost by cancelling.
    back = browser.get(form_path)
    assert form_values(back.text) == TYPED
    assert len(factors_of(app, user.id)[1]) == 10 and audit_rows(app) == []
    # Opened without a waiting form, the page still says why it asks, and cancels to the users page.
    plain = browser.get("/admin/confirm")
    assert "A confirmation counts for 5 minutes; after that, admin actions ask for it again." in plain.text
    assert REASON not in plain.text and '<a href="/admin/users">Cancel</a>' in plain.text
    # In Chinese too.
    chinese = browser.get("/admin/confirm", headers={"Accept-Language": "zh-CN"})
    assert "每次确认的有效期为 5分钟，之后执行管理操作需要重新确认。" in chinese.text
    assert '<a href="/admin/users">取消</a>' in chinese.text


def test_after_confirming_the_form_comes_back_as_typed_and_sends_once_sent_again(
        app, make_user, clock, tmp_path, target):
    user, _ = target
    browser, secret = lapsed_admin(app, make_user, clock, tmp_path)
    form_path = f"/admin/users/{user.id}/disable-2fa"
    assert post_form(browser, form_path, TYPED).status_code == 302
    # The step-up still takes the password and a code: a wrong code keeps the form waiting, nothing else.
    page = browser.get(f"/admin/confirm?next={form_path}")
    wrong = browser.post(f"/admin/confirm?next={form_path}",
                         data={"csrf_token": csrf_token(page), "password": GOOD_PASSWORD, "code": "000000"})
    assert wrong.status_code == 400 and REASON in wrong.text
    no_code = browser.post(f"/admin/confirm?next={form_path}",
                           data={"csrf_token": csrf_token(page), "password": GOOD_PASSWORD})
    assert no_code.status_code == 400 and REASON in no_code.text
    ok = confirm(browser, secret, clock, form_path)
    assert ok.status_code == 302 and ok.headers["Location"] == form_path
    back = browser.get(form_path)
    assert back.status_code == 200 and BACK in back.text
    assert form_values(back.text) == TYPED
    assert len(factors_of(app, user.id)[1]) == 10 and audit_rows(app) == []  # nothing was replayed
    assert held_of(app) is None  # taken: the next visit shows an empty form
    assert form_values(browser.get(form_path).text) == {"identity_check": "", "case_reference": "",
                                                        "notes": "", "confirm_email": ""}
    # Sent again from the page that came back (its own, fresh token), it acts.
    done = browser.post(form_path, data={"csrf_token": csrf_token(back), **form_values(back.text)})
    assert done.status_code == 302 and done.headers["Location"] == f"/admin/users/{user.id}"
    [row] = audit_rows(app)
    assert row.details["notes"] == TYPED["notes"].strip() and row.details["case_reference"] == "CASE-MARKER-7781"
    assert factors_of(app, user.id) == ([], [])


def test_the_typed_values_never_sit_in_a_url_a_cookie_or_a_log_line(app, make_user, clock, tmp_path, target,
                                                                     caplog):
    user, _ = target
    caplog.set_level(logging.DEBUG)
    browser, secret = lapsed_admin(app, make_user, clock, tmp_path)
    form_path = f"/admin/users/{user.id}/disable-2fa"
    seen_urls, cookies = [], []

    def follow(response):
        while response.status_code in (302, 303):
            seen_urls.append(response.headers["Location"])
            cookies.extend(response.headers.getlist("Set-Cookie"))
            response = browser.get(response.headers["Location"])
            seen_urls.append(response.request.url)
        cookies.extend(response.headers.getlist("Set-Cookie"))
        return response

    sent = post_form(browser, form_path, TYPED)
    follow(sent)
    ok = confirm(browser, secret, clock, form_path)
    cookies.extend(ok.headers.getlist("Set-Cookie"))
    back = follow(ok)
    assert form_values(back.text) == TYPED  # they did travel: in the session's row, on the server
    serializer = app.session_interface.get_signing_serializer(app)
    session_data = [str(serializer.loads(c.split("=", 1)[1].split(";", 1)[0])) for c in cookies
                    if c.startswith("session=") and not c.startswith("session=;")]
    assert session_data, cookies
    for marker in MARKERS:
        assert not [u for u in seen_urls if marker in u], (marker, seen_urls)
        assert not [c for c in cookies + session_data if marker in c], marker
        assert marker not in caplog.text, marker


def test_a_forged_cross_site_post_is_refused_and_nothing_is_kept(app, make_user, clock, tmp_path, target):
    user, _ = target
    browser, secret = lapsed_admin(app, make_user, clock, tmp_path)
    form_path = f"/admin/users/{user.id}/disable-2fa"
    browser.get(form_path)
    forged = browser.post(form_path, data=TYPED, headers={"Origin": "https://evil.example"})  # no token
    assert forged.status_code == 400 and "Location" not in forged.headers
    assert held_of(app) is None
    # The confirmation's own POST checks its token too.
    refused = browser.post(f"/admin/confirm?next={form_path}",
                           data={"password": GOOD_PASSWORD, "code": totp(secret, clock())})
    assert refused.status_code == 400
    ok = confirm(browser, secret, clock, form_path)
    assert ok.headers["Location"] == form_path
    page = browser.get(form_path)
    assert BACK not in page.text and "CASE-MARKER" not in page.text
    assert len(factors_of(app, user.id)[1]) == 10 and audit_rows(app) == []


def test_an_empty_submit_lists_every_missing_field_at_once(app, make_user, clock, tmp_path, target):
    user, _ = target
    browser, secret = lapsed_admin(app, make_user, clock, tmp_path)
    confirm(browser, secret, clock)
    form_path = f"/admin/users/{user.id}/disable-2fa"
    empty = post_form(browser, form_path, {"identity_check": "", "case_reference": "", "notes": "",
                                           "confirm_email": ""})
    assert empty.status_code == 400
    summary = re.search(r'<div class="form-error error-summary" role="alert">(.*?)</div>', empty.text, re.S)
    assert summary is not None, empty.text[-3000:]
    expected = {"identity_check": "Choose how you checked the person&#39;s identity.",
                "case_reference": "Enter the case reference.",
                "notes": "Write at least 20 characters of notes: what you checked and why.",
                "confirm_email": "Type the user&#39;s email address."}
    for field, message in expected.items():
        assert f'<a href="#{field}">{message}</a>' in summary.group(1), field
        assert f'<ul class="errors" id="{field}-error"><li>{message}</li></ul>' in empty.text, field
    assert empty.text.count('aria-invalid="true"') == 4
    # A filled form with one mistake names that one only.
    one = post_form(browser, form_path, {**TYPED, "confirm_email": "someone@else.example"})
    assert one.status_code == 400 and one.text.count('aria-invalid="true"') == 1
    assert "The email address you typed is not this user&#39;s." in one.text
    assert audit_rows(app) == []


@pytest.mark.parametrize("settings", [{"ADMIN_DISABLE_REQUIRES_SECOND_ADMIN": True}])
@pytest.mark.parametrize("verb", ["approve", "reject"])
def test_approving_or_rejecting_after_the_step_up_lapsed_returns_to_the_request(
        app, make_user, clock, tmp_path, target, settings, verb):
    user, _ = target
    first, first_secret = enrolled_admin(app, make_user, clock, tmp_path, "first@example.com")
    second, second_secret = enrolled_admin(app, make_user, clock, tmp_path, "second@example.com")
    # The first admin's request form goes through the step-up too and comes back as typed.
    form_path = f"/admin/users/{user.id}/disable-2fa"
    assert post_form(first, form_path, TYPED).headers["Location"] == f"/admin/confirm?next={form_path}"
    confirm(first, first_secret, clock, form_path)
    back = first.get(form_path)
    assert form_values(back.text) == TYPED
    assert first.post(form_path, data={"csrf_token": csrf_token(back), **TYPED}).status_code == 302
    with app.app_context():
        request_id = db.session.scalar(select(AdminRequest.id))
    page_path = f"/admin/requests/{request_id}"
    sent = post_form(second, f"{page_path}/{verb}", {}, page_path=page_path)
    assert sent.status_code == 302 and sent.headers["Location"] == f"/admin/confirm?next={page_path}"
    assert REASON in second.get(sent.headers["Location"]).text
    ok = confirm(second, second_secret, clock, page_path)
    assert ok.headers["Location"] == page_path
    page = second.get(page_path)
    assert BACK in page.text and f"/admin/requests/{request_id}/{verb}" in page.text
    with app.app_context():
        assert db.session.get(AdminRequest, request_id).status == "pending"  # nothing was replayed
    done = second.post(f"{page_path}/{verb}", data={"csrf_token": csrf_token(page)})
    assert done.status_code == 302
    with app.app_context():
        assert db.session.get(AdminRequest, request_id).status == ("approved" if verb == "approve" else "rejected")
