"""Small things of issue 17 (point 12), through HTTP on SQLite and PostgreSQL: the sign-in page says what the
site is; "Approval requests" is in the admin menu only when approvals are on; after support turns 2FA off the
user gets one notice (in Chinese with no stray space before its link); a session ended by an admin says why on
the sign-in page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.cli import portal_cli
from portal.extensions import db
from portal.models import EndedSession
from tests.integration.test_admin import TARGET, confirm, disable, enrolled_admin
from tests.integration.totp_helpers import enroll, send_totp
from tests.otp import totp
from tests.support import login, logout

ZH = {"Accept-Language": "zh-CN"}
INTRO = "Set up and manage two-step verification for your account."
ENDED = ("You were signed out because support turned off two-step verification for your account. Sign in again "
         "with your password.")
ENDED_ZH = "由于客服关闭了您账户的两步验证，您已被退出登录。请使用密码重新登录。"


def flashes(page_text):
    return re.findall(r'<p class="flash [^>]*>(.*?)</p>', page_text, re.S)


def turn_off(app, make_user, clock, tmp_path, user_id):
    admin, secret = enrolled_admin(app, make_user, clock, tmp_path)
    confirm(admin, secret, clock)
    assert disable(admin, user_id).status_code == 302


def test_the_sign_in_page_says_in_one_line_what_the_site_is(client):
    page = client.get("/", follow_redirects=True)
    assert page.request.path == "/login"
    text = page.text
    assert f'<p class="site-intro">{INTRO}</p>' in text
    assert text.index(INTRO) < text.index("<form method=\"post\" action=\"/login")
    chinese = client.get("/login", headers=ZH).text
    assert '<p class="site-intro">在这里为您的账户设置和管理两步验证。</p>' in chinese


@pytest.mark.parametrize("settings", [{}, {"ADMIN_DISABLE_REQUIRES_SECOND_ADMIN": True}])
def test_approval_requests_are_in_the_admin_menu_only_when_approvals_are_on(app, make_user, clock, tmp_path,
                                                                            settings):
    admin, _ = enrolled_admin(app, make_user, clock, tmp_path)
    on = bool(settings)
    for path in ("/admin/users", "/admin/audit"):
        nav = re.search(r'<nav class="admin-nav"[^>]*>(.*?)</nav>', admin.get(path).text, re.S)
        assert nav is not None
        assert ("Approval requests" in nav.group(1)) is on, path
        assert ('href="/admin/requests"' in nav.group(1)) is on, path
        assert "Users" in nav.group(1) and "Audit log" in nav.group(1)


def user_last_signed_in_with_a_code(app, make_user, clock, tmp_path):
    """lost-phone@example.com, who set up an authenticator app and then signed in with it (and out)."""
    user = make_user(TARGET)
    first = app.test_client()
    assert login(first, TARGET).status_code == 302
    secret = enroll(first, clock, tmp_path).secret
    clock.advance(30)
    later = app.test_client()
    assert login(later, TARGET).status_code == 302
    assert send_totp(later, totp(secret, clock())).status_code == 302
    logout(later)
    return user


@pytest.mark.parametrize("language", ["en", "zh"])
def test_after_support_turns_2fa_off_the_user_gets_one_notice(app, make_user, clock, tmp_path, language):
    user = user_last_signed_in_with_a_code(app, make_user, clock, tmp_path)
    turn_off(app, make_user, clock, tmp_path, user.id)
    headers = ZH if language == "zh" else {}
    fresh = app.test_client()
    assert login(fresh, TARGET, headers=headers).headers["Location"] == "/account"
    [notice] = flashes(fresh.get("/account", headers=headers).text)  # support's change, told once
    if language == "zh":  # one sentence, its link right after the full stop: no stray space
        assert re.fullmatch(r"客服已关闭您账户的两步验证（.+ UTC），现在仅凭密码即可登录。"
                            r"如果这不是您本人的请求，请联系客服。"
                            r'<a href="/account/2fa/totp">重新设置两步验证</a>', notice), notice
    else:
        assert re.fullmatch(r"Support turned off two-step verification for your account \(.+ UTC\), so your password "
                            r"alone signs you in now\. If you did not ask for this, contact support\. "
                            r'<a href="/account/2fa/totp">Set up two-step verification again</a>', notice), notice
    again = app.test_client()
    assert login(again, TARGET).status_code == 302
    assert flashes(again.get("/account").text) == []  # and only once


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_session_ended_by_an_admin_says_why_on_the_sign_in_page(app, make_user, clock, tmp_path, target,
                                                                  language):
    user, browser = target
    headers = ZH if language == "zh" else {}
    pending = app.test_client()
    assert login(pending, TARGET).status_code == 302  # a second browser, waiting for its code
    turn_off(app, make_user, clock, tmp_path, user.id)
    for ended_browser in (browser, pending):
        gone = ended_browser.get("/account", headers=headers)
        assert gone.status_code == 302 and gone.headers["Location"].startswith("/login")
        sign_in_page = ended_browser.get(gone.headers["Location"], headers=headers).text
        assert (ENDED_ZH if language == "zh" else ENDED) in sign_in_page
        # Told once; the next visit is an ordinary sign-in page.
        assert ENDED not in ended_browser.get("/login").text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(EndedSession)) == 0


def test_only_an_admin_ending_a_session_gives_that_reason_and_prune_forgets_it(app, make_user, clock, tmp_path,
                                                                                target):
    user, browser = target
    # Signed out by the user's own "sign out other sessions": no word about support.
    other = app.test_client()
    login(other, TARGET)
    page = browser.get("/account")
    token = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', page.text).group(1)
    assert browser.post("/account/sessions/revoke-others", data={"csrf_token": token}).status_code == 302
    assert ENDED not in other.get("/login").text
    # Ended by an admin, never visited again: prune forgets the reason once the session would have expired.
    turn_off(app, make_user, clock, tmp_path, user.id)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(EndedSession)) == 1
    runner = app.test_cli_runner()
    assert runner.invoke(portal_cli, ["prune"]).exit_code == 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(EndedSession)) == 1  # not expired yet
    clock.advance(timedelta(seconds=app.config["SESSION_MAX_AGE"] + 1).total_seconds())
    assert runner.invoke(portal_cli, ["prune"]).exit_code == 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(EndedSession)) == 0
    assert ENDED not in browser.get("/login").text
