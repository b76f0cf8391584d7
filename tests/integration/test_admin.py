"""The admin area through HTTP: who may enter, the confirmation before actions, search, disabling a
user's 2FA after a recorded identity check (also two admins at once), and the audit log with its CSV."""

from __future__ import annotations

import csv
import html
import io
import re
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

from sqlalchemy import select, update

from portal.extensions import db
from portal.models import AuditEvent, RecoveryCode, TotpFactor, User, UserSession
from tests.conftest import serving
from tests.integration.test_concurrency import CSRF, Browser
from tests.integration.totp_helpers import enroll, send_totp
from tests.otp import totp
from tests.support import GOOD_PASSWORD, csrf_token, login

ADMIN = "boss@example.com"
TARGET = "lost-phone@example.com"
IDENTITY = {"identity_check": "video_call", "case_reference": "CASE-2026-118",
            "notes": "Video call; compared the face with the ID photo sent to support."}
ADMIN_URLS = ["/admin", "/admin/users", "/admin/users/1", "/admin/users/1/disable-2fa", "/admin/audit",
              "/admin/audit.csv", "/admin/confirm", "/admin/requests", "/admin/requests/1"]


def enrolled_admin(app, make_user, clock, tmp_path, email=ADMIN):
    """An admin with an authenticator app, signed in (the session proved no second factor yet)."""
    make_user(email, is_admin=True)
    browser = app.test_client()
    assert login(browser, email).status_code == 302
    return browser, enroll(browser, clock, tmp_path).secret


def confirm(browser, secret, clock, next_url="/admin/users"):
    clock.advance(30)  # a code of a step not used yet (the enrollment used the current one)
    page = browser.get(f"/admin/confirm?next={next_url}")
    assert page.status_code == 200, page.text[:500]
    return browser.post(f"/admin/confirm?next={next_url}", data={
        "csrf_token": csrf_token(page), "password": GOOD_PASSWORD, "code": totp(secret, clock())})


def disable(browser, user_id, **fields):
    page = browser.get(f"/admin/users/{user_id}/disable-2fa")
    data = {"csrf_token": csrf_token(page), **IDENTITY, "confirm_email": TARGET, **fields}
    return browser.post(f"/admin/users/{user_id}/disable-2fa", data=data)


def audit_rows(app, event="admin.two_factor_disabled"):
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.event == event)))


def factors_of(app, user_id):
    with app.app_context():
        return (db.session.scalars(select(TotpFactor).where(TotpFactor.user_id == user_id)).all(),
                db.session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user_id)).all())


def test_anonymous_users_are_sent_to_sign_in(client):
    for url in ADMIN_URLS:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/login?next=%2Fadmin"), url


def test_a_user_who_is_not_an_admin_gets_403_everywhere(app, signed_in):
    page = signed_in.get("/account")
    for url in ADMIN_URLS:
        assert signed_in.get(url).status_code == 403, url
    for url in ("/admin/users/1/disable-2fa", "/admin/confirm", "/admin/requests/1/approve",
                "/admin/requests/1/reject"):  # the URLs that take a POST
        assert signed_in.post(url, data={"csrf_token": csrf_token(page), **IDENTITY}).status_code == 403, url


def test_a_pending_sign_in_of_an_admin_is_anonymous(app, make_user, clock, tmp_path):
    enrolled_admin(app, make_user, clock, tmp_path)
    pending = app.test_client()
    assert login(pending, ADMIN).status_code == 302  # password only: the second step is pending
    response = pending.get("/admin/users")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_an_admin_without_a_second_factor_is_sent_to_set_one_up(app, make_user):
    make_user(ADMIN, is_admin=True)
    browser = app.test_client()
    login(browser, ADMIN)
    response = browser.get("/admin/users", follow_redirects=True)
    assert response.request.path == "/account"
    assert "Set up two-step verification for your own account before you use the admin pages." in response.text


def test_search_finds_by_prefix_and_substring_and_pages(app, make_user, clock, tmp_path, target):
    browser, _ = enrolled_admin(app, make_user, clock, tmp_path)
    for n in range(55):
        make_user(f"user{n:02d}@corp.example")
    make_user("a-phone-user@example.com")
    page = browser.get("/admin/users?q=PHONE")
    assert page.status_code == 200
    # Prefix matches come first, then other substrings.
    assert page.text.index("lost-phone@example.com") > 0
    assert "a-phone-user@example.com" in page.text and "user01@corp.example" not in page.text
    row = page.text[page.text.index("lost-phone@example.com"):]
    assert "Authenticator app" in row[:600] and "<td>10</td>" in row[:600]
    first = browser.get("/admin/users?q=corp")
    assert first.text.count("@corp.example</a>") == 50 and "Next page" in first.text
    second = browser.get("/admin/users?q=corp&page=2")
    assert second.text.count("@corp.example</a>") == 5 and "Next page" not in second.text
    assert "user54@corp.example" in second.text
    # Wildcards are searched for literally, and hostile input is just text.
    assert "No user matches" in browser.get("/admin/users?q=%25%25").text
    assert browser.get("/admin/users?q=%00%27%22<script>&page=-1").status_code == 200
    assert "&lt;script&gt;" in browser.get("/admin/users?q=<script>").text


def _emails_on(page_text):
    return re.findall(r'<a href="/admin/users/\d+">([^<]+)</a>', page_text)


def test_search_pages_through_prefix_matches_then_substring_matches(app, make_user, clock, tmp_path, target):
    browser, _ = enrolled_admin(app, make_user, clock, tmp_path)
    prefixed = [f"ann{n:02d}@example.org" for n in range(60)]
    inside = [f"jo-ann{n:02d}@example.org" for n in range(45)]
    with app.app_context():
        db.session.add_all(User(email=e, password_hash="x", created_at=clock()) for e in prefixed + inside)
        db.session.add(User(email="bob@example.org", password_hash="x", created_at=clock()))
        db.session.commit()
    pages = [_emails_on(browser.get(f"/admin/users?q=Ann&page={n}").text) for n in (1, 2, 3, 4)]
    # Every match exactly once, prefix matches first, each group in address order, 50 to a page.
    assert [len(p) for p in pages] == [50, 50, 5, 0]
    assert [e for p in pages for e in p] == sorted(prefixed) + sorted(inside)
    # Under three characters a substring cannot use the trigram index: prefix matches only.
    short = _emails_on(browser.get("/admin/users?q=an").text)
    assert short == sorted(prefixed)[:50] and not any(e.startswith("jo-") for e in short)
    assert "Type at least 3 characters" in browser.get("/admin/users?q=an").text
    assert _emails_on(browser.get("/admin/users?q=bob@").text) == ["bob@example.org"]


def test_actions_need_the_password_and_a_code_first(app, make_user, clock, tmp_path, target):
    user, _ = target
    browser, secret = enrolled_admin(app, make_user, clock, tmp_path)
    response = disable(browser, user.id)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/confirm?next=/admin/users/{user.id}/disable-2fa"
    assert len(factors_of(app, user.id)[0]) == 1
    # A wrong code (or a wrong password) is refused without saying which one.
    page = browser.get("/admin/confirm")
    wrong = browser.post("/admin/confirm", data={"csrf_token": csrf_token(page), "password": "wrong password!",
                                                 "code": totp(secret, clock())})
    assert wrong.status_code == 400 and "The password or the code is not correct." in wrong.text
    # A right password with a wrong code reads exactly the same: a stolen session learns nothing of it.
    page = browser.get("/admin/confirm")
    right_password = browser.post("/admin/confirm", data={"csrf_token": csrf_token(page), "password": GOOD_PASSWORD,
                                                          "code": "000000"})
    assert right_password.status_code == 400 and "The password or the code is not correct." in right_password.text
    with app.app_context():  # that code did count
        assert db.session.scalar(select(User.factor_failures).where(User.email == ADMIN)) == 1
        db.session.execute(update(User).where(User.email == ADMIN).values(factor_failures=0))
        db.session.commit()
    # Wrong passwords are the password throttle's business: they never count toward the code lock.
    with app.app_context():
        assert db.session.scalar(select(User.factor_failures).where(User.email == ADMIN)) == 0
    assert disable(browser, user.id).status_code == 302
    ok = confirm(browser, secret, clock, f"/admin/users/{user.id}/disable-2fa")
    assert ok.status_code == 302 and ok.headers["Location"] == f"/admin/users/{user.id}/disable-2fa"
    assert disable(browser, user.id).status_code == 302
    assert factors_of(app, user.id) == ([], [])
    # The confirmation lasts FRESH_AUTH_SECONDS.
    clock.advance(app.config["FRESH_AUTH_SECONDS"] + 1)
    page = browser.get(f"/admin/users/{user.id}/disable-2fa")
    late = browser.post(f"/admin/users/{user.id}/disable-2fa", data={"csrf_token": csrf_token(page), **IDENTITY})
    assert late.status_code == 302 and late.headers["Location"].startswith("/admin/confirm")


def test_disabling_records_the_identity_check_and_signs_the_user_out(app, make_user, clock, tmp_path, target):
    user, user_browser = target
    browser, secret = enrolled_admin(app, make_user, clock, tmp_path)
    confirm(browser, secret, clock)
    for fields, message in [
        ({"identity_check": ""}, "Choose how you checked the person&#39;s identity."),
        ({"identity_check": "telepathy"}, "Choose how you checked the person&#39;s identity."),
        ({"case_reference": "   "}, "Enter the case reference."),
        ({"notes": "checked it"}, "Write at least 20 characters of notes"),
        ({"notes": "a" + "\u0301" * 24}, "Write at least 20 characters of notes"),  # one letter, 24 accents
        ({"notes": "ok" + " " * 10 + "\t" * 10 + "fine"}, "Write at least 20 characters of notes"),
        ({"notes": "a" + "\u200b" * 24}, "Write at least 20 characters of notes"),  # zero-width spaces
        ({"notes": "a" + "\u00ad" * 24}, "Write at least 20 characters of notes"),  # soft hyphens
        ({"confirm_email": "someone@else.example"}, "The email address you typed is not this user&#39;s."),
    ]:
        refused = disable(browser, user.id, **fields)
        assert refused.status_code == 400, fields
        assert message in refused.text, fields
    assert len(factors_of(app, user.id)[1]) == 10 and audit_rows(app) == []
    done = disable(browser, user.id, confirm_email=TARGET.upper())
    assert done.status_code == 302
    shown = browser.get(done.headers["Location"])
    assert "is off and all of its sessions are signed out" in shown.text and "CASE-2026-118" in shown.text
    assert factors_of(app, user.id) == ([], [])
    with app.app_context():
        assert db.session.scalars(select(UserSession).where(UserSession.user_id == user.id)).all() == []
        admin_id = db.session.scalar(select(User.id).where(User.email == ADMIN))
    [row] = audit_rows(app)
    assert (row.actor_id, row.subject_id, row.ip) == (admin_id, user.id, "127.0.0.1")
    assert row.details["identity_check"] == "video_call" and row.details["case_reference"] == "CASE-2026-118"
    assert row.details["notes"] == IDENTITY["notes"]
    assert user_browser.get("/account").status_code == 302  # the user's copied cookie is dead
    fresh = app.test_client()
    assert login(fresh, TARGET).headers["Location"] == "/account"  # the password alone signs in now
    assert "Not set up" in fresh.get("/account").text
    # A second submit finds nothing to do and writes nothing.
    again = disable(browser, user.id)
    assert again.status_code == 302 and len(audit_rows(app)) == 1


def test_an_admin_cannot_disable_their_own_2fa(app, make_user, clock, tmp_path):
    browser, secret = enrolled_admin(app, make_user, clock, tmp_path)
    confirm(browser, secret, clock)
    with app.app_context():
        own_id = db.session.scalar(select(User.id).where(User.email == ADMIN))
    assert browser.get(f"/admin/users/{own_id}/disable-2fa").status_code == 403
    response = disable(browser, own_id, confirm_email=ADMIN)
    assert response.status_code == 403
    assert "You cannot use the admin pages on your own account." in response.text
    assert len(factors_of(app, own_id)[0]) == 1 and audit_rows(app) == []


def test_two_admins_at_once_make_one_change(app, make_user, clock, tmp_path, target):
    user, _ = target
    secrets_ = {}
    for email in ("first@example.com", "second@example.com"):
        _, secrets_[email] = enrolled_admin(app, make_user, clock, tmp_path, email)
    clock.advance(30)
    with serving(app) as base:
        browsers = []
        for email, secret in secrets_.items():
            b = Browser(base)
            assert b.post_form("/login", {"email": email, "password": GOOD_PASSWORD}) == 302
            assert b.post_form("/2fa/verify?method=totp", {"code": totp(secret, clock())}) == 302
            browsers.append(b)
        path = f"/admin/users/{user.id}/disable-2fa"
        tokens = [CSRF.search(b.open(path)[1]).group(1) for b in browsers]
        barrier = Barrier(2)

        def submit(pair):
            b, token = pair
            barrier.wait()
            return b.open(path, {"csrf_token": token, **IDENTITY, "confirm_email": TARGET})[0]

        with ThreadPoolExecutor(max_workers=2) as pool:
            statuses = list(pool.map(submit, zip(browsers, tokens, strict=True)))
        assert statuses == [302, 302]
        pages = [b.open(f"/admin/users/{user.id}")[1] for b in browsers]
    assert sum("is off and all of its sessions are signed out" in p for p in pages) == 1
    assert sum("is already off: nothing was changed." in p for p in pages) == 1
    assert len(audit_rows(app)) == 1 and factors_of(app, user.id) == ([], [])


def test_the_audit_log_filters_pages_and_exports_csv(app, make_user, clock, tmp_path, target):
    user, _ = target
    browser, secret = enrolled_admin(app, make_user, clock, tmp_path)
    confirm(browser, secret, clock)
    assert disable(browser, user.id, case_reference="=HYPERLINK(\"http://evil.example\")").status_code == 302
    page = browser.get(f"/admin/audit?user={TARGET}")
    assert page.status_code == 200
    assert "Two-step verification turned off by support" in page.text and "Authenticator app set up" in page.text
    only = browser.get(f"/admin/audit?user={TARGET}&event=admin.")
    assert "Authenticator app set up" not in only.text and "admin.two_factor_disabled" in only.text
    assert "No event matches." in browser.get("/admin/audit?since=2000-01-01&until=2000-01-02").text
    assert browser.get("/admin/audit?since=not-a-date&page=abc").status_code == 200
    assert "No account has the email address" in browser.get("/admin/audit?user=nobody@example.com").text
    export = browser.get(f"/admin/audit.csv?user={TARGET}&event=admin.")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    assert export.data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: spreadsheets then read Chinese text right
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [r["event"] for r in rows] == ["admin.two_factor_disabled"]
    assert rows[0]["actor"] == ADMIN and rows[0]["subject"] == TARGET
    assert '"case_reference": "=HYPERLINK' in rows[0]["details"]
    assert rows[0]["details"].startswith("{")  # JSON, not a formula
    # A case reference finds its case (exact, whatever else the log holds), in the page and the CSV.
    case = browser.get("/admin/audit", query_string={"case": '=HYPERLINK("http://evil.example")'})
    assert case.text.count("<code>admin.two_factor_disabled</code>") == 1
    assert "Authenticator app set up" not in case.text
    assert 'name="case" value="=HYPERLINK(&#34;http://evil.example&#34;)"' in case.text
    assert "No event matches." in browser.get("/admin/audit?case=HYPERLINK").text
    by_case = list(csv.DictReader(io.StringIO(browser.get(
        "/admin/audit.csv", query_string={"case": '=HYPERLINK("http://evil.example")'}).text)))
    assert [r["event"] for r in by_case] == ["admin.two_factor_disabled"]
    assert browser.get("/admin/audit?case=%00%27").status_code == 200
    # Nothing in the application edits or deletes audit rows: no such routes exist.
    for method in ("put", "delete", "patch"):
        assert getattr(browser, method)("/admin/audit").status_code == 405


def test_the_user_is_told_at_the_next_sign_in_with_a_second_factor(app, make_user, clock, tmp_path, target):
    user, _ = target
    browser, secret = enrolled_admin(app, make_user, clock, tmp_path)
    confirm(browser, secret, clock)
    assert disable(browser, user.id).status_code == 302
    again = app.test_client()
    login(again, TARGET)
    secret_again = enroll(again, clock, tmp_path).secret
    clock.advance(30)
    later = app.test_client()
    assert login(later, TARGET).status_code == 302
    assert send_totp(later, totp(secret_again, clock())).status_code == 302
    assert "Two-step verification turned off by support" in later.get("/account").text


def test_the_audit_log_pages_keep_the_filters(app, make_user, clock, tmp_path, target):
    from portal import audit

    user, _ = target
    browser, _ = enrolled_admin(app, make_user, clock, tmp_path)
    with app.app_context():
        subject = db.session.get(User, user.id)
        for n in range(55):
            audit.record("signin.second_factor", actor=subject, subject=subject, ip=f"192.0.2.{n}")
        db.session.commit()
    first = browser.get(f"/admin/audit?user={TARGET}&event=signin.")
    assert first.text.count("<code>signin.second_factor</code>") == 50
    # The "Next page" link itself keeps the filters: follow it as a browser would.
    link = re.search(r'<a href="([^"]+)">Next page</a>', first.text)
    assert link, first.text[-2000:]
    second = browser.get(html.unescape(link.group(1)))
    assert second.text.count("<code>signin.second_factor</code>") == 5
    assert "Next page" not in second.text and "Previous page" in second.text


def test_password_only_sign_in_after_a_disable_invites_to_enroll_once(app, make_user, clock, tmp_path, target):
    user, _ = target
    browser, secret = enrolled_admin(app, make_user, clock, tmp_path)
    confirm(browser, secret, clock)
    assert disable(browser, user.id).status_code == 302
    first = app.test_client()
    assert login(first, TARGET).headers["Location"] == "/account"
    page = first.get("/account").text
    assert "Support turned off two-step verification for your account (" in page
    assert ("UTC), so your password alone signs you in now. If you did not ask for this, contact support. "
            '<a href="/account/2fa/totp">Set up two-step verification again</a>') in page
    # One notice: the change is not listed again under "Since your last sign-in".
    flashes = re.findall(r'<p class="flash [^>]*>(.*?)</p>', page, re.S)
    about_support = [f for f in flashes if "by support" in f or "Support turned off" in f]
    assert len(about_support) == 1, flashes
    second = app.test_client()
    login(second, TARGET)
    assert "Support turned off two-step verification" not in second.get("/account").text  # told once


def test_failed_sign_ins_and_lockouts_are_in_the_audit_log(app, make_user, clock, tmp_path, target):
    from tests.integration.totp_helpers import send_totp

    user, _ = target
    assert login(app.test_client(), TARGET, "not the password at all").status_code == 400
    assert login(app.test_client(), "nobody@example.com", "not the password at all").status_code == 400
    failed = audit_rows(app, "signin.password_failed")
    assert [r.subject_id for r in failed] == [user.id, None]
    assert all(len(r.details["email_key"]) == 16 for r in failed)
    assert "nobody" not in str(failed[1].details)  # an unknown address is kept only as a keyed hash
    with app.app_context():
        db.session.get(User, user.id).factor_failures = app.config["SECOND_FACTOR_LOCK_AT"] - 1
        db.session.commit()
    browser = app.test_client()
    login(browser, TARGET)
    assert send_totp(browser, "000000").status_code == 400
    [wrong] = audit_rows(app, "signin.second_factor_failed")
    assert (wrong.subject_id, wrong.details["method"], wrong.details["reason"]) == (user.id, "totp", "invalid")
    [locked] = audit_rows(app, "signin.locked")
    assert locked.subject_id == user.id and locked.details["failures"] == app.config["SECOND_FACTOR_LOCK_AT"]


def test_a_locked_admin_sees_the_lock_whatever_password_is_typed(app, make_user, clock, tmp_path):
    browser, secret = enrolled_admin(app, make_user, clock, tmp_path)
    with app.app_context():
        db.session.execute(update(User).where(User.email == ADMIN).values(
            factor_failures=app.config["SECOND_FACTOR_LOCK_AT"]))
        db.session.commit()
    for password in ("not the password", GOOD_PASSWORD):
        page = browser.get("/admin/confirm")
        response = browser.post("/admin/confirm", data={"csrf_token": csrf_token(page), "password": password,
                                                        "code": totp(secret, clock())})
        assert response.status_code == 403 and "signing in with a code is locked" in response.text, password
