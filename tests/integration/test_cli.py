"""flask portal create-admin and prune."""

from __future__ import annotations

from sqlalchemy import select

from portal.cli import portal_cli
from portal.extensions import db
from portal.models import User
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
