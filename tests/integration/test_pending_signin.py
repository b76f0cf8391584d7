"""The pending second step: a password alone never signs anyone in."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from portal.extensions import db
from portal.models import User, UserSession
from tests.support import csrf_token, login, session_cookie

CODE = "246810"


@pytest.fixture
def pending(app, make_user, enroll_second_factor):
    """A browser that passed the password step of a user with a second factor."""

    def start(email="two@example.com"):
        with app.app_context():
            user = db.session.scalar(select(User).filter_by(email=email))
        if user is None:
            user = make_user(email)
            enroll_second_factor(user, CODE)
        browser = app.test_client()
        response = login(browser, email)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/2fa")
        return browser

    return start


def rows(app):
    with app.app_context():
        return db.session.scalars(select(UserSession)).all()


def verify_page(browser):
    return browser.get("/2fa/verify?method=testcode")


def send_code(browser, code, **extra):
    page = verify_page(browser)
    return browser.post("/2fa/verify?method=testcode", data={"csrf_token": csrf_token(page), "code": code, **extra})


def test_password_step_gives_only_a_pending_session(app, pending):
    browser = pending()
    [row] = rows(app)
    assert row.stage == "pending"
    account = browser.get("/account")
    assert account.status_code == 302
    assert account.headers["Location"].startswith("/login")
    choose = browser.get("/2fa")
    assert choose.status_code == 302  # one method: straight to it
    assert choose.headers["Location"].startswith("/2fa/verify?method=testcode")
    page = verify_page(browser)
    assert page.status_code == 200
    assert "Enter your code" in page.text


def test_right_code_signs_in_and_rotates_the_session_again(app, pending, second_factor):
    browser = pending()
    before = session_cookie(browser)
    [pending_row] = rows(app)
    response = send_code(browser, CODE)
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"
    assert session_cookie(browser) != before
    [row] = rows(app)
    assert row.stage == "active"
    assert row.token_hash != pending_row.token_hash
    assert browser.get("/account").status_code == 200
    assert second_factor.checked == [CODE]


def test_code_is_canonicalised_once(app, pending, second_factor):
    browser = pending()
    for bad in ("12345", "12a456", "1234567", "٢٤٦٨١٠"):
        response = send_code(browser, bad)
        assert response.status_code == 400
        assert "Enter the 6 digits of the code." in response.text
    assert second_factor.checked == []  # malformed codes never reach a method, nor count as guesses
    assert send_code(browser, "２４６ ８１０").status_code == 302  # full-width digits from a Chinese IME
    assert second_factor.checked == [CODE]


def test_repeated_code_field_is_refused(app, pending, second_factor):
    browser = pending()
    page = verify_page(browser)
    response = browser.post("/2fa/verify?method=testcode",
                            data=MultiDict([("csrf_token", csrf_token(page)), ("code", "000000"), ("code", CODE)]))
    assert response.status_code == 400
    assert second_factor.checked == []


def test_five_wrong_codes_drop_the_pending_sign_in(app, pending, second_factor):
    browser = pending()
    last_try = "One more wrong code ends this sign-in, and you will need your password again."
    for n in range(4):
        response = send_code(browser, "000000")
        assert response.status_code == 400
        assert "That code is not correct." in response.text
        assert (last_try in response.text) == (n == 3)  # said before the last try, not before
    response = send_code(browser, "000000")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert rows(app) == []
    assert browser.get("/2fa/verify?method=testcode").headers["Location"] == "/login"
    assert "Too many wrong codes" in browser.get("/login").text


def test_replayed_cookie_cannot_reset_the_wrong_code_count(app, pending):
    browser = pending()
    cookie = session_cookie(browser)
    for _ in range(3):
        send_code(browser, "000000")
    replay = app.test_client()
    replay.set_cookie("session", cookie)
    for _ in range(2):
        send_code(replay, "000000")
    assert rows(app) == []  # 3 + 2 wrong codes, counted on the server row


def test_pending_sign_in_expires_after_ten_minutes(app, pending, clock):
    browser = pending()
    clock.advance(app.config["PENDING_SIGNIN_TTL"])
    response = browser.get("/2fa")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert rows(app) == []


def test_pending_session_can_cancel_with_sign_out(app, pending):
    browser = pending()
    page = verify_page(browser)
    response = browser.post("/logout", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302
    assert rows(app) == []


def concrete_url(rule):
    values = {arg: 1 if "int" in type(rule._converters[arg]).__name__.lower() else "x" for arg in rule.arguments}
    return rule.build(values, append_unknown=False)[1]


def call(browser, method, url, token_page):
    data = {"csrf_token": csrf_token(browser.get(token_page))} if method == "POST" else None
    return getattr(browser, method.lower())(url, data=data)


def test_every_route_treats_a_pending_session_as_anonymous(app, pending):
    """Walk the whole URL map: outside the second step a pending session gets what a stranger gets."""
    allowed = app.extensions["portal.pending_endpoints"]
    for endpoint in allowed - {"static"}:
        rule = next(app.url_map.iter_rules(endpoint))
        assert rule.rule.startswith("/2fa"), f"{endpoint} sees pending sign-ins but is not a second-step URL"
    checked = 0
    for rule in app.url_map.iter_rules():
        url = concrete_url(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            as_pending = call(pending(), method, url, "/2fa/verify?method=testcode")
            as_stranger = call(app.test_client(), method, url, "/login")
            where = f"{method} {rule.rule}"
            assert as_pending.status_code < 500, where
            if rule.endpoint in allowed:
                if rule.endpoint != "static":
                    assert as_pending.headers.get("Location") != "/login", where
                continue
            assert as_pending.status_code == as_stranger.status_code, where
            assert as_pending.headers.get("Location") == as_stranger.headers.get("Location"), where
            assert "two@example.com" not in as_pending.get_data(as_text=True), where
            checked += 1
    assert checked >= 10
    with app.app_context():
        assert all(r.stage == "pending" for r in db.session.scalars(select(UserSession)))
