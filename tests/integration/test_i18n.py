"""Language: Accept-Language, the footer switcher and its remembered choice."""

from __future__ import annotations

from tests.support import csrf_token


def test_chinese_browser_gets_chinese_pages(client):
    page = client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert page.status_code == 200
    assert '<html lang="zh-Hans">' in page.text
    assert "登录" in page.text
    assert "Sign in" not in page.text


def test_traditional_chinese_browser_gets_english(client):
    page = client.get("/login", headers={"Accept-Language": "zh-TW"})
    assert '<html lang="en">' in page.text


def test_footer_switcher_remembers_the_choice(client):
    page = client.get("/login", headers={"Accept-Language": "en"})
    response = client.post("/language", data={"csrf_token": csrf_token(page), "lang": "zh_Hans",
                                               "next": "/login"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("lang="))
    assert "Max-Age=" in cookie
    assert "HttpOnly" in cookie
    again = client.get("/login", headers={"Accept-Language": "en"})
    assert '<html lang="zh-Hans">' in again.text
    back = client.post("/language", data={"csrf_token": csrf_token(again), "lang": "en", "next": "/login"})
    assert back.status_code == 302
    assert '<html lang="en">' in client.get("/login", headers={"Accept-Language": "zh-CN"}).text


def test_switcher_refuses_unknown_language_and_foreign_next(client):
    page = client.get("/login")
    bad = client.post("/language", data={"csrf_token": csrf_token(page), "lang": "klingon"})
    assert bad.status_code == 400
    assert "That language is not available." in bad.text
    away = client.post("/language", data={"csrf_token": csrf_token(page), "lang": "en",
                                          "next": "https://evil.example/"})
    assert away.headers["Location"] == "/"


def test_switcher_needs_csrf(client):
    assert client.post("/language", data={"lang": "zh_Hans"}).status_code == 400


def test_error_pages_and_form_errors_are_translated(client):
    zh = {"Accept-Language": "zh-CN"}
    assert "Page not found" not in client.get("/nope", headers=zh).text
    page = client.get("/login", headers=zh)
    response = client.post("/login", headers=zh, data={"csrf_token": csrf_token(page), "email": "x@example.com",
                                                       "password": "wrong password"})
    assert response.status_code == 400
    assert "The email address or password is incorrect." not in response.text
    assert '<html lang="zh-Hans">' in response.text


def test_the_switch_on_a_forms_answer_returns_to_the_page_the_form_was_on(client):
    # The answer to a POST (a refused form, say) is at an address a GET may not reach: the switch goes back to
    # the page the form was sent from, and only to one on this site.
    import re

    def next_of(response) -> str:
        return re.search(r'name="next" value="([^"]*)"', response.text)[1]

    page = client.get("/login?next=/account")
    assert next_of(page) == "/login?next=/account"
    token = csrf_token(page)
    for referrer, expected in [("http://localhost/login?next=/account", "/login?next=/account"),
                               ("https://evil.example/login", "/"), (None, "/"),
                               ("http://localhost//evil.example/x", "/")]:
        headers = {"Referer": referrer} if referrer else {}
        refused = client.post("/login", data={"csrf_token": token, "email": "nobody@example.com",
                                              "password": "not the password"}, headers=headers)
        assert refused.status_code in (200, 400), refused.status_code
        assert next_of(refused) == expected, (referrer, next_of(refused))
