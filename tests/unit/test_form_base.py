"""portal.forms.Form, the base of every form: its data is request.form, never a JSON body or file parts.

portal/bodies.py refuses such bodies before any view runs (tests/integration/test_form_bodies.py); these tests
build forms in requests that hook never saw, as a route that escaped it would.
"""

from __future__ import annotations

import io

from flask_wtf import FlaskForm

from portal.auth.forms import LoginForm
from portal.forms import Form


def subclasses(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    return found.union(*(subclasses(sub) for sub in found))


def test_every_form_of_the_portal_is_a_portal_form(app):
    """A form added later on FlaskForm directly would read JSON again: it fails here."""
    ours = {cls for cls in subclasses(FlaskForm) if cls.__module__.startswith("portal.")}
    assert len(ours) >= 8, ours
    assert {cls for cls in ours if not issubclass(cls, Form)} == set()


def test_a_json_body_gives_a_form_no_data(app):
    with app.test_request_context("/login", method="POST", json={"email": {"a": 1}, "password": 5}):
        form = LoginForm()
        assert (form.email.data, form.password.data) == (None, None)
        assert not form.validate()


def test_file_parts_give_a_form_no_data(app):
    data = {"email": (io.BytesIO(b"ada@example.com"), "x.txt"), "password": "violet elephant 42 hums"}
    with app.test_request_context("/login", method="POST", data=data):
        form = LoginForm()
        assert form.email.data is None  # the file is not read as the field
        assert form.password.data == "violet elephant 42 hums"  # the text part is


def test_a_form_body_is_read_and_formdata_given_is_kept(app):
    body = {"email": "ada@example.com", "password": "pw"}
    with app.test_request_context("/login", method="POST", data=body):
        assert LoginForm().email.data == "ada@example.com"
        assert LoginForm(formdata=None).email.data is None
    with app.test_request_context("/login"):
        assert LoginForm().email.data is None  # a GET submits nothing
