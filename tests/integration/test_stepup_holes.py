"""Holes an attacker found in the step-up and the sensitive pages, each closed: a recovery code is no fresh
second factor for admin actions; a session signed out while its password is checked ends cleanly; the full
number being set up is shown only to the fresh session that typed it. SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import delete

from portal.extensions import db
from portal.factors.recovery import generate_set
from portal.models import User, UserSession
from tests.integration.sms_helpers import PHONE, add_phone
from tests.integration.test_admin import ADMIN, disable, enrolled_admin, factors_of
from tests.otp import totp
from tests.support import GOOD_PASSWORD, csrf_token, login


def test_a_recovery_code_sign_in_does_not_confirm_admin_actions(app, make_user, clock, tmp_path, target):
    user, _ = target
    enrolled_admin(app, make_user, clock, tmp_path)
    fresh = app.test_client()
    assert login(fresh, ADMIN).headers["Location"].startswith("/2fa")
    with app.app_context():
        admin = db.session.query(User).filter_by(email=ADMIN).one()
        recovery_codes = generate_set(admin, clock())
        db.session.commit()
    page = fresh.get("/2fa/recovery")
    signed_in = fresh.post("/2fa/recovery", data={"csrf_token": csrf_token(page), "code": recovery_codes[0]})
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/account"
    # Security: the password and a printed recovery code are not the step-up's password and authenticator code.
    refused = disable(fresh, user.id)
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/admin/confirm")
    assert len(factors_of(app, user.id)[0]) == 1  # nothing was turned off


def _signed_out_while_checked(app, monkeypatch):
    """Make the next Argon2 check delete this user's sessions, as a sign-out on another device would meanwhile."""
    from portal import crypto

    real = crypto.Passwords.verify

    def verify_and_sign_out(self, stored, given):
        answer = real(self, stored, given)
        with app.app_context():
            db.session.execute(delete(UserSession))
            db.session.commit()
        return answer

    monkeypatch.setattr(crypto.Passwords, "verify", verify_and_sign_out)


def test_reauth_of_a_session_signed_out_meanwhile_ends_cleanly(app, signed_in, monkeypatch):
    page = signed_in.get("/reauth?next=/account/2fa/totp")
    _signed_out_while_checked(app, monkeypatch)
    answer = signed_in.post("/reauth?next=/account/2fa/totp", data={"csrf_token": csrf_token(page),
                                                                    "password": GOOD_PASSWORD})
    assert answer.status_code == 302 and answer.headers["Location"] == "/login"
    assert signed_in.get("/account").status_code == 302  # and it stays signed out


def test_a_step_up_of_a_session_signed_out_meanwhile_ends_cleanly(app, make_user, clock, tmp_path, monkeypatch):
    browser, secret = enrolled_admin(app, make_user, clock, tmp_path)
    clock.advance(30)
    page = browser.get("/admin/confirm")
    _signed_out_while_checked(app, monkeypatch)
    answer = browser.post("/admin/confirm", data={"csrf_token": csrf_token(page), "password": GOOD_PASSWORD,
                                                  "code": totp(secret, clock())})
    assert answer.status_code == 302 and answer.headers["Location"] == "/login"


def test_the_full_number_is_shown_only_to_the_fresh_session_that_typed_it(app, signed_in, clock, sms_inbox):
    page = signed_in.get("/reauth?next=/account/2fa/sms")
    signed_in.post("/reauth?next=/account/2fa/sms", data={"csrf_token": csrf_token(page), "password": GOOD_PASSWORD})
    assert add_phone(signed_in).status_code == 302
    typed = signed_in.get("/account/2fa/sms/confirm").text
    assert "138 0013 8000" in typed  # the typist catches a typo
    clock.advance(app.config["FRESH_AUTH_SECONDS"] + 1)
    later = signed_in.get("/account/2fa/sms/confirm").text
    assert "138 0013 8000" not in later and PHONE[-4:] in later  # masked once the password is not fresh
