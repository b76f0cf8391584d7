"""GET /healthz, what the load balancer polls: 200 when the database and the rate-limit storage answer, else 503,
and never a secret, a host name or a cookie in the answer."""

from __future__ import annotations

from tests.support import login

UNREACHABLE_PG = "postgresql+psycopg://portal:s3cret-pass@127.0.0.1:1/portal"
DOWN_REDIS = "redis://:redis-pass@127.0.0.1:1/0"


def assert_nothing_leaks(response):
    text = response.get_data(as_text=True)
    for secret in ("s3cret-pass", "redis-pass", "127.0.0.1", "Traceback", "psycopg", "Error"):
        assert secret not in text, secret
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
    response = make_app(RATELIMIT_STORAGE_URI=DOWN_REDIS).test_client().get("/healthz")
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert response.get_json() == {"status": "unavailable", "database": "ok", "rate_limit_storage": "unavailable"}
    assert_nothing_leaks(response)


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
