"""Server-side sessions: rotation, revocation, expiry, remember-me, cookie flags."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import UserSession
from portal.settings.totp import fernet_key
from tests.support import login, logout, session_cookie, submit


def count_rows(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(UserSession))


def copy_of(app, client):
    """Another browser holding an exact copy of client's session cookie (a stolen cookie)."""
    thief = app.test_client()
    thief.set_cookie("session", session_cookie(client))
    return thief


def test_session_id_rotates_at_sign_in_and_a_pre_sign_in_cookie_gives_nothing(app, client, make_user):
    make_user("rot@example.com")
    client.get("/login")
    planted = session_cookie(client)  # session fixation: the attacker knows this cookie
    assert login(client, "rot@example.com").status_code == 302
    assert session_cookie(client) != planted
    fixated = app.test_client()
    fixated.set_cookie("session", planted)
    assert fixated.get("/account").status_code == 302


def test_logout_deletes_the_session_so_a_copied_cookie_stops_working(app, client, make_user):
    make_user("copy@example.com")
    login(client, "copy@example.com")
    thief = copy_of(app, client)
    assert thief.get("/account").status_code == 200
    response = logout(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert count_rows(app) == 0
    assert thief.get("/account").status_code == 302
    assert client.get("/account").status_code == 302


def test_logout_is_post_only_and_csrf_checked(app, client, make_user):
    make_user("lo@example.com")
    login(client, "lo@example.com")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/account").status_code == 200


def test_account_lists_sessions_and_signs_out_the_others(app, make_user):
    make_user("multi@example.com")
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, "multi@example.com", headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"})
    login(phone, "multi@example.com",
          headers={"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Safari/604.1"})
    page = laptop.get("/account")
    assert "Firefox on Linux" in page.text
    assert "Safari on iOS" in page.text
    assert "This browser" in page.text
    assert "127.0.0.1" in page.text
    response = submit(laptop, "/account", {}, action="/account/sessions/revoke-others")
    assert response.status_code == 302
    assert "Signed out 1 other session." in laptop.get("/account").text
    assert phone.get("/account").status_code == 302
    assert laptop.get("/account").status_code == 200
    assert count_rows(app) == 1


def test_sign_out_one_session_but_not_another_users(app, make_user):
    make_user("one@example.com")
    make_user("two@example.com")
    first, second, other = app.test_client(), app.test_client(), app.test_client()
    for browser, email in ((first, "one@example.com"), (second, "one@example.com"), (other, "two@example.com")):
        login(browser, email)
    with app.app_context():
        rows = db.session.scalars(select(UserSession).order_by(UserSession.id)).all()
        first_id, second_id, other_id = (r.id for r in rows)
    assert submit(first, "/account", {}, action=f"/account/sessions/{other_id}/revoke").status_code == 404
    assert other.get("/account").status_code == 200
    own = submit(first, "/account", {}, action=f"/account/sessions/{first_id}/revoke")
    assert own.status_code == 400
    assert "Sign out" in own.text
    assert submit(first, "/account", {}, action=f"/account/sessions/{second_id}/revoke").status_code == 302
    assert second.get("/account").status_code == 302
    assert first.get("/account").status_code == 200


def test_idle_and_absolute_expiry(app, client, make_user, clock):
    make_user("idle@example.com")
    login(client, "idle@example.com")
    idle = app.config["SESSION_IDLE_TIMEOUT"]
    clock.advance(idle - 61)
    assert client.get("/account").status_code == 200  # activity refreshes last_seen
    clock.advance(idle - 61)
    assert client.get("/account").status_code == 200
    clock.advance(idle)
    assert client.get("/account").status_code == 302
    assert count_rows(app) == 0
    login(client, "idle@example.com")
    for _ in range(app.config["SESSION_MAX_AGE"] // (idle // 2) + 1):
        clock.advance(idle // 2)
        client.get("/account")
    assert client.get("/account").status_code == 302


def test_remember_me_lasts_thirty_days_and_not_longer(app, client, make_user, clock):
    make_user("rem@example.com")
    response = login(client, "rem@example.com", remember="y")
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "Expires=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    clock.advance(timedelta(days=3).total_seconds())  # beyond idle timeout and max age of a plain session
    assert client.get("/account").status_code == 200
    clock.advance(timedelta(days=27).total_seconds())
    assert client.get("/account").status_code == 302


def test_plain_session_cookie_is_a_browser_session_cookie(app, client, make_user):
    make_user("plain@example.com")
    response = login(client, "plain@example.com")
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "Expires=" not in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_production_app_sets_secure_host_cookie(make_app, make_user, redis_url):
    import secrets

    from tests.support import PRODUCTION_SERVICES

    make_user("prod@example.com")
    prod = make_app(PORTAL_ENV="production", SECRET_KEY=secrets.token_urlsafe(48),
                    RATELIMIT_STORAGE_URI=redis_url, ALLOW_SQLITE_IN_PRODUCTION=True,
                    TOTP_ENCRYPTION_KEYS=(fernet_key(),), **PRODUCTION_SERVICES)
    browser = prod.test_client()
    page = browser.get("/login", base_url="https://portal.test")
    from tests.support import csrf_token

    response = browser.post("/login", base_url="https://portal.test",
                            data={"csrf_token": csrf_token(page), "email": "prod@example.com",
                                  "password": "violet elephant 42 hums"},
                            headers={"Referer": "https://portal.test/login"})
    assert response.status_code == 302
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("__Host-session="))
    assert "Secure" in cookie
    assert "Path=/" in cookie
    assert "Domain" not in cookie
    assert "Strict-Transport-Security" in response.headers
