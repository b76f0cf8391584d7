"""POST /language: the footer's language switch (the choice is kept in a cookie; portal.i18n reads it)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, request
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from portal.i18n import LANG_COOKIE, LANG_COOKIE_AGE
from portal.security import safe_next

bp = Blueprint("i18n", __name__)


@bp.route("/language", methods=["POST"])
def choose() -> Response:
    """Remember the language picked in the footer (CSRF-checked like every form)."""
    lang = request.form.get("lang", "")
    if lang not in current_app.config["LANGUAGES"]:
        abort(400, _("That language is not available."))
    response = redirect(safe_next(request.form.get("next"), default="/"))
    response.set_cookie(
        LANG_COOKIE, lang, max_age=LANG_COOKIE_AGE, httponly=True, samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )
    return response
