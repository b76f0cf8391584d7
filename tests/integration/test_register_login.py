"""Registration and the password step, through HTTP as a user and an attacker would use them."""

from __future__ import annotations

import re

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from portal.extensions import db
from portal.models import User, UserSession
from tests.support import GOOD_PASSWORD, login, submit


def register(client, email="Grace.Hopper@Example.COM", password=GOOD_PASSWORD, confirm=None):
    return submit(client, "/register", {"email": email, "password": password,
                                        "password_confirm": password if confirm is None else confirm})


def users(app):
    with app.app_context():
        return db.session.scalars(select(User)).all()


def test_register_creates_account_with_argon2id_hash_and_signs_in(app, client):
    response = register(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"
    [user] = users(app)
    assert user.email == "grace.hopper@example.com"
    assert user.password_hash.startswith("$argon2id$")
    assert GOOD_PASSWORD not in user.password_hash
    page = client.get("/account")
    assert page.status_code == 200
    assert "grace.hopper@example.com" in page.text
    assert "Not set up" in page.text


@pytest.mark.parametrize(
    ("email", "password", "confirm", "message"),
    [
        ("not-an-email", GOOD_PASSWORD, None, "Enter a valid email address"),
        ("a@example.com", "short", None, "Use at least 8 characters"),
        ("a@example.com", "x" * 129, None, "Use at most 128 characters"),
        ("a@example.com", "Password123", None, "too common"),
        ("a@example.com", "iloveyou", None, "too common"),
        ("a@example.com", GOOD_PASSWORD, "something else", "do not match"),
        ("", GOOD_PASSWORD, None, "Enter your email address"),
        ("someone.long@example.com", "someone.long@example.com", None, "email address as your password"),
    ],
)
def test_register_refuses_bad_input_with_clear_message(app, client, email, password, confirm, message):
    response = register(client, email, password, confirm)
    assert response.status_code == 400
    assert message in response.text
    assert users(app) == []


@pytest.mark.parametrize(("email", "password", "confirm", "focused"), [
    ("a@example.com", "short", None, "password"),
    ("a@example.com", GOOD_PASSWORD, "something else", "password_confirm"),
    ("not-an-email", "short", None, "email"),  # the first field in error, in the order of the form
    (None, None, None, "email"),  # a fresh form: the first field
])
def test_register_puts_the_focus_on_the_first_field_in_error(client, email, password, confirm, focused):
    # A keyboard or screen-reader user lands where the problem is, and hears its message and the hint with it.
    response = client.get("/register") if email is None else register(client, email, password, confirm)
    inputs = {name: tag for tag in re.findall(r"<input [^>]+>", response.text)
              for name in re.findall(r'name="(\w+)"', tag)}
    assert [name for name, tag in inputs.items() if " autofocus" in tag] == [focused], inputs
    described = re.search(r'aria-describedby="([^"]+)"', inputs["password"])
    assert described is not None and "password-hint" in described[1].split()
    assert 'id="password-hint"' in response.text
    if focused != "email" or email is not None:
        assert f'aria-describedby="{focused}-error' in inputs[focused]


def test_register_duplicate_email_in_other_case_keeps_first_account(app, client, make_user):
    original = make_user("dup@example.com")
    response = register(client, "DUP@example.com")
    assert response.status_code == 400
    assert "already exists" in response.text
    [user] = users(app)
    assert user.password_hash == original.password_hash


def test_login_with_correct_password_signs_in(app, client, make_user):
    make_user("ada@example.com")
    response = login(client, " Ada@Example.com ")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"
    assert client.get("/account").status_code == 200
    with app.app_context():
        [row] = db.session.scalars(select(UserSession)).all()
        assert row.stage == "active"


def normalised(html: str) -> str:
    return re.sub(r'value="[^"]*"', 'value=""', html)


def test_unknown_email_and_wrong_password_look_identical_and_cost_one_argon2_each(app, client, make_user,
                                                                                   monkeypatch):
    make_user("known@example.com")
    calls = []
    real_verify = PasswordHasher.verify

    def counting_verify(self, hash, password):
        calls.append(hash)
        return real_verify(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting_verify)
    wrong = login(app.test_client(), "known@example.com", "wrong password 1")
    wrong_calls = len(calls)
    unknown = login(app.test_client(), "unknown@example.com", "wrong password 1")
    assert wrong_calls == 1
    assert len(calls) - wrong_calls == 1
    assert wrong.status_code == unknown.status_code == 400
    assert normalised(wrong.text) == normalised(unknown.text)
    assert "The email address or password is incorrect." in wrong.text
    cookie_names = lambda r: sorted(c.split("=", 1)[0] for c in r.headers.getlist("Set-Cookie"))  # noqa: E731
    assert cookie_names(wrong) == cookie_names(unknown)


def test_password_is_rehashed_when_argon2_parameters_change(app, make_user, make_app):
    user = make_user("rehash@example.com")
    assert "m=64,t=1,p=1" in user.password_hash
    stronger = make_app(ARGON2_MEMORY_COST=128, ARGON2_TIME_COST=2)
    assert login(stronger.test_client(), "rehash@example.com").status_code == 302
    with stronger.app_context():
        stored = db.session.get(User, user.id).password_hash
    assert "m=128,t=2,p=1" in stored
    assert login(stronger.test_client(), "rehash@example.com").status_code == 302


@pytest.mark.parametrize("email", ["victim@example.com", "nobody@example.com"])
def test_password_step_delays_after_five_failures_per_email(app, client, make_user, clock, email):
    make_user("victim@example.com")
    for _ in range(5):
        assert login(app.test_client(), email, "wrong guess 123").status_code == 400
    blocked = login(app.test_client(), email, GOOD_PASSWORD)
    assert blocked.status_code == 429
    assert blocked.headers["Retry-After"] == "1"
    assert "Too many attempts" in blocked.text
    clock.advance(1)
    assert login(app.test_client(), email, "wrong guess 123").status_code == 400  # 6th failure: 2 s
    clock.advance(1)
    assert login(app.test_client(), email, GOOD_PASSWORD).status_code == 429
    clock.advance(1)
    expected = 302 if email == "victim@example.com" else 400
    assert login(app.test_client(), email, GOOD_PASSWORD).status_code == expected


def test_the_first_attempt_sets_the_delay_as_later_ones_do(make_app, make_user, clock):
    """The row's first INSERT computes the wait in Python; the UPDATEs after it in SQL. Both give 1, 2, 2 … s."""
    make_user("first@example.com")
    strict = make_app(LOGIN_FREE_FAILURES=1, LOGIN_MAX_DELAY=2)
    assert login(strict.test_client(), "first@example.com", "wrong guess 123").status_code == 400
    blocked = login(strict.test_client(), "first@example.com")
    assert (blocked.status_code, blocked.headers["Retry-After"]) == (429, "1")
    clock.advance(1)
    assert login(strict.test_client(), "first@example.com", "wrong guess 123").status_code == 400
    blocked = login(strict.test_client(), "first@example.com")
    assert (blocked.status_code, blocked.headers["Retry-After"]) == (429, "2")
    clock.advance(2)
    assert login(strict.test_client(), "first@example.com", "wrong guess 123").status_code == 400
    blocked = login(strict.test_client(), "first@example.com")
    assert (blocked.status_code, blocked.headers["Retry-After"]) == (429, "2")  # LOGIN_MAX_DELAY
    clock.advance(2)
    assert login(strict.test_client(), "first@example.com").status_code == 302


def test_successful_sign_in_resets_the_delay(app, make_user, clock):
    make_user("reset@example.com")
    for _ in range(4):
        login(app.test_client(), "reset@example.com", "wrong guess 123")
    assert login(app.test_client(), "reset@example.com").status_code == 302
    for _ in range(4):
        assert login(app.test_client(), "reset@example.com", "wrong guess 123").status_code == 400
    assert login(app.test_client(), "reset@example.com").status_code == 302


def test_password_step_is_limited_per_ip(app, make_user, make_app):
    make_user("ip@example.com")
    strict = make_app(RATELIMIT_LOGIN="3 per minute")
    for i in range(3):
        assert login(strict.test_client(), f"someone{i}@example.com", "wrong guess 123").status_code == 400
    limited = login(strict.test_client(), "ip@example.com")
    assert limited.status_code == 429
    retry = int(limited.headers["Retry-After"])
    assert 0 < retry <= 60
    assert "Too many requests" in limited.text
    # The page says how long, as Retry-After does (within the second that passes between the two).
    said = re.search(r"Too many attempts in a short time\. Wait (\d+) seconds?, then try again\.", limited.text)
    assert said is not None and abs(int(said[1]) - retry) <= 1, limited.text[-1500:]
    # ... and counts it down (static/js/countdown.js reads the same seconds).
    counted = re.search(r'data-countdown data-seconds="(\d+)"', limited.text)
    assert counted is not None and abs(int(counted[1]) - retry) <= 1 and "js/countdown.js" in limited.text


def test_sign_in_without_csrf_token_is_refused(app, client, make_user):
    make_user("csrf@example.com")
    response = client.post("/login", data={"email": "csrf@example.com", "password": GOOD_PASSWORD})
    assert response.status_code == 400
    assert "This form has expired" in response.text
    assert client.get("/account").status_code == 302


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [("/account?tab=1", "/account?tab=1"), ("https://evil.example/", "/account"),
     ("//evil.example", "/account"), ("/\\evil.example", "/account")],
)
def test_login_follows_only_local_next(app, client, make_user, next_url, expected):
    make_user("next@example.com")
    page = client.get("/login", query_string={"next": next_url})
    from tests.support import csrf_token

    response = client.post("/login", query_string={"next": next_url},
                           data={"csrf_token": csrf_token(page), "email": "next@example.com",
                                 "password": GOOD_PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_repeated_fields_are_refused(app, client, make_user):
    make_user("rep@example.com")
    page = client.get("/login")
    from tests.support import csrf_token

    response = client.post("/login", data=MultiDict([
        ("csrf_token", csrf_token(page)), ("email", "rep@example.com"),
        ("password", "x" * 10), ("password", GOOD_PASSWORD)]))
    assert response.status_code == 400
    assert "sent more than once" in response.text
