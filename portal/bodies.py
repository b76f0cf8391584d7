"""What a request body may be: one rule for every route, checked before CSRF, a form or a view reads it.

A request that sends something (POST, PUT, PATCH, DELETE) carries an application/x-www-form-urlencoded body, or
multipart/form-data with text parts only; in UTF-8; each field once. Or no body at all (a button whose token
travels in a header). Anything else gets our translated error page, so no form, validator or view ever sees a
number, an object, a list or an uploaded file where it expects one string:

- another content type (JSON, text/plain, XML …): 415. Flask-WTF reads a JSON body as form data, its values
  typed (a dict for the email, an int for the password, a top-level list for the whole form);
- a file part: 400. No form of ours takes a file, and Flask-WTF hands file parts to fields as FileStorage;
- bytes that are not UTF-8, raw or %-escaped: 400. Werkzeug drops such an urlencoded body silently, keeps a
  bad escape as the text "%FF" and turns bad bytes of a multipart part into U+FFFD: three different answers;
- a field sent more than once: 400 (code=1&code=2), so no layer picks a different copy than another.

The seam for a later route that does take JSON (a WebAuthn ceremony, say): decorate its view with @accepts_json.
Then application/json passes this rule for that view alone, and the view must check the type of every value it
reads itself (portal.forms.Form never reads JSON, so such a route parses the body on its own). Nothing uses it yet.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import unquote_to_bytes

from flask import Flask, abort, current_app, request
from flask_babel import gettext as _

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
URLENCODED, MULTIPART = "application/x-www-form-urlencoded", "multipart/form-data"

F = TypeVar("F", bound=Callable[..., Any])


def accepts_json(view: F) -> F:
    """Let application/json bodies reach this view (it checks every value's type itself)."""
    view.portal_accepts_json = True  # type: ignore[attr-defined]
    return view


def _view_accepts_json() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "portal_accepts_json", False))


def _is_utf8(raw: bytes, *, urlencoded: bool) -> bool:
    """Whether the body, and for an urlencoded one the bytes its %-escapes stand for, is UTF-8.

    Fields are split at ASCII bytes (& = and a multipart boundary), which are never inside a UTF-8 sequence: the
    whole body is UTF-8 exactly when every name and value in it is.
    """
    try:
        raw.decode()
        if urlencoded:
            unquote_to_bytes(raw).decode()
    except UnicodeDecodeError:
        return False
    return True


def check_body() -> None:
    """before_request, first of all: refuse a body that is not form text (see the module's docstring)."""
    if request.method not in BODY_METHODS or request.endpoint is None:
        return  # no such route or method: the router's 404 or 405 answers
    mimetype = request.mimetype
    if mimetype == "application/json" and _view_accepts_json():
        return
    # Read once, within MAX_CONTENT_LENGTH (413 above, chunked too: BoundedRequest); the form parses this copy.
    raw = request.get_data(cache=True)
    if mimetype not in (URLENCODED, MULTIPART):
        if mimetype or raw:
            # Security: JSON would reach the forms as typed values; text/plain is how a cross-site page forges one.
            abort(415)
        return
    if request.files:
        abort(400, _("This form does not take files."))
    if not _is_utf8(raw, urlencoded=mimetype == URLENCODED):
        abort(400, _("The form held characters that could not be read. Check what you entered and try again."))
    if any(len(values) > 1 for values in request.form.listvalues()):
        # Security: code=1&code=2 is refused, so no layer picks a different copy than another.
        abort(400, _("A field was sent more than once."))


def init_app(app: Flask) -> None:
    """Register the rule before every other hook (CSRFProtect's too): call before csrf.init_app."""
    app.before_request(check_body)
