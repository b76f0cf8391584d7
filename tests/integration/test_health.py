"""GET /healthz, what the load balancer polls: 200 when the database and the rate-limit storage answer, else 503,
and never a secret, a host name or a cookie in the answer."""

from __future__ import annotations

import re

from tests.support import login

UNREACHABLE_PG = "postgresql+psycopg://portal:s3cret-pass@127.0.0.1:1/portal"
DOWN_REDIS = "redis://:redis-pass@127.0.0.1:1/0"


def assert_nothing_leaks_but_cookies(response):
    text = response.get_data(as_text=True)
    for secret in ("s3cret-pass", "redis-pass", "127.0.0.1", "Traceback", "psycopg", "OperationalError"):
        assert secret not in text, secret


def assert_nothing_leaks(response):
    assert_nothing_leaks_but_cookies(response)
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


def test_healthy_when_the_database_and_the_storage_answer(app, client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "rate_limit_storage": "ok"}
    assert_nothing_leaks(response)
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


def test_healthy_on_a_real_redis(make_app, redis_url):
    response = make_app(RATELIMIT_STORAGE_URI=redis_url).test_client().get("/healthz")
    assert response.status_code == 200 and response.get_json()["rate_limit_storage"] == "ok"


def test_503_when_redis_is_down(make_app):
    client = make_app(RATELIMIT_STORAGE_URI=DOWN_REDIS).test_client()
    response = client.get("/healthz")
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert response.get_json() == {"status": "unavailable", "database": "ok", "rate_limit_storage": "unavailable"}
    assert_nothing_leaks(response)
    # A rate-limited route refuses too (never unlimited), and says when to come back, as the health check does.
    page = client.get("/login")
    token = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', page.text)[1]
    signin = client.post("/login", data={"csrf_token": token, "email": "a@example.com", "password": "x" * 12})
    assert signin.status_code == 503 and signin.headers["Retry-After"] == "5"
    assert "briefly unavailable" in signin.text


def test_503_when_the_database_is_down_and_pages_answer_503_not_500(make_app):
    down = make_app(DATABASE_URL=UNREACHABLE_PG, DATABASE_CONNECT_TIMEOUT=1)
    client = down.test_client()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "database": "unavailable", "rate_limit_storage": "ok"}
    assert_nothing_leaks(response)
    # A sign-in needs the database: a clear 503 with Retry-After, never a 500 or a stack trace.
    signin = login(client, "someone@example.com")
    assert signin.status_code == 503 and signin.headers["Retry-After"] == "5"
    assert "briefly unavailable" in signin.text and "Traceback" not in signin.text


def test_admin_pages_answer_503_too_when_the_database_is_down(make_app, app, make_user, clock, tmp_path):
    from tests.integration.test_admin import enrolled_admin

    browser, _ = enrolled_admin(app, make_user, clock, tmp_path)
    down = make_app(DATABASE_URL=UNREACHABLE_PG, DATABASE_CONNECT_TIMEOUT=1)
    client = down.test_client()
    client.set_cookie("session", browser.get_cookie("session").value)  # a signed-in admin's cookie
    response = client.get("/admin/users")
    assert response.status_code == 503 and "briefly unavailable" in response.text
    assert_nothing_leaks_but_cookies(response)


def test_a_missing_table_is_a_logged_500_not_an_outage(make_app, caplog):
    broken = make_app()
    with broken.app_context():
        from sqlalchemy import text

        from portal.extensions import db

        db.session.execute(text("ALTER TABLE login_throttle RENAME TO login_throttle_gone"))
        db.session.commit()
    try:
        response = login(broken.test_client(), "someone@example.com")
        assert response.status_code == 500 and "Traceback" not in response.text
        assert "unhandled error on POST /login" in caplog.text
    finally:
        with broken.app_context():
            db.session.execute(text("ALTER TABLE login_throttle_gone RENAME TO login_throttle"))
            db.session.commit()
