"""portal.security.BoundedRequest: a body without a Content-Length (chunked) is held to MAX_CONTENT_LENGTH."""

from __future__ import annotations

import io

import pytest
from werkzeug.exceptions import RequestEntityTooLarge

from portal.security import BoundedRequest

LIMIT = 100


class Trickle(io.RawIOBase):
    """A server's input that hands out at most 7 bytes per read, as a dechunking reader may."""

    def __init__(self, data: bytes) -> None:
        self.data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        chunk = self.data.read(min(7, len(buffer)))
        buffer[:len(chunk)] = chunk
        return len(chunk)


def request(body: bytes, *, terminated: bool = True, length: int | None = None) -> BoundedRequest:
    environ = {"REQUEST_METHOD": "POST", "CONTENT_TYPE": "application/x-www-form-urlencoded",
               "wsgi.input": io.BufferedReader(Trickle(body)), "SERVER_NAME": "x", "SERVER_PORT": "80",
               "wsgi.url_scheme": "http", "PATH_INFO": "/"}
    if terminated:
        environ["wsgi.input_terminated"] = True
    if length is not None:
        environ["CONTENT_LENGTH"] = str(length)
    req = BoundedRequest(environ)
    req.max_content_length = LIMIT
    return req


def test_a_chunked_body_of_exactly_the_limit_is_read_whole():
    body = b"a=1&b=" + b"y" * (LIMIT - 6)
    assert len(body) == LIMIT
    form = request(body).form
    assert form["a"] == "1" and form["b"] == "y" * (LIMIT - 6)


def test_one_byte_past_the_limit_is_a_413_every_time():
    req = request(b"pad=" + b"x" * (LIMIT - 4) + b"&admin=1")  # the limit falls inside; admin=1 lies past it
    with pytest.raises(RequestEntityTooLarge):
        _ = req.form
    # Werkzeug catches nothing here, but whatever reads again must not get the rest of the body as a form.
    with pytest.raises(RequestEntityTooLarge):
        req.stream.read()
    with pytest.raises(RequestEntityTooLarge):
        req.get_data()


def test_a_body_with_a_content_length_keeps_werkzeugs_own_check():
    with pytest.raises(RequestEntityTooLarge):
        _ = request(b"a=" + b"x" * LIMIT, length=LIMIT + 2).form
    assert request(b"a=1", length=3).form["a"] == "1"


def test_no_body_and_no_length_reads_as_empty():
    assert request(b"").form == {}
    assert request(b"a=1", terminated=False).form == {}  # a server that does not end the stream: never read
