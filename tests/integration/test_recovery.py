"""Recovery codes through HTTP: shown once, single use, budget, regeneration, rollback, the race."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from portal.extensions import db
from portal.models import AuditEvent, RecoveryCode, User
from tests.conftest import serving
from tests.integration.totp_helpers import race_one_code, recovery_codes_on, send_totp
from tests.otp import totp
from tests.support import GOOD_PASSWORD, csrf_token, login, submit

EMAIL = "lost.phone@example.com"



@pytest.fixture
def email() -> str:
    return EMAIL


def pending(app):
    browser = app.test_client()
    assert login(browser, EMAIL).headers["Location"].startswith("/2fa")
    return browser


def redeem(browser, code):
    page = browser.get("/2fa/recovery")
    return browser.post("/2fa/recovery", data={"csrf_token": csrf_token(page), "code": code})


def casual(code):
    """How a person types a code from the downloaded file: lower case, no hyphens."""
    return code.replace("-", "").lower()


def rows(app):
    with app.app_context():
        return db.session.scalars(select(RecoveryCode)).all()


def events(app):
    with app.app_context():
        return db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()


def test_codes_are_shown_once_and_stored_only_as_hashes(app, signed_in, enrollment):
    assert len(set(enrollment.recovery_codes)) == 10
    stored = rows(app)
    assert len(stored) == 10
    for code in enrollment.recovery_codes:
        for row in stored:
            assert code.replace("-", "") not in row.code_hash and code not in row.code_hash
    assert all(row.code_hash.startswith("$argon2id$") for row in stored)
    overview = signed_in.get("/account/2fa/recovery-codes")
    assert "10 recovery codes left." in overview.text
    for url in ("/account", "/account/2fa/recovery-codes", "/account/2fa/totp"):
        text = signed_in.get(url).text
        assert not any(code in text for code in enrollment.recovery_codes), url
    assert all(code not in str(e.details) for e in events(app) for code in enrollment.recovery_codes)


def test_sign_in_with_a_recovery_code_typed_casually(app, enrollment):
    browser = pending(app)
    verify_page = browser.get("/2fa/verify?method=totp")
    assert 'href="/2fa/recovery' in verify_page.text
    response = redeem(browser, casual(enrollment.recovery_codes[0]))
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"
    account = browser.get("/account").text
    assert "You signed in with a recovery code. 9 codes are left." in account
    assert "9 recovery codes left." in account
    assert "Recovery code used" in account
    used = [e for e in events(app) if e.event == "recovery.used"]
    assert len(used) == 1
    assert used[0].details == {"method": "recovery", "recovery_codes_left": 9}


def test_a_recovery_code_works_once(app, enrollment):
    code = enrollment.recovery_codes[1]
    assert redeem(pending(app), code).status_code == 302
    again = redeem(pending(app), code)
    assert again.status_code == 400
    assert "That code was already used." in again.text


def test_malformed_recovery_code_is_a_clear_400_and_costs_nothing(app, enrollment):
    browser = pending(app)
    response = redeem(browser, "not a code")
    assert response.status_code == 400
    assert "Enter a recovery code, like ABCD-EFGH-JKMN." in response.text
    with app.app_context():
        assert db.session.scalar(select(User.factor_failures)) == 0


def test_wrong_recovery_codes_share_the_budget_with_the_app(app, enrollment, clock):
    first = pending(app)
    for _ in range(3):
        assert send_totp(first, "000000").status_code == 400
    second = pending(app)  # a new pending sign-in: the per-account count carries over
    for _ in range(2):
        assert redeem(second, "ABCD-EFGH-JKMN").status_code == 400
    blocked = redeem(second, enrollment.recovery_codes[0])
    assert blocked.status_code == 429
    assert blocked.headers["Retry-After"] == "1"


def test_a_recovery_code_opens_a_locked_account(app, enrollment, clock):
    with app.app_context():
        db.session.execute(update(User).values(factor_failures=app.config["SECOND_FACTOR_LOCK_AT"]))
        db.session.commit()
    clock.advance(3600)
    browser = pending(app)
    locked = browser.get("/2fa/verify?method=totp")
    assert locked.status_code == 403
    assert 'href="/2fa/recovery' in locked.text
    assert redeem(browser, enrollment.recovery_codes[2]).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(User.factor_failures)) == 0


def test_few_codes_left_warns_at_every_sign_in(app, enrollment, clock):
    for code in enrollment.recovery_codes[:6]:
        assert redeem(pending(app), code).status_code == 302
    browser = pending(app)
    clock.advance(30)
    assert send_totp(browser, totp(enrollment.secret, clock())).status_code == 302
    assert "Only 4 recovery codes are left." not in browser.get("/account").text
    assert redeem(pending(app), enrollment.recovery_codes[6]).status_code == 302
    browser = pending(app)
    clock.advance(30)
    assert send_totp(browser, totp(enrollment.secret, clock())).status_code == 302
    assert "Only 3 recovery codes are left. Generate new ones" in browser.get("/account").text


def test_regenerating_needs_post_and_a_fresh_password_and_kills_the_old_set(app, signed_in, enrollment, clock):
    before = [r.code_hash for r in rows(app)]
    assert signed_in.get("/account/2fa/recovery-codes").status_code == 200
    assert [r.code_hash for r in rows(app)] == before  # a GET changes nothing
    clock.advance(app.config["FRESH_AUTH_SECONDS"] + 1)
    page = signed_in.get("/account/2fa/recovery-codes")
    stale = signed_in.post("/account/2fa/recovery-codes", data={"csrf_token": csrf_token(page)})
    assert stale.status_code == 302
    assert stale.headers["Location"].startswith("/reauth")
    assert submit(signed_in, "/reauth", {"password": GOOD_PASSWORD}).status_code == 302
    fresh = signed_in.post("/account/2fa/recovery-codes", data={"csrf_token": csrf_token(page)})
    assert fresh.status_code == 200
    assert fresh.headers["Cache-Control"] == "no-store"
    new_codes = recovery_codes_on(fresh.get_data(as_text=True))
    assert set(new_codes).isdisjoint(enrollment.recovery_codes)
    assert redeem(pending(app), enrollment.recovery_codes[0]).status_code == 400
    assert redeem(pending(app), new_codes[0]).status_code == 302
    assert [e.event for e in events(app)].count("recovery.generated") == 2


def test_continue_needs_the_saved_box(app, signed_in, enrollment):
    page = signed_in.get("/account")
    refused = signed_in.post("/account/2fa/recovery-codes/saved", data={"csrf_token": csrf_token(page)})
    assert refused.status_code == 400
    assert "I have saved these codes" in refused.text
    ok = signed_in.post("/account/2fa/recovery-codes/saved", data={"csrf_token": csrf_token(page), "saved": "yes"})
    assert ok.status_code == 302


def test_a_fault_after_consumption_rolls_back_and_the_code_stays_usable(app, enrollment, monkeypatch):
    from portal.auth import flow

    def broken(row):
        raise RuntimeError("injected fault after the code was consumed")

    monkeypatch.setattr(flow, "complete", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.testing = False
    failed = redeem(pending(app), enrollment.recovery_codes[3])
    assert failed.status_code == 500
    assert "injected fault" not in failed.text
    assert all(row.used_at is None for row in rows(app))
    monkeypatch.undo()
    assert redeem(pending(app), enrollment.recovery_codes[3]).status_code == 302


def test_thirty_concurrent_redemptions_of_one_code_succeed_once(app, enrollment):
    code = enrollment.recovery_codes[4]
    with serving(app) as base:
        statuses = race_one_code(base, EMAIL, "/2fa/recovery", code, 30)
    assert statuses.count(302) == 1
    assert set(statuses) - {302} <= {400, 429}
    assert sum(1 for row in rows(app) if row.used_at is not None) == 1


def test_a_recovery_code_can_remove_a_lost_authenticator(app, signed_in, enrollment):
    page = signed_in.get("/account/2fa/totp")
    response = signed_in.post("/account/2fa/totp/remove", data={"csrf_token": csrf_token(page),
                                                               "code": casual(enrollment.recovery_codes[5])})
    assert response.status_code == 302
    assert rows(app) == []  # no second factor left: the recovery codes went with it
    kinds = [e.event for e in events(app)]
    assert kinds[-3:] == ["recovery.used", "totp.removed", "recovery.deleted"]


def test_a_recovery_code_can_start_replacing_the_authenticator(app, signed_in, enrollment, tmp_path):
    page = signed_in.get("/account/2fa/totp")
    response = signed_in.post("/account/2fa/totp/replace", data={"csrf_token": csrf_token(page),
                                                                "code": enrollment.recovery_codes[6]})
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/2fa/totp"
    assert "Set up your new authenticator app" in signed_in.get("/account/2fa/totp").text
    assert len(rows(app)) == 10 and sum(1 for r in rows(app) if r.used_at) == 1
