"""The base of every form: its data is the text fields of request.form, nothing else."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_wtf import FlaskForm

from portal.bodies import BODY_METHODS

_FROM_REQUEST = object()


class Form(FlaskForm):
    """A FlaskForm that never reads a JSON body or file parts.

    portal.bodies refuses those before any view runs; this is the second line: should a route ever escape that
    rule, FlaskForm would hand its fields typed JSON values or FileStorage objects, where these get no data.
    """

    def __init__(self, formdata: Any = _FROM_REQUEST, **kwargs: Any) -> None:
        if formdata is _FROM_REQUEST:
            # Security: what FlaskForm does for a submitted form, minus request.files and request.get_json().
            formdata = request.form if request.method in BODY_METHODS and request.form else None
        super().__init__(formdata=formdata, **kwargs)
