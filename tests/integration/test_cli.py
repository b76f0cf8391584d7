"""flask portal create-admin, prune and rotate-keys."""

from __future__ import annotations

from sqlalchemy import select

from portal.cli import portal_cli
from portal.crypto import SecretBox
from portal.extensions import db
from portal.models import TotpFactor, User
from portal.settings.totp import fernet_key
from tests.support import GOOD_PASSWORD, login


def run(app, *args, input=None):
    return app.test_cli_runner().invoke(portal_cli, list(args), input=input)


def admin(app, email):
    with app.app_context():
        return db.session.scalar(select(User).where(User.email == email))


def test_create_admin_with_password_option_can_sign_in(app):
    result = run(app, "create-admin", "Boss@Example.com", "--password", GOOD_PASSWORD)
    assert result.exit_code == 0, result.output
    assert "Created admin boss@example.com." in result.output
    user = admin(app, "boss@example.com")
    assert user.is_admin
    assert user.password_hash.startswith("$argon2id$")
    assert login(app.test_client(), "boss@example.com").status_code == 302


def test_create_admin_prompts_for_password_twice(app):
    result = run(app, "create-admin", "prompt@example.com", input=f"{GOOD_PASSWORD}\n{GOOD_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert GOOD_PASSWORD not in result.output
    assert admin(app, "prompt@example.com").is_admin


def test_create_admin_promotes_existing_account_without_touching_password(app, make_user):
    existing = make_user("member@example.com")
    assert not existing.is_admin
    result = run(app, "create-admin", "member@example.com")
    assert result.exit_code == 0, result.output
    user = admin(app, "member@example.com")
    assert user.is_admin
    assert user.password_hash == existing.password_hash


def test_create_admin_refuses_bad_input(app):
    bad_email = run(app, "create-admin", "not-an-email", "--password", GOOD_PASSWORD)
    assert bad_email.exit_code == 2
    assert "not a valid email address" in bad_email.output
    weak = run(app, "create-admin", "weak@example.com", "--password", "password1")
    assert weak.exit_code == 2
    assert "too common" in weak.output
    assert admin(app, "weak@example.com") is None


def test_prune_deletes_expired_sessions_only(app, make_user, clock):
    make_user("prune@example.com")
    browser = app.test_client()
    login(browser, "prune@example.com")
    assert "Deleted 0 expired sessions" in run(app, "prune").output
    clock.advance(app.config["SESSION_MAX_AGE"] + 1)
    assert "Deleted 1 expired sessions" in run(app, "prune").output


def add_factor(app, user, clock, *, key=None, confirmed=False):
    """A TOTP row sealed with key (default: the app's own first key); return its id."""
    with app.app_context():
        box = SecretBox((key or app.config["TOTP_ENCRYPTION_KEYS"][0],))
        factor = TotpFactor(user_id=user.id, secret_encrypted=box.seal("JBSWY3DPEHPK3PXP"), created_at=clock(),
                            confirmed_at=clock() if confirmed else None)
        db.session.add(factor)
        db.session.commit()
        return factor.id


def factor_rows(app):
    with app.app_context():
        return {f.id: f.secret_encrypted for f in db.session.scalars(select(TotpFactor))}


def test_prune_deletes_expired_authenticator_setups(app, make_user, clock):
    confirmed = add_factor(app, make_user("kept@example.com"), clock, confirmed=True)
    stale = add_factor(app, make_user("stale@example.com"), clock)
    clock.advance(app.config["TOTP_ENROLL_TTL"] - 1)
    fresh = add_factor(app, make_user("fresh@example.com"), clock)
    assert "0 expired authenticator setups" in run(app, "prune").output
    clock.advance(1)
    result = run(app, "prune")
    assert result.exit_code == 0, result.output
    assert "1 expired authenticator setups" in result.output
    assert set(factor_rows(app)) == {confirmed, fresh}
    assert stale not in factor_rows(app)


def test_rotate_keys_names_a_row_no_key_opens_and_changes_nothing(app, make_user, clock):
    readable = add_factor(app, make_user("readable@example.com"), clock, confirmed=True)
    foreign = add_factor(app, make_user("foreign@example.com"), clock, key=fernet_key(), confirmed=True)
    before = factor_rows(app)
    result = run(app, "rotate-keys")
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # a clean click error, not an InvalidToken traceback
    assert result.output.startswith("Error: No key in TOTP_ENCRYPTION_KEYS opens")
    assert f"totp_factors row(s) {foreign}. " in result.output
    assert readable != foreign
    assert "Nothing was re-encrypted" in result.output
    assert factor_rows(app) == before  # all or nothing: the readable row was not rotated either


DISABLE = ("--identity-check", "call_back", "--case-reference", "CASE-4711",
           "--notes", "Called back the number on file; the caller knew the last sign-in date.")


def test_disable_2fa_removes_every_factor_signs_out_and_audits(app, enrollment, signed_in, email, clock):
    from portal.models import AuditEvent, RecoveryCode, UserSession

    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        user.factor_failures = 7
        db.session.commit()
    result = run(app, "disable-2fa", email.upper(), *DISABLE)
    assert result.exit_code == 0, result.output
    assert "CASE-4711" in result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        assert db.session.scalars(select(TotpFactor).where(TotpFactor.user_id == user.id)).all() == []
        assert db.session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)).all() == []
        assert db.session.scalars(select(UserSession).where(UserSession.user_id == user.id)).all() == []
        assert user.factor_failures == 0
        row = db.session.scalar(select(AuditEvent).where(AuditEvent.event == "admin.two_factor_disabled"))
        assert row.subject_id == user.id and row.actor_id is None
        assert row.details["via"] == "cli" and row.details["os_user"]
        assert row.details["identity_check"] == "call_back" and row.details["case_reference"] == "CASE-4711"
        assert row.details["removed"] == {"totp": 1, "sms": 0, "recovery_codes": 10}
    # The copied cookie of the signed-in browser no longer works; the password alone signs in now.
    assert signed_in.get("/account").status_code == 302
    fresh = app.test_client()
    response = login(fresh, email)
    assert response.status_code == 302 and response.headers["Location"].endswith("/account")


def test_disable_2fa_twice_says_nothing_to_do_and_writes_one_row(app, enrollment, email):
    from portal.models import AuditEvent

    assert run(app, "disable-2fa", email, *DISABLE).exit_code == 0
    again = run(app, "disable-2fa", email, *DISABLE)
    assert again.exit_code == 1
    assert "nothing was changed" in again.output
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.event == "admin.two_factor_disabled")).all()
        assert len(rows) == 1


def test_disable_2fa_refuses_bad_input_and_changes_nothing(app, enrollment, email):
    short = run(app, "disable-2fa", email, "--identity-check", "video_call", "--case-reference", "C-1",
                "--notes", "too short")
    assert short.exit_code == 2 and "at least 20 characters" in short.output
    bad_check = run(app, "disable-2fa", email, "--identity-check", "a-hunch", "--case-reference", "C-1",
                    "--notes", "x" * 30)
    assert bad_check.exit_code == 2 and "a-hunch" in bad_check.output
    no_ref = run(app, "disable-2fa", email, "--identity-check", "in_person", "--case-reference", "  ",
                 "--notes", "Met in the office, checked the staff card.")
    assert no_ref.exit_code == 2 and "case reference" in no_ref.output
    unknown = run(app, "disable-2fa", "nobody@example.com", *DISABLE)
    assert unknown.exit_code == 1 and "No account" in unknown.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        assert db.session.scalar(select(TotpFactor).where(TotpFactor.user_id == user.id)) is not None
