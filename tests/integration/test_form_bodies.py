"""Bodies that are not form text, posted to every POST route of the URL map with a valid session and CSRF token.

What an attacker sends instead of a browser's form: JSON (an object with typed values, a number, a list, a string),
text/plain, file parts in each field, repeated fields, bytes that are not UTF-8 and 100 KB values. Each gets a
clear 4xx on our error page (portal/bodies.py), never a 5xx or a traceback; and none of them changes anything:
afterwards the account still signs in with its password and an authenticator code, and with a recovery code.
The routes come from app.url_map, so a route added later is covered without editing this file.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask, request
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict
from wtforms.fields.core import UnboundField

from portal import ROOT
from portal.bodies import accepts_json
from portal.extensions import db
from portal.models import AdminRequest, AuditEvent, RecoveryCode, TotpFactor, User, UserSession
from tests.integration.test_admin import confirm, enrolled_admin
from tests.integration.totp_helpers import send_totp
from tests.otp import totp
from tests.support import csrf_token, login

BIG = "A" * 100_000  # past MAX_CONTENT_LENGTH (64 KB)
NOT_UTF8 = b"\xff\xfe\xc0\xaf\xed\xa0\x80"  # invalid bytes, an overlong "/", a UTF-16 surrogate
TYPED_VALUES = [5, 2.5, True, None, {"a": 1}, [1, "x"], [], {}]
INPUT_NAME = re.compile(r'<(?:input|select|textarea|button)\b[^>]*\bname="([A-Za-z_][\w-]*)"')


def form_fields() -> list[str]:
    """Every field name a form of the portal posts: WTForms fields of each form, and names written in templates."""
    names: set[str] = set()
    pending = list(FlaskForm.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        names.update(name for name in dir(cls) if isinstance(getattr(cls, name), UnboundField))
    for template in (ROOT / "templates").rglob("*.html"):
        names.update(INPUT_NAME.findall(template.read_text()))
    names.discard("csrf_token")
    return sorted(names)


def multipart(parts: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body of text parts with raw bytes as their values."""
    boundary = "----portal-test-boundary"
    body = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value
                    + b"\r\n" for name, value in parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


@dataclass
class Hostile:
    kind: str
    status: int  # the only acceptable answer
    request: dict[str, Any]  # keyword arguments of test_client.post


def hostile_bodies(token: str, fields: list[str]) -> Iterator[Hostile]:
    header = {"X-CSRFToken": token}  # how Flask-WTF takes the token of a JSON body
    for value in TYPED_VALUES:
        yield Hostile(f"json object of {value!r}", 415,
                      {"json": {"csrf_token": token, **dict.fromkeys(fields, value)}, "headers": header})
    pairs = [["csrf_token", token], *([name, "1"] for name in fields)]  # a list of pairs reads as a form
    for top in (5, 2.5, "text", [1, 2], pairs, None):
        yield Hostile(f"json {json.dumps(top)[:30]}", 415,
                      {"data": json.dumps(top), "content_type": "application/json", "headers": header})
    yield Hostile("text/plain", 415, {"data": f"csrf_token={token}&" + "&".join(f"{f}=1" for f in fields),
                                      "content_type": "text/plain", "headers": header})
    yield Hostile("a file part in each field", 400,
                  {"data": {"csrf_token": token, **{f: (io.BytesIO(b"1"), "x.txt") for f in fields}}})
    yield Hostile("an empty file part in each field", 400,  # what a file input with no file chosen sends
                  {"data": {"csrf_token": token, **{f: (io.BytesIO(b""), "") for f in fields}}})
    yield Hostile("repeated fields", 400,
                  {"data": MultiDict([("csrf_token", token), *((f, v) for f in fields for v in ("1", "2"))])})
    yield Hostile("repeated token", 400, {"data": MultiDict([("csrf_token", token), ("csrf_token", token)])})
    raw = b"&".join([b"csrf_token=" + token.encode(), *(f.encode() + b"=" + NOT_UTF8 for f in fields)])
    yield Hostile("raw bytes that are not UTF-8", 400,
                  {"data": raw, "content_type": "application/x-www-form-urlencoded"})
    escaped = b"&".join([b"csrf_token=" + token.encode(), *(f.encode() + b"=%FF%FE%C0%AF%ED%A0%80" for f in fields)])
    yield Hostile("%-escapes that are not UTF-8", 400,
                  {"data": escaped, "content_type": "application/x-www-form-urlencoded"})
    body, content_type = multipart([("csrf_token", token.encode()), *((f, NOT_UTF8) for f in fields)])
    yield Hostile("multipart parts that are not UTF-8", 400, {"data": body, "content_type": content_type})
    yield Hostile("100 KB values", 413, {"data": {"csrf_token": token, **dict.fromkeys(fields, BIG)}})
    body, content_type = multipart([("csrf_token", token.encode()), *((f, BIG.encode()) for f in fields)])
    yield Hostile("100 KB multipart values", 413, {"data": body, "content_type": content_type})


def concrete_url(rule, ids: dict[str, int]) -> str:
    """The rule's URL with real ids where the test has them (else 1), and ?method=totp for the second steps."""
    values = {arg: ids.get(arg, 1) if "int" in type(rule._converters[arg]).__name__.lower() else "x"
              for arg in rule.arguments}
    return rule.build(values, append_unknown=False)[1] + "?method=totp"


def snapshot(app: Flask) -> dict[str, int]:
    """What a body that got through would change: rows of audit, sessions, codes and factors."""
    with app.app_context():
        def count(model, *where) -> int:
            return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0

        return {"audit": count(AuditEvent), "sessions": count(UserSession), "requests": count(AdminRequest),
                "unused codes": count(RecoveryCode, RecoveryCode.used_at.is_(None)),
                "authenticators": count(TotpFactor, TotpFactor.confirmed_at.is_not(None))}


@pytest.fixture
def browsers(app, make_user, clock, tmp_path, signed_in, enrollment, email):
    """Every kind of visitor, each with its CSRF token: anonymous, past the password step, signed in, an admin
    confirmed for actions (so each route's own code, not a guard, would read the body); and the path ids."""
    admin, admin_secret = enrolled_admin(app, make_user, clock, tmp_path)
    assert confirm(admin, admin_secret, clock).status_code == 302
    pending = app.test_client()
    assert login(pending, email).headers["Location"].startswith("/2fa")
    with app.app_context():
        member = db.session.scalar(select(User).where(User.email == email))
        admin_id = db.session.scalar(select(User.id).where(User.is_admin))
        waiting = AdminRequest(target_id=member.id, requested_by_id=admin_id, requested_at=clock(),
                               identity_check="video_call", case_reference="CASE-1", notes="Video call.")
        db.session.add(waiting)
        db.session.commit()
        ids = {"user_id": member.id, "request_id": waiting.id,
               "session_id": db.session.scalar(select(func.max(UserSession.id))
                                               .where(UserSession.user_id == member.id))}
    visitors = {"anonymous": (app.test_client(), "/login"), "pending": (pending, "/2fa/verify?method=totp"),
                "signed in": (signed_in, "/account"), "admin": (admin, "/admin/users")}
    tokens = {}
    for name, (browser, page) in visitors.items():
        tokens[name] = csrf_token(browser.get(page))
    return {name: (browser, tokens[name]) for name, (browser, _) in visitors.items()}, ids


def test_every_post_route_refuses_bodies_that_are_not_form_text(app, browsers, enrollment, clock, email):
    visitors, ids = browsers
    fields = form_fields()
    assert {"email", "password", "code", "phone", "identity_check", "lang"} <= set(fields), fields
    before = snapshot(app)
    routes = [rule for rule in app.url_map.iter_rules() if "POST" in (rule.methods or ())]
    assert len(routes) >= 20, [rule.rule for rule in routes]
    for rule in routes:
        url = concrete_url(rule, ids)
        for visitor, (browser, token) in visitors.items():
            for hostile in hostile_bodies(token, fields):
                response = browser.post(url, **hostile.request)
                where = (rule.rule, visitor, hostile.kind, response.status_code)
                text = response.get_data(as_text=True)
                assert response.status_code == hostile.status, where
                assert "Traceback" not in text, where
                assert f"Error {hostile.status}" in text, where  # our error page, not a bare one
    assert snapshot(app) == before  # nothing any of them carried was acted on
    # Every visitor is where it was: the signed-in ones still are.
    assert visitors["signed in"][0].get("/account").status_code == 200
    assert visitors["admin"][0].get("/admin/users").status_code == 200
    # The account still signs in with its password and an authenticator code…
    clock.advance(30)  # a step whose code was not used yet
    browser = app.test_client()
    assert login(browser, email).headers["Location"].startswith("/2fa")
    answer = send_totp(browser, totp(enrollment.secret, clock()))
    assert (answer.status_code, answer.headers["Location"]) == (302, "/account")
    # …and with a recovery code it has not used.
    browser = app.test_client()
    assert login(browser, email).headers["Location"].startswith("/2fa")
    page = browser.get("/2fa/recovery")
    answer = browser.post("/2fa/recovery", data={"csrf_token": csrf_token(page), "code": enrollment.recovery_codes[-1]})
    assert (answer.status_code, answer.headers["Location"]) == (302, "/account")


def test_the_refusals_are_translated(client):
    token = csrf_token(client.get("/login"))
    client.set_cookie("lang", "zh_Hans")
    refused = client.post("/login", json={"email": {"a": 1}, "password": 5}, headers={"X-CSRFToken": token})
    assert refused.status_code == 415
    assert "不支持的数据格式" in refused.text and "此页面只接受网页表单，不接受这类数据。" in refused.text
    refused = client.post("/login", data={"csrf_token": token, "email": (io.BytesIO(b"x"), "x.txt")})
    assert refused.status_code == 400 and "此表单不接受文件。" in refused.text
    body = f"csrf_token={token}&email=%FF&password=x".encode()
    refused = client.post("/login", data=body, content_type="application/x-www-form-urlencoded")
    assert refused.status_code == 400 and "表单中有无法识别的字符。" in refused.text
    refused = client.post("/login", data=MultiDict([("csrf_token", token), ("email", "a"), ("email", "b")]))
    assert refused.status_code == 400 and "有字段被重复提交。" in refused.text


def test_a_button_without_a_body_still_works(app, signed_in):
    """Security is not bought by refusing an empty POST: the token may travel in a header alone."""
    token = csrf_token(signed_in.get("/account"))
    response = signed_in.post("/logout", headers={"X-CSRFToken": token})
    assert (response.status_code, response.headers["Location"]) == (302, "/login")
    assert signed_in.get("/account").status_code == 302  # signed out


def test_a_route_marked_accepts_json_takes_json_and_nothing_else_changes(make_app):
    """The seam for a later JSON route (WebAuthn): @accepts_json lets application/json through for that view."""
    app = make_app()

    @accepts_json
    def takes_json() -> str:
        return f"got {type(request.get_json()).__name__}"

    def takes_forms() -> str:
        return "got a form"

    app.add_url_rule("/test/json", "test_json", takes_json, methods=["POST"])
    app.add_url_rule("/test/form", "test_form", takes_forms, methods=["POST"])
    client = app.test_client()
    header = {"X-CSRFToken": csrf_token(client.get("/login"))}
    assert client.post("/test/json", json={"a": [1]}, headers=header).text == "got dict"
    assert client.post("/test/form", json={"a": [1]}, headers=header).status_code == 415
    # Everything else of the rule still holds for the JSON route.
    assert client.post("/test/json", data={"f": (io.BytesIO(b"x"), "x.txt")}, headers=header).status_code == 400
    assert client.post("/test/json", data="a=1", content_type="text/plain", headers=header).status_code == 415
