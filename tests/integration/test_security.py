"""Headers, body caps, error pages, fail-closed limits, fresh password confirmation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask_login import login_required

from portal.auth import flow
from portal.auth.fresh import fresh_auth_required
from tests.support import GOOD_PASSWORD, csrf_token, login, submit

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


@pytest.mark.parametrize("url", ["/login", "/static/css/app.css", "/no-such-page"])
def test_security_headers_on_every_response(client, url):
    with client.get(url) as response:
        headers = response.headers
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert "img-src 'self' data:" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"


def test_pages_are_not_cached_but_static_files_may_be(client):
    assert client.get("/login").headers["Cache-Control"] == "no-store"
    with client.get("/static/css/app.css") as static:
        assert static.status_code == 200
        assert static.headers.get("Cache-Control") != "no-store"


def test_templates_have_no_inline_script_or_style():
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), template
        assert "style=" not in text and "<style" not in text, template
        assert not re.search(r"\bon[a-z]+=", text), template


def test_oversized_body_gets_413_page(client):
    page = client.get("/login")
    response = client.post("/login", data={"csrf_token": csrf_token(page), "email": "a@example.com",
                                           "password": "x" * 70_000})
    assert response.status_code == 413
    assert "What you sent is too large." in response.text
    assert "Traceback" not in response.text


def test_404_and_405_pages_are_friendly(client):
    missing = client.get("/definitely-missing")
    assert missing.status_code == 404
    assert "There is no page at this address." in missing.text
    wrong = client.put("/login")
    assert wrong.status_code == 405
    assert "This page cannot be used that way." in wrong.text


def test_unexpected_error_gives_500_page_without_traceback(make_app):
    crashing = make_app()

    @crashing.route("/boom")
    def boom():
        raise RuntimeError("secret internals")

    crashing.testing = False
    crashing.config["PROPAGATE_EXCEPTIONS"] = False
    response = crashing.test_client().get("/boom")
    assert response.status_code == 500
    assert "An error on our side stopped this page." in response.text
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text


def test_rate_limit_storage_down_fails_closed_with_503(make_app, make_user):
    make_user("closed@example.com")
    # Nothing listens on port 1 of loopback: the storage is "down".
    down = make_app(RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")
    response = login(down.test_client(), "closed@example.com")
    assert response.status_code == 503
    assert "briefly unavailable" in response.text
    assert down.test_client().get("/login").status_code == 200  # unlimited pages still work


def test_fresh_password_confirmation(app, make_user, clock):
    @app.route("/test-sensitive", methods=["GET"])
    @fresh_auth_required
    def sensitive():
        return "sensitive ok"

    flow.freeze_guard(app)
    make_user("fresh@example.com")
    browser = app.test_client()
    login(browser, "fresh@example.com")
    assert browser.get("/test-sensitive").text == "sensitive ok"  # the password was just entered
    clock.advance(app.config["FRESH_AUTH_SECONDS"] + 1)
    response = browser.get("/test-sensitive")
    assert response.status_code == 302
    assert response.headers["Location"] == "/reauth?next=/test-sensitive"
    wrong = submit(browser, "/reauth?next=/test-sensitive", {"password": "not my password"})
    assert wrong.status_code == 400
    assert "That password is incorrect." in wrong.text
    right = submit(browser, "/reauth?next=/test-sensitive", {"password": GOOD_PASSWORD})
    assert right.status_code == 302
    assert right.headers["Location"] == "/test-sensitive"
    assert browser.get("/test-sensitive").text == "sensitive ok"


def test_reauth_shares_the_password_throttle(app, make_user):
    make_user("oracle@example.com")
    browser = app.test_client()
    login(browser, "oracle@example.com")
    for _ in range(5):
        assert submit(browser, "/reauth", {"password": "guess guess"}).status_code == 400
    blocked = submit(browser, "/reauth", {"password": GOOD_PASSWORD})
    assert blocked.status_code == 429
    assert "Retry-After" in blocked.headers


def test_reauth_needs_a_signed_in_user(client):
    response = client.get("/reauth")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_login_required_pages_redirect_with_next(client):
    response = client.get("/account")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Faccount"


def test_view_functions_use_login_required_from_flask_login():
    # fresh_auth_required builds on login_required: an anonymous user is sent to /login first.
    assert fresh_auth_required.__module__ == "portal.auth.fresh"
    assert callable(login_required)
