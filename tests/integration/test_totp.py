"""Authenticator apps through HTTP: enrollment, sign-in, replay, drift, limits, replace, remove, rotation."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select, update
from werkzeug.datastructures import MultiDict

from portal.extensions import db
from portal.models import AuditEvent, RecoveryCode, TotpFactor, User, UserSession
from portal.settings.totp import fernet_key
from tests.conftest import serving
from tests.integration.totp_helpers import (
    csrf_token_from,
    parallel_gets,
    race_one_code,
    recovery_codes_on,
    scan_setup_page,
    send_totp,
    shown_key,
)
from tests.otp import decode_qr, oathtool_code, parse_otpauth, qr_png_from_page, totp
from tests.support import GOOD_PASSWORD, csrf_token, login, logout, statements, submit

EMAIL = "ada+phone@example.com"
ALREADY_SET_UP = "Your authenticator app is already set up."
EXPIRED_SETUP = ("This setup expired after 10 minutes. Delete the entry you added for this site in your "
                 "authenticator app, then scan the new QR code below.")


@pytest.fixture
def email() -> str:
    return EMAIL


@pytest.fixture
def secret(enrollment):
    return enrollment.secret


def factors(app):
    with app.app_context():
        return db.session.scalars(select(TotpFactor).order_by(TotpFactor.id)).all()


def audit_events(app):
    with app.app_context():
        return [e.event for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def pending_browser(app, clock):
    browser = app.test_client()
    response = login(browser, EMAIL)
    assert response.headers["Location"].startswith("/2fa")
    return browser


def test_setup_needs_a_fresh_password(app, signed_in, clock):
    clock.advance(app.config["FRESH_AUTH_SECONDS"] + 1)
    response = signed_in.get("/account/2fa/totp")
    assert response.status_code == 302
    assert response.headers["Location"] == "/reauth?next=/account/2fa/totp"


def test_qr_is_readable_and_matches_the_typed_key(app, signed_in, clock, tmp_path):
    page = signed_in.get("/account/2fa/totp")
    assert page.headers["Cache-Control"] == "no-store"
    uri = decode_qr(qr_png_from_page(page.text), tmp_path)
    fields = parse_otpauth(uri)
    assert uri.startswith("otpauth://totp/2FA%20Portal:ada%2Bphone@example.com?")
    assert fields["label_issuer"] == fields["issuer"] == "2FA Portal"
    assert fields["account"] == EMAIL
    assert "=" not in fields["secret"] and len(fields["secret"]) == 32
    shown_key = page.text.split('id="totp-key">', 1)[1].split("<", 1)[0]
    assert shown_key.replace(" ", "") == fields["secret"]
    assert oathtool_code(fields["secret"], clock()) == totp(fields["secret"], clock())
    for app_name in ("Google Authenticator", "Authy", "Microsoft Authenticator"):
        assert app_name in page.text
    assert 'src="/static/js/totp-countdown.js"' in page.text


def test_pending_setup_survives_a_reload_and_expires_after_ten_minutes(app, signed_in, clock, tmp_path):
    _, first = scan_setup_page(signed_in, tmp_path)
    _, again = scan_setup_page(signed_in, tmp_path)
    assert again == first  # a reload must not break what the phone already scanned
    clock.advance(app.config["TOTP_ENROLL_TTL"])
    assert submit(signed_in, "/reauth", {"password": GOOD_PASSWORD}).status_code == 302
    html, fresh = scan_setup_page(signed_in, tmp_path)
    assert fresh != first
    assert EXPIRED_SETUP in html  # the phone still holds the old entry: say so
    stale = signed_in.post("/account/2fa/totp", data={"csrf_token": csrf_token_from(html),
                                                      "code": totp(first, clock())})
    assert stale.status_code == 400
    assert all(f.confirmed_at is None for f in factors(app))


def test_confirming_activates_and_stores_only_ciphertext(app, signed_in, clock, tmp_path):
    html, secret = scan_setup_page(signed_in, tmp_path)
    wrong = signed_in.post("/account/2fa/totp", data={"csrf_token": csrf_token_from(html), "code": "000000"})
    assert wrong.status_code == 400
    assert "That code is not correct." in wrong.text
    ok = signed_in.post("/account/2fa/totp", data={"csrf_token": csrf_token_from(html),
                                                   "code": totp(secret, clock())})
    assert ok.status_code == 200  # the first factor: the recovery codes are shown, once, in this answer
    assert "Your authenticator app is set up." in ok.text
    assert "Save your recovery codes" in ok.text
    [factor] = factors(app)
    assert factor.confirmed_at is not None
    assert secret not in factor.secret_encrypted
    with app.app_context():
        raw = db.session.execute(select(TotpFactor.secret_encrypted)).scalar_one()
    assert secret not in raw and secret.lower() not in raw.lower()
    assert audit_events(app) == ["signin.password", "totp.enrolled", "recovery.generated"]


def test_the_secret_is_never_shown_again(app, signed_in, secret):
    for url in ("/account", "/account/2fa/totp"):
        text = signed_in.get(url).text
        assert secret not in text
        assert secret[:4] + " " + secret[4:8] not in text
    assert "Replace with a new app" in signed_in.get("/account/2fa/totp").text


def test_sign_in_with_the_app(app, secret, clock):
    browser = pending_browser(app, clock)
    assert browser.get("/2fa").headers["Location"].startswith("/2fa/verify?method=totp")
    page = browser.get("/2fa/verify?method=totp")
    assert 'autocomplete="one-time-code"' in page.text
    assert 'inputmode="numeric"' in page.text
    clock.advance(30)
    response = send_totp(browser, totp(secret, clock()))
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"
    assert "Last used" in browser.get("/account").text
    assert audit_events(app)[-1] == "signin.second_factor"


def test_a_used_code_and_older_codes_are_refused(app, secret, clock):
    clock.advance(30)
    first = pending_browser(app, clock)
    code = totp(secret, clock())
    assert send_totp(first, code).status_code == 302
    second = pending_browser(app, clock)
    replay = send_totp(second, code)
    assert replay.status_code == 400
    assert "That code was already used. Wait until your app shows a new code" in replay.text
    older = send_totp(second, totp(secret, clock(), step_offset=-1))
    assert older.status_code == 400
    assert "already used" in older.text
    clock.advance(30)
    assert send_totp(second, totp(secret, clock())).status_code == 302


def test_full_width_digits_and_repeated_fields(app, secret, clock):
    clock.advance(30)
    browser = pending_browser(app, clock)
    page = browser.get("/2fa/verify?method=totp")
    repeated = browser.post("/2fa/verify?method=totp", data=MultiDict([
        ("csrf_token", csrf_token(page)), ("code", "000000"), ("code", totp(secret, clock()))]))
    assert repeated.status_code == 400
    wide = totp(secret, clock()).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert send_totp(browser, wide[:3] + " " + wide[3:]).status_code == 302


@pytest.mark.parametrize(("steps", "words"), [(3, "about 90 seconds ahead"), (-5, "about 150 seconds ago")])
def test_a_code_from_a_wrong_clock_is_explained_not_accepted(app, secret, clock, steps, words):
    clock.advance(30)
    browser = pending_browser(app, clock)
    response = send_totp(browser, totp(secret, clock(), step_offset=steps))
    assert response.status_code == 400
    assert words in response.text
    assert "automatic date and time" in response.text
    assert browser.get("/account").status_code == 302


def test_racing_requests_with_one_code_succeed_once(app, secret, clock):
    clock.advance(30)
    code = totp(secret, clock())
    with serving(app) as base:
        statuses = race_one_code(base, EMAIL, "/2fa/verify?method=totp", code, 6)
    # Exactly one wins. The others are refused as a replay (400), or (attempts are counted on
    # admission and the clock is frozen) by the per-account budget (429) when they come last.
    assert statuses.count(302) == 1
    assert set(statuses) - {302} <= {400, 429}
    assert statuses.count(400) >= 6 - 1 - 1


def test_failures_count_per_account_across_pending_sign_ins(app, secret, clock):
    clock.advance(30)
    first = pending_browser(app, clock)
    for _ in range(3):
        assert send_totp(first, "000000").status_code == 400
    second = pending_browser(app, clock)
    for _ in range(2):
        assert send_totp(second, "000000").status_code == 400  # the 5th failure: a 1 s delay now
    blocked = send_totp(second, totp(secret, clock()))
    assert blocked.status_code == 429
    assert blocked.headers["Retry-After"] == "1"
    clock.advance(1)
    assert send_totp(second, totp(secret, clock())).status_code == 302


def test_a_pending_sign_in_dies_after_five_wrong_codes(app, secret, clock):
    browser = pending_browser(app, clock)
    for i in range(5):
        clock.advance(2**i)  # wait out each delay, so only the pending limit is tested
        response = send_totp(browser, "000000")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert browser.get("/2fa").headers["Location"] == "/login"


def test_fifty_failures_lock_codes_until_an_admin_resets(app, secret, clock):
    with app.app_context():
        db.session.execute(update(User).values(factor_failures=app.config["SECOND_FACTOR_LOCK_AT"] - 1))
        db.session.commit()
    clock.advance(3600)
    browser = pending_browser(app, clock)
    assert send_totp(browser, "000000").status_code == 400
    locked_page = browser.get("/2fa/verify?method=totp")
    assert locked_page.status_code == 403
    assert "signing in with a code is locked" in locked_page.text
    clock.advance(86_400)
    other = pending_browser(app, clock)
    locked = send_totp(other, totp(secret, clock()))
    assert locked.status_code == 403
    assert other.get("/account").status_code == 302


def test_replace_keeps_the_old_app_until_the_new_one_is_confirmed(app, signed_in, secret, clock, tmp_path):
    clock.advance(30)
    page = signed_in.get("/account/2fa/totp")
    response = signed_in.post("/account/2fa/totp/replace", data={"csrf_token": csrf_token(page),
                                                                 "code": totp(secret, clock())})
    assert response.status_code == 302
    html, new_secret = scan_setup_page(signed_in, tmp_path)
    assert new_secret != secret
    assert "Your current authenticator keeps working" in html
    clock.advance(30)
    old_still_works = pending_browser(app, clock)
    assert send_totp(old_still_works, totp(secret, clock())).status_code == 302
    confirm = signed_in.post("/account/2fa/totp", data={"csrf_token": csrf_token_from(html),
                                                        "code": totp(new_secret, clock())})
    assert confirm.status_code == 302
    clock.advance(30)
    browser = pending_browser(app, clock)
    assert send_totp(browser, totp(secret, clock())).status_code == 400
    assert send_totp(browser, totp(new_secret, clock())).status_code == 302
    assert "totp.replaced" in audit_events(app)
    assert len(factors(app)) == 1


def test_remove_needs_a_current_code(app, signed_in, secret, clock):
    clock.advance(30)
    page = signed_in.get("/account/2fa/totp")
    wrong = signed_in.post("/account/2fa/totp/remove", data={"csrf_token": csrf_token(page), "code": "000000"})
    assert wrong.status_code == 400
    assert len(factors(app)) == 1
    assert signed_in.get("/account/2fa/totp/remove").status_code == 405
    ok = signed_in.post("/account/2fa/totp/remove", data={"csrf_token": csrf_token(page),
                                                          "code": totp(secret, clock())})
    assert ok.status_code == 302
    assert factors(app) == []
    assert audit_events(app)[-2:] == ["totp.removed", "recovery.deleted"]  # no second factor: codes go too
    logout(signed_in)
    assert login(app.test_client(), EMAIL).headers["Location"] == "/account"


def test_manage_actions_need_a_fresh_password(app, signed_in, secret, clock):
    clock.advance(app.config["FRESH_AUTH_SECONDS"] + 1)
    page = signed_in.get("/account")
    response = signed_in.post("/account/2fa/totp/remove", data={"csrf_token": csrf_token(page),
                                                                "code": totp(secret, clock())})
    assert response.status_code == 302
    # /remove answers POST only: after the password the user lands on the account overview.
    assert response.headers["Location"] == "/reauth?next=/account"
    assert len(factors(app)) == 1


def test_rotate_keys_re_encrypts_every_secret(app, secret, clock, make_app):
    from portal.cli import portal_cli
    from tests.conftest import TEST_TOTP_KEY

    new_key = fernet_key()
    both = make_app(TOTP_ENCRYPTION_KEYS=(new_key, TEST_TOTP_KEY))
    before = factors(app)[0].secret_encrypted
    result = both.test_cli_runner().invoke(portal_cli, ["rotate-keys"])
    assert result.exit_code == 0, result.output
    assert "Re-encrypted 1 authenticator secrets" in result.output
    assert factors(app)[0].secret_encrypted != before
    only_new = make_app(TOTP_ENCRYPTION_KEYS=(new_key,))
    clock.advance(30)
    browser = only_new.test_client()
    assert login(browser, EMAIL).headers["Location"].startswith("/2fa")
    assert send_totp(browser, totp(secret, clock())).status_code == 302


def test_account_page_lists_recent_security_activity(app, signed_in, secret, clock):
    page = signed_in.get("/account").text
    assert "Recent security activity" in page
    assert "Authenticator app set up" in page
    clock.advance(30)
    browser = pending_browser(app, clock)
    send_totp(browser, totp(secret, clock()))
    assert "Signed in with two-step verification" in signed_in.get("/account").text


# --- helpers for the tests below ---------------------------------------------------------------------


def session_ids(app):
    with app.app_context():
        return set(db.session.scalars(select(UserSession.id)))


def pending_rows(app):
    return [f for f in factors(app) if f.confirmed_at is None]


def signed_in_with_app(app, clock, secret):
    """A new browser signed in with the password and a code from the app (the next 30 s step)."""
    clock.advance(30)
    browser = pending_browser(app, clock)
    assert send_totp(browser, totp(secret, clock())).status_code == 302
    return browser


def manage_post(browser, action, code):
    page = browser.get("/account/2fa/totp")
    assert page.status_code == 200
    return browser.post(f"/account/2fa/totp/{action}", data={"csrf_token": csrf_token(page), "code": code})


# --- 1. only /replace (after a current code) may start a replacement -----------------------------------


def test_restart_cannot_start_a_replacement_without_a_current_code(app, signed_in, secret, clock):
    page = signed_in.get("/account/2fa/totp")
    assert "Replace with a new app" in page.text
    response = signed_in.post("/account/2fa/totp/restart", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/2fa/totp"
    assert pending_rows(app) == []  # no new secret for whoever holds the session and the password
    after = signed_in.get("/account/2fa/totp")
    assert ALREADY_SET_UP in after.text
    assert 'id="totp-qr"' not in after.text and "Replace with a new app" in after.text
    clock.advance(30)
    assert send_totp(pending_browser(app, clock), totp(secret, clock())).status_code == 302


@pytest.mark.parametrize("code", ["000000", ""])
def test_a_confirmation_without_a_pending_setup_does_not_start_one(app, signed_in, secret, clock, code):
    page = signed_in.get("/account/2fa/totp")
    response = signed_in.post("/account/2fa/totp", data={"csrf_token": csrf_token(page), "code": code})
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"
    assert ALREADY_SET_UP in signed_in.get("/account").text
    assert pending_rows(app) == []
    assert len(factors(app)) == 1
    follow = signed_in.get("/account/2fa/totp")
    assert 'id="totp-qr"' not in follow.text  # still the manage page: no key was made to show


def test_restart_renews_an_existing_setup(app, signed_in, clock, tmp_path):
    html, first = scan_setup_page(signed_in, tmp_path)
    response = signed_in.post("/account/2fa/totp/restart", data={"csrf_token": csrf_token_from(html)})
    assert response.status_code == 302
    html, second = scan_setup_page(signed_in, tmp_path)
    assert second != first
    assert "A new key was created." in html
    old = signed_in.post("/account/2fa/totp", data={"csrf_token": csrf_token_from(html), "code": totp(first, clock())})
    assert old.status_code == 400
    new = signed_in.post("/account/2fa/totp", data={"csrf_token": csrf_token_from(html),
                                                    "code": totp(second, clock())})
    assert new.status_code == 200
    assert [f.confirmed_at is not None for f in factors(app)] == [True]


# --- 2. changes sign out the user's other sessions and are audited ----------------------------------


def test_removing_signs_out_the_other_sessions(app, signed_in, secret, clock):
    acting = signed_in_with_app(app, clock, secret)
    before = session_ids(app)
    other = signed_in_with_app(app, clock, secret)
    [other_id] = session_ids(app) - before
    assert other.get("/account").status_code == 200
    clock.advance(30)
    response = manage_post(acting, "remove", totp(secret, clock()))
    assert response.status_code == 302
    assert len(session_ids(app)) == 1 and other_id not in session_ids(app)  # signed_in's session went too
    assert other.get("/account").headers["Location"].startswith("/login")
    assert signed_in.get("/account").headers["Location"].startswith("/login")
    assert acting.get("/account").status_code == 200
    assert audit_events(app)[-2:] == ["totp.removed", "recovery.deleted"]


def test_replacing_signs_out_the_other_sessions(app, signed_in, secret, clock, tmp_path):
    acting = signed_in_with_app(app, clock, secret)
    before = session_ids(app)
    other = signed_in_with_app(app, clock, secret)
    [other_id] = session_ids(app) - before
    clock.advance(30)
    assert manage_post(acting, "replace", totp(secret, clock())).status_code == 302
    assert other.get("/account").status_code == 200  # nothing changed yet: the old app still works
    html, new_secret = scan_setup_page(acting, tmp_path)
    confirm = acting.post("/account/2fa/totp", data={"csrf_token": csrf_token_from(html),
                                                     "code": totp(new_secret, clock())})
    assert confirm.status_code == 302
    assert other_id not in session_ids(app) and len(session_ids(app)) == 1
    assert other.get("/account").headers["Location"].startswith("/login")
    assert acting.get("/account").status_code == 200
    assert audit_events(app)[-1] == "totp.replaced"


def test_enrolling_signs_out_the_other_sessions(app, signed_in, clock, tmp_path):
    other = app.test_client()
    assert login(other, EMAIL).headers["Location"] == "/account"
    assert len(session_ids(app)) == 2
    html, secret = scan_setup_page(signed_in, tmp_path)
    ok = signed_in.post("/account/2fa/totp", data={"csrf_token": csrf_token_from(html), "code": totp(secret, clock())})
    assert ok.status_code == 200
    assert len(session_ids(app)) == 1
    assert other.get("/account").headers["Location"].startswith("/login")
    assert signed_in.get("/account").status_code == 200


# --- 3. a code reported as "ahead" is burned -----------------------------------------------------------


def test_a_code_reported_as_ahead_is_refused_when_its_time_comes(app, secret, clock):
    clock.advance(30)
    browser = pending_browser(app, clock)
    ahead = totp(secret, clock(), step_offset=3)
    refused = send_totp(browser, ahead)
    assert refused.status_code == 400
    assert "about 90 seconds ahead" in refused.text
    [factor] = factors(app)
    assert factor.burned_step == int(clock().timestamp()) // 30 + 3
    clock.advance(90)
    assert ahead == totp(secret, clock())  # now it is the current code
    again = send_totp(browser, ahead)
    assert again.status_code == 400
    assert "That code was already used. Wait until your app shows a new code" in again.text
    clock.advance(30)
    assert send_totp(browser, totp(secret, clock())).status_code == 302


def test_a_code_reported_as_behind_needs_no_burning(app, secret, clock):
    clock.advance(30)
    browser = pending_browser(app, clock)
    refused = send_totp(browser, totp(secret, clock(), step_offset=-5))
    assert refused.status_code == 400
    assert "about 150 seconds ago" in refused.text
    assert factors(app)[0].burned_step is None
    assert send_totp(browser, totp(secret, clock())).status_code == 302


def test_a_code_reported_as_ahead_during_setup_cannot_confirm_later(app, signed_in, clock, tmp_path):
    html, secret = scan_setup_page(signed_in, tmp_path)
    ahead = totp(secret, clock(), step_offset=2)
    refused = signed_in.post("/account/2fa/totp", data={"csrf_token": csrf_token_from(html), "code": ahead})
    assert refused.status_code == 400
    assert "about 60 seconds ahead" in refused.text
    clock.advance(60)
    again = signed_in.post("/account/2fa/totp", data={"csrf_token": csrf_token_from(html), "code": ahead})
    assert again.status_code == 400
    assert "That code was already used." in again.text
    assert pending_rows(app) and factors(app)[0].confirmed_at is None


# --- 4. the confirming code cannot sign in --------------------------------------------------------------


def test_the_confirming_code_cannot_be_used_to_sign_in(app, signed_in, clock, tmp_path):
    html, secret = scan_setup_page(signed_in, tmp_path)
    code = totp(secret, clock())
    assert signed_in.post("/account/2fa/totp", data={"csrf_token": csrf_token_from(html),
                                                     "code": code}).status_code == 200
    assert factors(app)[0].last_step == int(clock().timestamp()) // 30
    browser = pending_browser(app, clock)
    replay = send_totp(browser, code)
    assert replay.status_code == 400
    assert "That code was already used." in replay.text
    assert send_totp(browser, totp(secret, clock(), step_offset=-1)).status_code == 400  # older: also no
    assert browser.get("/account").status_code == 302
    assert audit_events(app).count("signin.second_factor") == 0


# --- 5. a repeated or racing confirmation --------------------------------------------------------------


def test_a_repeated_confirmation_says_already_set_up(app, signed_in, clock, tmp_path):
    html, secret = scan_setup_page(signed_in, tmp_path)
    data = {"csrf_token": csrf_token_from(html), "code": totp(secret, clock())}
    first = signed_in.post("/account/2fa/totp", data=data)
    assert first.status_code == 200
    codes = recovery_codes_on(first.text)
    again = signed_in.post("/account/2fa/totp", data=data)  # a double click or a refresh
    assert again.status_code == 302
    assert again.headers["Location"] == "/account"
    page = signed_in.get("/account").text
    assert ALREADY_SET_UP in page
    assert "This code has expired" not in page
    assert pending_rows(app) == [] and len(factors(app)) == 1
    assert audit_events(app).count("totp.enrolled") == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(RecoveryCode)) == len(codes) == 10


def test_racing_confirmations_enroll_once(app, backend, signed_in, clock, tmp_path):
    _, secret = scan_setup_page(signed_in, tmp_path)
    with serving(app) as base:
        statuses = race_one_code(base, EMAIL, "/account/2fa/totp", totp(secret, clock()), 6)
    assert statuses.count(200) == 1, statuses  # the winner: the recovery codes page
    assert statuses.count(302) == 5, statuses  # the others: "already set up" (or signed out by the winner)
    [factor] = factors(app)
    assert factor.confirmed_at is not None
    events = audit_events(app)
    assert events.count("totp.enrolled") == 1
    assert events.count("recovery.generated") == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(RecoveryCode)) == 10


# --- 6. parallel GETs of the setup page -------------------------------------------------------------


def test_parallel_setup_pages_share_one_secret(app, backend, signed_in):
    from portal.crypto import secret_box

    for _ in range(3):  # a few rounds: one burst may happen to be served one request after the other
        with serving(app) as base:
            pages = parallel_gets(base, EMAIL, "/account/2fa/totp", 8)
        assert [status for status, _ in pages] == [200] * 8, [page[:300] for _, page in pages]
        keys = {shown_key(page) for _, page in pages}
        assert len(keys) == 1
        [pending] = pending_rows(app)
        with app.app_context():
            assert secret_box().open(pending.secret_encrypted) == keys.pop()
            db.session.execute(delete(TotpFactor))  # start the next round without a pending setup
            db.session.commit()


# --- 7. messages ------------------------------------------------------------------------------------


LONG_CODE = "1" * 65


def test_a_long_code_gets_the_usual_hint_on_the_setup_page(app, signed_in, tmp_path):
    html, _ = scan_setup_page(signed_in, tmp_path)
    response = signed_in.post("/account/2fa/totp", data={"csrf_token": csrf_token_from(html), "code": LONG_CODE})
    assert response.status_code == 400
    assert "Enter the 6 digits of the code." in response.text
    assert "Field cannot be longer" not in response.text
    assert shown_key(response.text)  # still the setup page


def test_a_long_code_gets_the_usual_hint_on_the_manage_page(app, signed_in, secret):
    response = manage_post(signed_in, "remove", LONG_CODE)
    assert response.status_code == 400
    assert "Enter the 6 digits from your app, or a recovery code." in response.text
    assert "Field cannot be longer" not in response.text
    assert len(factors(app)) == 1


def test_a_code_for_an_expired_setup_says_to_scan_the_new_one(app, signed_in, clock, tmp_path):
    html, first = scan_setup_page(signed_in, tmp_path)
    clock.advance(app.config["TOTP_ENROLL_TTL"])
    assert submit(signed_in, "/reauth", {"password": GOOD_PASSWORD}).status_code == 302
    stale = signed_in.post("/account/2fa/totp", data={"csrf_token": csrf_token_from(html),
                                                      "code": totp(first, clock())})
    assert stale.status_code == 400
    assert EXPIRED_SETUP in stale.text
    assert shown_key(stale.text) != first
    [pending] = pending_rows(app)
    assert pending.confirmed_at is None


def test_an_expired_replacement_keeps_the_old_app_and_starts_nothing(app, signed_in, secret, clock, tmp_path):
    clock.advance(30)
    assert manage_post(signed_in, "replace", totp(secret, clock())).status_code == 302
    html, new_secret = scan_setup_page(signed_in, tmp_path)
    clock.advance(app.config["TOTP_ENROLL_TTL"])
    assert submit(signed_in, "/reauth", {"password": GOOD_PASSWORD}).status_code == 302
    late = signed_in.post("/account/2fa/totp", data={"csrf_token": csrf_token_from(html),
                                                     "code": totp(new_secret, clock())})
    assert late.status_code == 302
    assert late.headers["Location"] == "/account/2fa/totp"
    page = signed_in.get("/account/2fa/totp").text
    assert "The setup of your new authenticator app expired." in page
    assert 'id="totp-qr"' not in page
    assert pending_rows(app) == []
    assert send_totp(pending_browser(app, clock), totp(secret, clock())).status_code == 302


# --- 8. the manage page takes a recovery code too ------------------------------------------------------


def test_the_manage_page_says_a_recovery_code_works(app, signed_in, enrollment):
    page = signed_in.get("/account/2fa/totp").text
    assert "Lost your phone? Enter one of your recovery codes in the same field instead." in page
    field = page.split('name="code"', 1)[0].rsplit("<input", 1)[1] + page.split('name="code"', 1)[1].split(">", 1)[0]
    assert "inputmode" not in field
    assert 'autocomplete="one-time-code"' in field
    response = manage_post(signed_in, "remove", enrollment.recovery_codes[0].lower())
    assert response.status_code == 302
    assert factors(app) == []


def test_a_sign_in_reads_each_row_once(app, secret, clock):
    """The second step and the account page ask the database nothing twice (no repeated statement)."""
    browser = pending_browser(app, clock)
    token = csrf_token(browser.get("/2fa/verify?method=totp"))
    clock.advance(30)
    with statements(app) as seen:
        response = browser.post("/2fa/verify?method=totp", data={"csrf_token": token, "code": totp(secret, clock())})
    assert response.status_code == 302
    reads = [s for s in seen if s.startswith("SELECT")]
    assert reads and len(reads) == len(set(reads)), '\n'.join(r[:150] for r in reads)
    assert not any(s.startswith("SELECT users.") for s in reads), "the user comes with the session row"
    with statements(app) as seen:
        page = browser.get("/account")
    assert page.status_code == 200
    reads = [s for s in seen if s.startswith("SELECT")]
    assert reads and len(reads) == len(set(reads)), '\n'.join(r[:150] for r in reads)
