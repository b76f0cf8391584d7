"""ADMIN_DISABLE_REQUIRES_SECOND_ADMIN: a request to disable a user's 2FA waits for a different admin.

Through HTTP on SQLite and PostgreSQL: the requester cannot approve, a different admin can (and both are
in the audit log), a rejection or withdrawal changes nothing, a request lapses after 24 hours, and two
admins at once make one request or one approval.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from threading import Barrier

import pytest
from sqlalchemy import delete, select, update

from portal.extensions import db
from portal.models import AdminRequest, RecoveryCode, TotpFactor, User, UserSession
from tests.conftest import serving
from tests.integration.test_admin import (
    IDENTITY,
    TARGET,
    audit_rows,
    confirm,
    disable,
    enrolled_admin,
    factors_of,
)
from tests.integration.test_concurrency import CSRF, Browser
from tests.otp import totp
from tests.support import GOOD_PASSWORD, csrf_token

FIRST, SECOND, THIRD = "first@example.com", "second@example.com", "third@example.com"


@pytest.fixture
def settings(smtp):
    return {"ADMIN_DISABLE_REQUIRES_SECOND_ADMIN": True, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp[1],
            "MAIL_USE_TLS": False}


@pytest.fixture
def admins(app, make_user, clock, tmp_path):
    """Two admins, each signed in with an authenticator app and confirmed for actions."""
    out = {}
    for email in (FIRST, SECOND):
        browser, secret = enrolled_admin(app, make_user, clock, tmp_path, email)
        out[email] = browser
        out[email + ":secret"] = secret
        assert confirm(browser, secret, clock).status_code == 302
    return out


def user_id(app, email):
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.email == email))


def requests_of(app, target_id):
    with app.app_context():
        return list(db.session.scalars(select(AdminRequest).where(AdminRequest.target_id == target_id)
                                       .order_by(AdminRequest.id)))


def decide(browser, request_id, verb):
    page = browser.get(f"/admin/requests/{request_id}")
    assert page.status_code == 200
    return browser.post(f"/admin/requests/{request_id}/{verb}", data={"csrf_token": csrf_token(page)})


def test_the_requester_cannot_approve_and_a_different_admin_can(app, admins, target):
    user, user_browser = target
    first, second = admins[FIRST], admins[SECOND]
    assert "A different admin must approve this" in first.get(f"/admin/users/{user.id}/disable-2fa").text
    requested = disable(first, user.id)
    assert requested.status_code == 302
    [req] = requests_of(app, user.id)
    assert requested.headers["Location"] == f"/admin/requests/{req.id}"
    assert req.status == "pending" and req.case_reference == IDENTITY["case_reference"]
    assert req.notes == IDENTITY["notes"] and req.identity_check == "video_call"
    # Nothing of the user changed yet: factors, codes and the user's session are all there.
    totp_rows, codes = factors_of(app, user.id)
    assert len(totp_rows) == 1 and len(codes) == 10 and user_browser.get("/account").status_code == 200
    [asked] = audit_rows(app, "admin.disable_requested")
    assert (asked.actor_id, asked.subject_id) == (user_id(app, FIRST), user.id)
    assert asked.details["case_reference"] == IDENTITY["case_reference"] and asked.details["request_id"] == req.id
    assert audit_rows(app, "admin.two_factor_disabled") == []

    page = first.get(f"/admin/requests/{req.id}")
    assert "You made this request: a different admin must approve it." in page.text
    assert f'action="/admin/requests/{req.id}/approve"' not in page.text
    # Posting the approval by hand is refused too, and changes nothing.
    refused = first.post(f"/admin/requests/{req.id}/approve", data={"csrf_token": csrf_token(page)})
    assert refused.status_code == 403 and "a different admin must approve it" in refused.text
    assert len(factors_of(app, user.id)[1]) == 10 and requests_of(app, user.id)[0].status == "pending"

    listing = second.get("/admin/requests")
    assert TARGET in listing.text and IDENTITY["case_reference"] in listing.text
    assert re.search(r'Approval requests <span class="tag">1</span>', listing.text)
    shown = second.get(f"/admin/requests/{req.id}")
    assert IDENTITY["notes"] in shown.text and FIRST in shown.text and "Video call" in shown.text
    approved = decide(second, req.id, "approve")
    assert approved.status_code == 302
    assert "is off and all of its sessions are signed out" in second.get(approved.headers["Location"]).text
    assert factors_of(app, user.id) == ([], [])
    with app.app_context():
        assert db.session.scalars(select(UserSession).where(UserSession.user_id == user.id)).all() == []
    assert user_browser.get("/account").status_code == 302
    [done] = audit_rows(app, "admin.two_factor_disabled")
    assert (done.actor_id, done.subject_id) == (user_id(app, SECOND), user.id)
    assert done.details["requested_by"] == user_id(app, FIRST) and done.details["request_id"] == req.id
    assert done.details["case_reference"] == IDENTITY["case_reference"]
    [req] = requests_of(app, user.id)
    assert (req.status, req.decided_by_id) == ("approved", user_id(app, SECOND))
    assert "Approved: two-step verification turned off" in first.get(f"/admin/requests/{req.id}").text
    # Approving again does nothing more.
    again = second.post(f"/admin/requests/{req.id}/approve",
                        data={"csrf_token": csrf_token(second.get(f"/admin/requests/{req.id}"))})
    assert "no longer waits for approval" in second.get(again.headers["Location"]).text
    assert len(audit_rows(app, "admin.two_factor_disabled")) == 1
    # The story is in the audit log, found by the case reference's user.
    log = second.get(f"/admin/audit?user={TARGET}").text
    assert "admin.disable_requested" in log or "asked for approval" in log


def test_one_request_at_a_time_and_a_rejection_or_withdrawal_changes_nothing(app, admins, target):
    user, _ = target
    first, second = admins[FIRST], admins[SECOND]
    disable(first, user.id)
    # While it waits, the form shows the request instead, and a second submit records nothing.
    assert "already waits for approval" in second.get(f"/admin/users/{user.id}/disable-2fa").text
    assert "waits for approval" in second.get(f"/admin/users/{user.id}").text
    again = disable(second, user.id)
    assert again.status_code == 302
    assert "already waits for approval: nothing new was recorded" in second.get(again.headers["Location"]).text
    [req] = requests_of(app, user.id)
    rejected = decide(second, req.id, "reject")
    assert "The request is rejected." in second.get(rejected.headers["Location"]).text
    assert requests_of(app, user.id)[0].status == "rejected"
    assert [r.actor_id for r in audit_rows(app, "admin.disable_rejected")] == [user_id(app, SECOND)]
    assert len(factors_of(app, user.id)[1]) == 10
    # A rejected request cannot be approved afterwards.
    late = second.post(f"/admin/requests/{req.id}/approve",
                       data={"csrf_token": csrf_token(second.get(f"/admin/requests/{req.id}"))})
    assert "no longer waits for approval" in second.get(late.headers["Location"]).text
    assert len(factors_of(app, user.id)[1]) == 10
    # A new request may follow; its requester can withdraw it.
    disable(first, user.id)
    newer = requests_of(app, user.id)[-1]
    assert newer.id != req.id and newer.status == "pending"
    withdrawn = decide(first, newer.id, "reject")
    assert "The request is withdrawn." in first.get(withdrawn.headers["Location"]).text
    assert requests_of(app, user.id)[-1].status == "withdrawn"
    assert len(audit_rows(app, "admin.disable_withdrawn")) == 1
    assert audit_rows(app, "admin.two_factor_disabled") == [] and len(factors_of(app, user.id)[1]) == 10


def test_a_request_lapses_after_24_hours(app, admins, target, clock):
    user, _ = target
    first, second = admins[FIRST], admins[SECOND]
    disable(first, user.id)
    [req] = requests_of(app, user.id)
    with app.app_context():  # made a day ago (moving the clock that far would end the admins' sessions)
        db.session.execute(update(AdminRequest).values(requested_at=clock() - timedelta(hours=24, seconds=1)))
        db.session.commit()
    assert "Lapsed: no decision within 24 hours" in second.get(f"/admin/requests/{req.id}").text
    assert "No request is waiting." in second.get("/admin/requests").text
    late = decide(second, req.id, "approve")
    assert "no longer waits for approval" in second.get(late.headers["Location"]).text
    assert len(factors_of(app, user.id)[1]) == 10 and audit_rows(app, "admin.two_factor_disabled") == []
    # A new request can be made; the lapsed one is closed as expired.
    assert disable(first, user.id).status_code == 302
    assert [r.status for r in requests_of(app, user.id)] == ["expired", "pending"]


def test_the_approval_needs_a_fresh_confirmation(app, admins, target, clock):
    user, _ = target
    disable(admins[FIRST], user.id)
    [req] = requests_of(app, user.id)
    clock.advance(301)  # FRESH_AUTH_SECONDS later
    second = admins[SECOND]
    response = decide(second, req.id, "approve")
    assert response.status_code == 302
    # The approval is a POST: after the confirmation the admin is back on the request's page, not on a 405.
    assert response.headers["Location"] == f"/admin/confirm?next=/admin/requests/{req.id}"
    assert len(factors_of(app, user.id)[1]) == 10 and requests_of(app, user.id)[0].status == "pending"
    confirmed = confirm(second, admins[SECOND + ":secret"], clock, next_url=f"/admin/requests/{req.id}")
    assert confirmed.headers["Location"] == f"/admin/requests/{req.id}"
    assert second.get(confirmed.headers["Location"]).status_code == 200
    assert decide(second, req.id, "approve").status_code == 302
    assert factors_of(app, user.id) == ([], [])


def test_the_target_admin_cannot_decide_a_request_about_their_own_account(app, admins, make_user, clock, tmp_path):
    first, second = admins[FIRST], admins[SECOND]
    second_id = user_id(app, SECOND)
    assert disable(first, second_id, confirm_email=SECOND).status_code == 302
    [req] = requests_of(app, second_id)
    page = second.get(f"/admin/requests/{req.id}")
    assert "about your own account" in page.text and "/approve" not in page.text
    for verb in ("approve", "reject"):
        refused = second.post(f"/admin/requests/{req.id}/{verb}", data={"csrf_token": csrf_token(page)})
        assert refused.status_code == 403, verb
        assert "You cannot use the admin pages on your own account." in refused.text
    assert len(factors_of(app, second_id)[1]) == 10 and requests_of(app, second_id)[0].status == "pending"
    assert audit_rows(app, "admin.disable_rejected") == []


def live_admin(base, email, secret, clock):
    browser = Browser(base)
    assert browser.post_form("/login", {"email": email, "password": GOOD_PASSWORD}) == 302
    assert browser.post_form("/2fa/verify?method=totp", {"code": totp(secret, clock())}) == 302
    return browser


def race(browsers, path, fields):
    tokens = [CSRF.search(b.open(path if "/requests/" not in path else path.rsplit("/", 1)[0])[1]).group(1)
              for b in browsers]
    barrier = Barrier(len(browsers))

    def submit(pair):
        b, token = pair
        barrier.wait()
        return b.open(path, {"csrf_token": token, **fields})[0]

    with ThreadPoolExecutor(max_workers=len(browsers)) as pool:
        return list(pool.map(submit, zip(browsers, tokens, strict=True)))


def test_two_requests_at_once_make_one_and_two_approvals_at_once_act_once(app, make_user, clock, tmp_path, target):
    user, _ = target
    secrets_ = {email: enrolled_admin(app, make_user, clock, tmp_path, email)[1] for email in (FIRST, SECOND, THIRD)}
    clock.advance(30)
    with serving(app) as base:
        first, second, third = (live_admin(base, e, s, clock) for e, s in secrets_.items())
        statuses = race([first, second], f"/admin/users/{user.id}/disable-2fa", {**IDENTITY, "confirm_email": TARGET})
        assert statuses == [302, 302]
        [req] = requests_of(app, user.id)
        assert len(audit_rows(app, "admin.disable_requested")) == 1
        approvers = [b for b, email in ((first, FIRST), (second, SECOND), (third, THIRD))
                     if user_id(app, email) != req.requested_by_id]
        assert race(approvers, f"/admin/requests/{req.id}/approve", {}) == [302, 302]
        pages = [b.open(f"/admin/requests/{req.id}")[1] for b in approvers]
    assert sum("is off and all of its sessions are signed out" in p for p in pages) == 1
    assert sum("no longer waits for approval" in p for p in pages) == 1
    assert len(audit_rows(app, "admin.two_factor_disabled")) == 1 and factors_of(app, user.id) == ([], [])


def test_every_admin_post_needs_the_csrf_token(app, admins, target):
    user, _ = target
    first, second = admins[FIRST], admins[SECOND]
    disable(first, user.id)
    [req] = requests_of(app, user.id)
    posts = sorted(rule.rule for rule in app.url_map.iter_rules()
                   if rule.rule.startswith("/admin") and "POST" in (rule.methods or ()))
    assert len(posts) >= 5, posts  # confirm, confirm/send, disable-2fa, approve, reject
    for rule in posts:
        path = re.sub(r"<int[^>]*:user_id>", str(user.id), re.sub(r"<int[^>]*:request_id>", str(req.id), rule))
        for browser in (first, second):
            response = browser.post(path, data={**IDENTITY, "confirm_email": TARGET, "password": GOOD_PASSWORD})
            assert response.status_code == 400, (path, response.status_code)
    # Nothing changed: the request still waits and the user keeps every factor.
    assert [r.status for r in requests_of(app, user.id)] == ["pending"]
    assert len(factors_of(app, user.id)[1]) == 10 and audit_rows(app, "admin.two_factor_disabled") == []


def test_a_request_for_a_user_whose_2fa_went_another_way_is_closed_and_audited(app, admins, target):
    user, _ = target
    disable(admins[FIRST], user.id)
    [req] = requests_of(app, user.id)
    with app.app_context():  # meanwhile the factors went (say, the break-glass CLI); a failure count is left
        for model in (TotpFactor, RecoveryCode):
            db.session.execute(delete(model).where(model.user_id == user.id))
        db.session.execute(update(User).where(User.id == user.id).values(factor_failures=7))
        db.session.commit()
    approved = decide(admins[SECOND], req.id, "approve")
    assert "is already off: nothing was changed." in admins[SECOND].get(approved.headers["Location"]).text
    with app.app_context():
        assert db.session.get(User, user.id).factor_failures == 7  # nothing of the user changed
    assert requests_of(app, user.id)[0].status == "obsolete"
    [closed] = audit_rows(app, "admin.disable_request_closed")
    assert closed.actor_id == user_id(app, SECOND) and closed.details["request_id"] == req.id
    assert audit_rows(app, "admin.two_factor_disabled") == []


def test_the_user_is_emailed_at_each_step_of_a_request(app, admins, target, inbox):
    user, _ = target
    first, second = admins[FIRST], admins[SECOND]
    inbox.messages.clear()
    disable(first, user.id)
    [(to, message)] = inbox.wait_for(1)
    assert to == [TARGET] and "Support was asked to turn off two-step verification" in message["Subject"]
    [req] = requests_of(app, user.id)
    decide(second, req.id, "reject")
    disable(first, user.id)
    decide(first, requests_of(app, user.id)[-1].id, "reject")
    subjects = [m["Subject"] for _, m in inbox.wait_for(4)]
    assert len(subjects) == 4 and "was rejected" in subjects[1] and "was withdrawn" in subjects[3]
    assert IDENTITY["notes"] not in "".join(m.get_content() for _, m in inbox.messages)  # notes stay internal


def test_notes_may_hold_full_width_and_no_break_spaces(app, admins, target):
    user, _ = target
    notes = "视频通话核实身份\u3000已对照身份证照片，\u00a0本人确认丢失手机。"
    assert disable(admins[FIRST], user.id, notes=notes).status_code == 302
    assert requests_of(app, user.id)[0].notes == notes
    # Control characters are still refused.
    assert disable(admins[SECOND], user.id, notes="a real note with a\x07bell in it").status_code == 400


def test_ids_and_dates_out_of_range_are_404_or_ignored_never_500(app, admins, target):
    first = admins[FIRST]
    token = csrf_token(first.get("/admin/users"))
    for path in ("/admin/users/9223372036854775808", "/admin/users/2147483648/disable-2fa",
                 "/admin/requests/99999999999999999999"):
        assert first.get(path).status_code == 404, path
    for path in ("/admin/requests/2147483648/approve", "/admin/requests/2147483648/reject",
                 "/account/sessions/9223372036854775808/revoke"):
        assert first.post(path, data={"csrf_token": token}).status_code == 404, path
    for query in ("until=9999-12-31", "since=9999-12-31", "since=0001-01-01&until=0001-01-01"):
        assert first.get(f"/admin/audit?{query}").status_code == 200, query
        assert first.get(f"/admin/audit.csv?{query}").status_code == 200, query
